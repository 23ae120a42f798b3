"""Auth schemes from securitySchemes / securityDefinitions."""

from .fragments import S, api, arr, get, obj

PATHS = {"/things": get(arr(obj(id=S)))}


def auth_of(plan_of, schemes: dict, security=None):
    doc = api(PATHS, components={"securitySchemes": schemes})
    if security is not None:
        doc["security"] = security
    plan = plan_of(doc)
    return [a.to_json() for a in plan.auth], plan


def test_http_bearer_and_basic_with_global_requirement_first(plan_of):
    got, _ = auth_of(
        plan_of,
        {
            "basicAuth": {"type": "http", "scheme": "basic"},
            "bearerAuth": {"type": "http", "scheme": "bearer"},
            "zKey": {"type": "apiKey", "in": "query", "name": "key"},
        },
        security=[{"basicAuth": []}, {"bearerAuth": []}],
    )
    assert got == [
        {"type": "bearer"},
        {"type": "basic"},
        {"type": "api_key", "name": "key", "in": "query"},
    ]


def test_api_key_header_prefix_from_description(plan_of):
    desc = "Private key authentication: `Authorization: Klaviyo-API-Key your-private-api-key`"
    got, _ = auth_of(
        plan_of,
        {
            "k": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": desc,
            }
        },
    )
    assert got == [
        {
            "type": "api_key",
            "name": "Authorization",
            "in": "header",
            "prefix": "Klaviyo-API-Key ",
        }
    ]
    got, _ = auth_of(
        plan_of,
        {
            "k": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Format: `SSWS {API Token}`",
            }
        },
    )
    assert got[0]["prefix"] == "SSWS "
    got, _ = auth_of(
        plan_of,
        {
            "k": {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "Your key, `Token <key>`",
            }
        },
    )
    assert "prefix" not in got[0]  # only Authorization values carry a scheme word


def test_oauth2_flows_scopes_and_openid_connect(plan_of):
    oauth = {
        "type": "oauth2",
        "flows": {
            "authorizationCode": {
                "authorizationUrl": "https://x/a",
                "tokenUrl": "https://x/t",
                "scopes": {"write": "w", "read": "r"},
            },
            "clientCredentials": {"tokenUrl": "https://x/t", "scopes": {"admin": "a"}},
        },
    }
    got, _ = auth_of(
        plan_of,
        {
            "o": oauth,
            "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://x/.wk"},
        },
    )
    assert {
        "type": "oauth2",
        "flows": ["authorizationCode", "clientCredentials"],
        "scopes": ["admin", "read", "write"],
        "required_scopes": [],
        "token_url": "https://x/t",
    } in got
    assert {
        "type": "oauth2",
        "flows": ["openIdConnect"],
        "scopes": [],
        "required_scopes": [],
    } in got


def test_no_scheme_means_bearer_and_a_warning(plan_of):
    plan = plan_of(api(PATHS))
    assert [a.to_json() for a in plan.auth] == [{"type": "bearer"}]
    assert any("declares no security scheme" in w.message for w in plan.warnings)


def test_swagger2_security_definitions(plan_of):
    doc = {
        "swagger": "2.0",
        "info": {"title": "T", "version": "1"},
        "host": "api.example.com",
        "paths": {
            "/things": {
                "get": {
                    "produces": ["application/json"],
                    "responses": {
                        "200": {"description": "ok", "schema": arr(obj(id=S))}
                    },
                }
            }
        },
        "securityDefinitions": {
            "slackAuth": {
                "type": "oauth2",
                "flow": "accessCode",
                "authorizationUrl": "https://x/a",
                "tokenUrl": "https://x/t",
                "scopes": {"users:read": "r"},
            },
            "b": {"type": "basic"},
        },
    }
    plan = plan_of(doc)
    assert [a.to_json() for a in plan.auth] == [
        {"type": "basic"},
        {
            "type": "oauth2",
            "flows": ["authorizationCode"],
            "scopes": ["users:read"],
            "required_scopes": [],
            "token_url": "https://x/t",
        },
    ]
    assert plan.base_url == "https://api.example.com"
