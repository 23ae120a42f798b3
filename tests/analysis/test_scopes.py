"""OAuth2 scopes per operation (OpenAPI `security`) and the union the selected tables
need."""

from generator.analysis.auth import settle_scopes

from .fragments import S, api, arr, get, obj, path_param

SCHEMES = {
    "oauth": {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://x/a",
                "tokenUrl": "https://x/t",
                "scopes": {
                    "users:read": "",
                    "files:read": "",
                    "admin": "",
                    "channels:read": "",
                },
            }
        },
    },
    "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
}


def doc() -> dict:
    users = get(arr(obj(id=S)), security=[{"oauth": ["users:read"]}, {"key": []}])
    files = get(arr(obj(id=S)), security=[{"oauth": ["files:read", "users:read"]}])
    admin = get(
        arr(obj(id=S)), security=[{"oauth": ["admin"]}]
    )  # a lookup-free list, deselected below
    public = get(arr(obj(id=S)), security=[])  # no auth at all
    channels = get(arr(obj(id=S)))  # falls back to the global requirement
    member = get(obj(id=S), params=[path_param("user")])  # one object: not selected
    member["get"]["security"] = [{"oauth": ["users:write"]}]
    return api(
        {
            "/users": users,
            "/files": files,
            "/admin/things": admin,
            "/public": public,
            "/channels": channels,
            "/users/{user}": member,
        },
        components={"securitySchemes": SCHEMES},
        security=[{"oauth": ["channels:read"]}],
    )


def test_each_operation_keeps_its_own_security(plan_of):
    plan = plan_of(doc())
    by_path = {e.path: e for e in plan.endpoints}
    assert by_path["/users"].security == {"key": [], "oauth": ["users:read"]}
    assert by_path["/files"].security == {"oauth": ["files:read", "users:read"]}
    assert by_path["/public"].security == {}
    assert by_path["/channels"].security == {"oauth": ["channels:read"]}


def test_required_scopes_are_the_union_over_selected_tables_only(plan_of):
    plan = plan_of(doc())
    for ep in plan.endpoints:
        ep.selected = ep.path in ("/users", "/files", "/channels", "/public")
    settle_scopes(plan, None)
    oauth = next(a for a in plan.auth if a.type == "oauth2")
    # Every scope the spec lists is still offered; only the selected tables' are
    # required.
    assert oauth.scopes == ["admin", "channels:read", "files:read", "users:read"]
    assert oauth.required_scopes == ["channels:read", "files:read", "users:read"]
    assert oauth.to_json()["required_scopes"] == [
        "channels:read",
        "files:read",
        "users:read",
    ]

    for ep in plan.endpoints:
        ep.selected = ep.path == "/users"
    settle_scopes(plan, None)
    assert oauth.required_scopes == ["users:read"]


def test_overrides_add_and_remove_required_scopes(plan_of):
    plan = plan_of(doc())
    for ep in plan.endpoints:
        ep.selected = ep.path in ("/users", "/files")
    settle_scopes(
        plan, {"required_scopes": {"add": ["admin"], "remove": ["files:read"]}}
    )
    oauth = next(a for a in plan.auth if a.type == "oauth2")
    assert oauth.required_scopes == ["admin", "users:read"]
