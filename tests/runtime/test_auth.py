"""Auth schemes against a loopback API and token endpoint: what goes on the wire, token caching,
expiry, refresh-on-401, rotation, and that every credential is registered for redaction."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest

from runtime.http.auth import AuthConfigError, OAuth2Auth, TokenError, build_auth
from runtime.http.client import HttpError
from runtime.http.redact import Redactor
from tests.runtime.conftest import Reply


def _wire(server, client_for, auth, credentials):
    server.route("/me", [Reply(200, {"ok": True})])
    client = client_for(server.url, auth=auth, credentials=credentials)
    client.get("/me", endpoint="me")
    return server.hits("/me")[-1], client


def test_bearer_sends_the_token(server, client_for):
    seen, client = _wire(
        server, client_for, {"type": "bearer"}, {"token": "tok-abcdef"}
    )
    assert seen.headers["authorization"] == "Bearer tok-abcdef"
    assert "tok-abcdef" in client.redactor.secrets


def test_basic_sends_user_and_password_and_registers_the_header_form(
    server, client_for
):
    creds = {"username": "sk_live_user", "password": "pw-123456"}
    seen, client = _wire(server, client_for, {"type": "basic"}, creds)
    encoded = base64.b64encode(b"sk_live_user:pw-123456").decode()
    assert seen.headers["authorization"] == f"Basic {encoded}"
    assert (
        client.redact(f"Authorization: Basic {encoded}") == "Authorization: Basic ***"
    )
    assert client.redact("user sk_live_user") == "user ***"


def test_api_key_in_a_header_with_prefix(server, client_for):
    auth = {
        "type": "api_key",
        "name": "Authorization",
        "in": "header",
        "prefix": "Key ",
    }
    seen, _ = _wire(server, client_for, auth, {"api_key": "pk_123456"})
    assert seen.headers["authorization"] == "Key pk_123456"


def test_api_key_in_the_query_is_sent_once(server, client_for):
    auth = {"type": "api_key", "name": "api_key", "in": "query"}
    server.route("/me", [Reply(200, {})])
    client = client_for(server.url, auth=auth, credentials={"api_key": "qk_abcdef"})
    # A next link that echoes the key: the auth replaces it rather than sending it twice.
    client.get(server.url + "/me?api_key=qk_abcdef&page=2", endpoint="me")
    seen = server.hits("/me")[0]
    assert parse_qs(seen.raw_query) == {"api_key": ["qk_abcdef"], "page": ["2"]}
    assert client.strip_secrets(server.url + "/me?api_key=qk_abcdef&page=2") == (
        server.url + "/me?page=2"
    )


def test_none_sends_no_credentials(server, client_for):
    seen, _ = _wire(server, client_for, {"type": "none"}, {})
    assert "authorization" not in seen.headers


@pytest.mark.parametrize(
    ("auth", "credentials", "message"),
    [
        ({"type": "bearer"}, {}, "auth bearer: credential 'token' is missing"),
        (
            {"type": "api_key", "name": "k", "in": "header"},
            {"password": "hunter22"},
            "api_key",
        ),
        (
            {"type": "oauth2", "flows": ["authorizationCode"]},
            {"client_id": "c"},
            "oauth2",
        ),
        (
            {"type": "oauth2"},
            {"client_id": "c", "client_secret": "topsecret9"},
            "token_url",
        ),
        (
            {"type": "api_key", "name": "k", "in": "cookie"},
            {"api_key": "zzzzzz"},
            "in=header",
        ),
        ({"type": "mutual_tls"}, {}, "unknown scheme"),
    ],
)
def test_missing_or_wrong_credentials_are_one_clear_line(auth, credentials, message):
    with pytest.raises(AuthConfigError, match=message) as info:
        build_auth(auth, credentials, Redactor())
    text = str(info.value)
    assert "\n" not in text
    assert "hunter22" not in text
    assert "topsecret9" not in text


def test_oauth2_access_token_is_used_as_bearer(server, client_for):
    auth = {"type": "oauth2", "flows": ["authorizationCode"]}
    seen, _ = _wire(server, client_for, auth, {"access_token": "at-given-1"})
    assert seen.headers["authorization"] == "Bearer at-given-1"


def _token_route(server, tokens, expires_in=3600, extra=None):
    issued = iter(tokens)

    def token(seen):
        body = {"access_token": next(issued), "token_type": "bearer"}
        if expires_in is not None:
            body["expires_in"] = expires_in
        body.update(extra or {})
        return Reply(200, body)

    server.route("/oauth/token", token)


def test_client_credentials_fetches_once_and_caches(server, client_for):
    _token_route(server, ["at-one-111", "at-two-222"])
    server.route("/me", [Reply(200, {})])
    creds = {
        "client_id": "cid",
        "client_secret": "csecret-xyz",
        "token_url": server.url + "/oauth/token",
        "scopes": "read:a read:b",
    }
    client = client_for(server.url, auth={"type": "oauth2"}, credentials=creds)
    for _ in range(3):
        client.get("/me", endpoint="me")
    token_calls = server.hits("/oauth/token")
    assert len(token_calls) == 1
    form = parse_qs(token_calls[0].body.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": ["csecret-xyz"],
        "scope": ["read:a read:b"],
    }
    assert {h.headers["authorization"] for h in server.hits("/me")} == {
        "Bearer at-one-111"
    }
    assert "at-one-111" in client.redactor.secrets


def test_token_is_refreshed_after_expiry(server):
    _token_route(server, ["at-one-111", "at-two-222"], expires_in=100)
    server.route("/me", [Reply(200, {})])
    now = [1000.0]
    auth = OAuth2Auth(
        token_url=server.url + "/oauth/token",
        client_id="cid",
        client_secret="csecret-xyz",
        refresh_token=None,
        scopes=None,
        redactor=Redactor(),
        clock=lambda: now[0],
    )
    with httpx.Client(auth=auth) as http:
        http.get(server.url + "/me")
        now[0] += 60  # still inside expires_in minus the skew
        http.get(server.url + "/me")
        now[0] += 15  # past expires_in - 30s
        http.get(server.url + "/me")
    sent = [h.headers["authorization"] for h in server.hits("/me")]
    assert sent == ["Bearer at-one-111", "Bearer at-one-111", "Bearer at-two-222"]
    assert auth.fetches == 2


def test_refresh_token_flow_uses_and_rotates_the_refresh_token(server, client_for):
    issued = iter([("at-one-111", "rt-second-2"), ("at-two-222", "rt-third-3")])

    def token(seen):
        access, refresh = next(issued)
        return Reply(
            200, {"access_token": access, "refresh_token": refresh, "expires_in": 0}
        )

    server.route("/oauth/token", token)
    server.route("/me", [Reply(200, {})])
    creds = {
        "refresh_token": "rt-first-1",
        "client_id": "cid",
        "client_secret": "csecret-xyz",
    }
    auth = {"type": "oauth2", "token_url": server.url + "/oauth/token"}
    client = client_for(server.url, auth=auth, credentials=creds)
    client.get("/me", endpoint="me")
    client.get("/me", endpoint="me")  # expires_in=0: the token is already stale
    forms = [parse_qs(h.body.decode()) for h in server.hits("/oauth/token")]
    assert [f["grant_type"] for f in forms] == [["refresh_token"], ["refresh_token"]]
    assert [f["refresh_token"] for f in forms] == [["rt-first-1"], ["rt-second-2"]]
    assert "rt-second-2" in client.redactor.secrets


def test_a_401_refreshes_once_and_retries(server, client_for):
    _token_route(server, ["at-one-111", "at-two-222", "at-three-333"])
    answers = {"Bearer at-one-111": 401, "Bearer at-two-222": 200}
    server.route("/me", lambda seen: Reply(answers[seen.headers["authorization"]], {}))
    creds = {"client_id": "cid", "client_secret": "csecret-xyz"}
    auth = {"type": "oauth2", "token_url": server.url + "/oauth/token"}
    client = client_for(server.url, auth=auth, credentials=creds)
    assert client.get("/me", endpoint="me").status_code == 200
    assert len(server.hits("/oauth/token")) == 2


def test_a_second_401_is_an_error_not_a_loop(server, client_for):
    _token_route(server, ["at-one-111", "at-two-222", "at-three-333"])
    server.route("/me", [Reply(401, {"error": "revoked"})])
    creds = {"client_id": "cid", "client_secret": "csecret-xyz"}
    auth = {"type": "oauth2", "token_url": server.url + "/oauth/token"}
    client = client_for(server.url, auth=auth, credentials=creds)
    with pytest.raises(HttpError, match="HTTP 401") as info:
        client.get("/me", endpoint="me")
    assert info.value.status == 401
    assert len(server.hits("/me")) == 2
    assert len(server.hits("/oauth/token")) == 2


def test_token_endpoint_failure_is_redacted(server, client_for):
    server.route(
        "/oauth/token", [Reply(400, {"error": "invalid_client", "echo": "csecret-xyz"})]
    )
    creds = {"client_id": "cid", "client_secret": "csecret-xyz"}
    auth = {"type": "oauth2", "token_url": server.url + "/oauth/token"}
    client = client_for(server.url, auth=auth, credentials=creds)
    with pytest.raises(TokenError, match="HTTP 400.*invalid_client") as info:
        client.get("/me", endpoint="me")
    assert "csecret-xyz" not in str(info.value)
    assert server.hits("/me") == []


def test_token_response_without_access_token_is_an_error(server, client_for):
    server.route("/oauth/token", [Reply(200, {"token_type": "bearer"})])
    creds = {"client_id": "cid", "client_secret": "csecret-xyz"}
    auth = {"type": "oauth2", "token_url": server.url + "/oauth/token"}
    client = client_for(server.url, auth=auth, credentials=creds)
    with pytest.raises(TokenError, match="no access_token"):
        client.get("/me", endpoint="me")
