"""Turn a plan auth scheme plus the user's credentials into an `httpx.Auth`.

Schemes (as the plan writes them): `{"type": "bearer"}`, `{"type": "basic"}`,
`{"type": "api_key", "name": ..., "in": "header"|"query", "prefix": ...}`,
`{"type": "oauth2", "flows": [...], "token_url": ...}`, `{"type": "none"}`.
Every secret is registered with the redactor before any request is sent, so no log line or
error can carry it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator

import httpx
import orjson

from runtime.errors import UserError
from runtime.http.redact import Redactor

log = logging.getLogger("runtime.http.auth")

EXPIRY_SKEW_SECONDS = 30.0
"""Refresh a fetched token this long before it says it expires (clock skew, slow requests)."""


class AuthConfigError(UserError, ValueError):
    """The credentials do not fit the auth scheme (a user error: one line, no secret)."""


class TokenError(UserError, RuntimeError):
    """The OAuth token endpoint refused or returned something unusable."""


def _need(credentials: dict, key: str, scheme: str) -> str:
    value = credentials.get(key)
    if value in (None, ""):
        raise AuthConfigError(f"auth {scheme}: credential {key!r} is missing")
    return str(value)


class BearerAuth(httpx.Auth):
    """`Authorization: Bearer <token>`."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class ApiKeyAuth(httpx.Auth):
    """An API key in a header (with an optional prefix such as `Token `) or a query parameter.

    A query key replaces any copy of that parameter already in the URL (next links sometimes
    echo it), so it is sent once and resume state can be stored without it.
    """

    def __init__(self, name: str, location: str, value: str) -> None:
        self.name = name
        self.location = location
        self._value = value

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if self.location == "query":
            request.url = request.url.copy_set_param(self.name, self._value)
        else:
            request.headers[self.name] = self._value
        yield request


class OAuth2Auth(httpx.Auth):
    """OAuth2 with a token fetched from `token_url` (client credentials or refresh token).

    The token is cached until shortly before `expires_in`; a 401 on a request triggers one
    refresh and one retry. Token requests go through the same client (same transport, same
    host checks), which is why this is an auth *flow* rather than a side client.
    """

    requires_response_body = True

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str | None,
        scopes: list[str] | None,
        redactor: Redactor,
        clock=time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._scopes = scopes or []
        self._redactor = redactor
        self._clock = clock
        self._token: str | None = None
        self._expires_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def _token_request(self) -> httpx.Request:
        if self._refresh_token:
            form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
        else:
            form = {"grant_type": "client_credentials"}
        form["client_id"] = self._client_id
        form["client_secret"] = self._client_secret
        if self._scopes:
            form["scope"] = " ".join(self._scopes)
        return httpx.Request(
            "POST", self.token_url, data=form, headers={"Accept": "application/json"}
        )

    def _store(self, response: httpx.Response) -> None:
        """Read a token response; raise `TokenError` (redacted, one line) when unusable."""
        where = f"POST {self._redactor.redact(self.token_url)}"
        if response.status_code >= 400:
            excerpt = self._redactor.redact(response.text[:200]).replace("\n", " ")
            raise TokenError(
                f"{where}: token request failed with HTTP {response.status_code}: {excerpt}"
            )
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise TokenError(f"{where}: token response is not JSON") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise TokenError(f"{where}: token response has no access_token")
        self._redactor.add(token)
        new_refresh = body.get("refresh_token")
        if new_refresh:  # rotated refresh tokens replace the old one
            self._redactor.add(new_refresh)
            self._refresh_token = str(new_refresh)
        expires_in = body.get("expires_in")
        self._token = str(token)
        try:
            self._expires_at = self._clock() + float(expires_in) - EXPIRY_SKEW_SECONDS
        except (TypeError, ValueError):
            self._expires_at = None  # no expiry given: keep until a 401 says otherwise
        self.fetches += 1
        log.debug(
            "fetched an access token from %s (expires_in=%s)",
            self.token_url,
            expires_in,
        )

    def _valid(self) -> bool:
        if self._token is None:
            return False
        return self._expires_at is None or self._clock() < self._expires_at

    def auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            if not self._valid():
                response = yield self._token_request()
                self._store(response)
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        with self._lock:
            if self._token == token:  # nobody refreshed it meanwhile
                log.info(
                    "HTTP 401 from %s: refreshing the access token once",
                    request.url.host,
                )
                token_response = yield self._token_request()
                self._store(token_response)
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


def build_auth(
    auth: dict | None, credentials: dict, redactor: Redactor
) -> httpx.Auth | None:
    """The `httpx.Auth` for a plan auth scheme; registers every credential with `redactor`.

    credentials: bearer -> token; basic -> username, password; api_key -> api_key;
    oauth2 -> access_token, or client_id + client_secret (+ token_url, scopes), or
    refresh_token + client_id + client_secret (+ token_url).
    Raises `AuthConfigError` (one line, no secret) when a credential is missing.
    """
    credentials = credentials or {}
    for key, value in credentials.items():
        if key not in ("token_url", "client_id", "scopes"):
            redactor.add(value)
    kind = (auth or {}).get("type", "none")
    if kind == "none":
        return None
    if kind == "bearer":
        token = credentials.get("token") or credentials.get("access_token")
        return BearerAuth(_need({"token": token}, "token", kind))
    if kind == "basic":
        username = _need(credentials, "username", kind)
        password = str(credentials.get("password") or "")
        redactor.add_basic(username, password)
        return httpx.BasicAuth(username, password)
    if kind == "api_key":
        name = auth.get("name")
        location = auth.get("in", "header")
        if not name or location not in ("header", "query"):
            raise AuthConfigError(
                f"auth api_key: needs a name and in=header|query, got {auth!r}"
            )
        value = _need(credentials, "api_key", kind)
        prefix = auth.get("prefix") or ""
        return ApiKeyAuth(name, location, f"{prefix}{value}")
    if kind == "oauth2":
        return _build_oauth2(auth, credentials, redactor)
    raise AuthConfigError(f"auth: unknown scheme type {kind!r}")


def _build_oauth2(auth: dict, credentials: dict, redactor: Redactor) -> httpx.Auth:
    if credentials.get("access_token"):
        return BearerAuth(str(credentials["access_token"]))
    token_url = credentials.get("token_url") or auth.get("token_url")
    if not (credentials.get("client_id") and credentials.get("client_secret")):
        raise AuthConfigError(
            "auth oauth2: give access_token, or client_id + client_secret"
            " (+ refresh_token for user-authorised flows)"
        )
    if not token_url:
        raise AuthConfigError("auth oauth2: credential 'token_url' is missing")
    scopes = credentials.get("scopes")
    if isinstance(scopes, str):
        scopes = scopes.split()
    return OAuth2Auth(
        token_url=str(token_url),
        client_id=str(credentials["client_id"]),
        client_secret=str(credentials["client_secret"]),
        refresh_token=credentials.get("refresh_token"),
        scopes=scopes,
        redactor=redactor,
    )


def token_url_of(auth: httpx.Auth | None) -> str | None:
    """The token endpoint an auth talks to, so the client can allow (and check) its host."""
    return auth.token_url if isinstance(auth, OAuth2Auth) else None
