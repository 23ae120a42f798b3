"""Which endpoints are selected by default, and fixed parameters."""

from .fragments import S, api, arr, get, obj, q

ROWS = arr(obj(id=S, name=S))


def ep(endpoint_of, item, path="/things"):
    return endpoint_of(api({path: item}), path)


def test_a_plain_list_is_selected(endpoint_of):
    e = ep(endpoint_of, get(ROWS))
    assert e.selected and e.why["selected"] == "list endpoint"


def test_deprecated_admin_and_search_are_not_selected(endpoint_of):
    assert (
        ep(endpoint_of, get(ROWS, deprecated=True))
        .why["selected"]
        .startswith("deprecated")
    )
    assert (
        ep(endpoint_of, get(ROWS), "/enterprises/{enterprise}/settings/things")
        .why["selected"]
        .startswith("admin_only")
    )
    assert (
        ep(endpoint_of, get(ROWS, tags=["enterprise-admin"]))
        .why["selected"]
        .startswith("admin_only")
    )
    search = get(obj(total_count=S, items=ROWS), [q("q", required=True)])
    assert (
        ep(endpoint_of, search, "/search/issues")
        .why["selected"]
        .startswith("search_with_required_query")
    )


def test_required_query_value_without_default(endpoint_of):
    e = ep(
        endpoint_of,
        get(
            ROWS,
            [q("type", {"type": "string", "enum": ["card", "bank"]}, required=True)],
        ),
    )
    assert not e.selected and e.why["selected"].startswith(
        "needs_query_value: required query parameter 'type'"
    )


def test_required_query_value_with_default_is_sent(endpoint_of):
    e = ep(
        endpoint_of,
        get(
            ROWS,
            [q("revision_kind", {"type": "string", "default": "full"}, required=True)],
        ),
    )
    assert e.selected and e.params == {"revision_kind": "full"}


def test_enum_all_value_is_sent_when_the_default_hides_rows(endpoint_of):
    state = q(
        "state",
        {"type": "string", "enum": ["open", "closed", "all"], "default": "open"},
    )
    e = ep(endpoint_of, get(ROWS, [state]))
    assert e.params == {"state": "all"} and "enum_all_value" in e.why["params"]


def test_binary_responses_are_warnings_not_endpoints(plan_of):
    binary = {
        "get": {
            "responses": {
                "200": {
                    "description": "pdf",
                    "content": {"application/pdf": {"schema": S}},
                }
            }
        }
    }
    plan = plan_of(api({"/things": get(ROWS), "/things/{id}/pdf": binary}))
    assert [e.path for e in plan.endpoints] == ["/things"]
    assert any(
        w.where == "GET /things/{id}/pdf" and "not a table" in w.message
        for w in plan.warnings
    )


def test_jsonapi_relationship_linkage_is_not_selected(plan_of):
    full = obj(data=arr(obj(type=S, id=S, attributes=obj(name=S))))
    linkage = obj(data=arr(obj(type=S, id=S)))
    plan = plan_of(
        api(
            {
                "/lists": get(full),
                "/lists/{id}/tags": get(
                    full, [{"name": "id", "in": "path", "required": True, "schema": S}]
                ),
                "/lists/{id}/relationships/tags": get(
                    linkage,
                    [{"name": "id", "in": "path", "required": True, "schema": S}],
                ),
            }
        )
    )
    by_path = {e.path: e for e in plan.endpoints}
    assert by_path["/lists/{id}/tags"].selected
    assert (
        by_path["/lists/{id}/relationships/tags"]
        .why["selected"]
        .startswith("jsonapi_relationship_linkage")
    )
