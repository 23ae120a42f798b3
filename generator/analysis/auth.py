"""Authentication schemes from `securitySchemes` (or Swagger 2 `securityDefinitions`).

- http bearer -> `bearer`; http basic -> `basic`;
- apiKey in header/query -> `api_key`, with a value prefix when the description shows one
  (`Authorization: Klaviyo-API-Key your-private-api-key`, `SSWS {token}`, `Token <key>`);
- oauth2 -> `oauth2` with its flows and the union of their scopes; openIdConnect -> `oauth2`.
Schemes the spec requires globally come first, then the rest; within each group the order is
bearer, api_key, basic, oauth2. A spec that declares none gets `bearer` and a warning.
"""

from __future__ import annotations

import re

from generator.errors import Warning
from generator.plan import AuthScheme, Plan
from generator.spec.model import Operation, Spec

RANK = {"bearer": 0, "api_key": 1, "basic": 2, "oauth2": 3}
_PLACEHOLDER = r"(?:<[^>]+>|\{[^}]+\}|\$\{?\w+\}?|your[\w-]*|YOUR[\w-]*|\[[^\]]+\]|api[_-]?key|token|xxx+)"
_PREFIX_RES = (
    re.compile(r"Authorization:?\s*`?\s*([A-Za-z][\w-]{1,40})\s+" + _PLACEHOLDER, re.I),
    re.compile(r"`([A-Za-z][\w-]{1,40})\s+" + _PLACEHOLDER + r"`", re.I),
    re.compile(
        r"(?:prefix(?:ed)?|format)\s+(?:it\s+)?(?:with\s+)?[`'\"]([A-Za-z][\w-]{1,40})\s?[`'\"]",
        re.I,
    ),
)


def schemes(spec: Spec) -> tuple[list[AuthScheme], list[Warning]]:
    out: list[AuthScheme] = []
    warnings: list[Warning] = []
    for name, raw in spec.security_schemes().items():
        scheme = _scheme(name, raw)
        if scheme is None:
            warnings.append(
                Warning(
                    where=f"securitySchemes.{name}",
                    message=f"unsupported security scheme type {raw.get('type')!r}; skipped",
                )
            )
            continue
        out.append(scheme)
    if not out:
        warnings.append(
            Warning(
                where="securitySchemes",
                message="the spec declares no security scheme; assuming a bearer token",
            )
        )
        return [AuthScheme(type="bearer")], warnings
    required = spec.global_security()
    out.sort(
        key=lambda s: (
            s.scheme_name not in required,
            RANK.get(s.type, 9),
            s.scheme_name,
        )
    )
    return out, warnings


def _scheme(name: str, raw: dict) -> AuthScheme | None:
    kind = str(raw.get("type") or "").lower()
    desc = str(raw.get("description") or "")
    if kind == "http":
        scheme = str(raw.get("scheme") or "").lower()
        if scheme == "bearer":
            return AuthScheme(type="bearer", scheme_name=name)
        if scheme == "basic":
            return AuthScheme(type="basic", scheme_name=name)
        return None
    if kind == "basic":  # Swagger 2
        return AuthScheme(type="basic", scheme_name=name)
    if kind == "apikey":
        location = str(raw.get("in") or "header")
        key_name = str(raw.get("name") or "Authorization")
        return AuthScheme(
            type="api_key",
            name=key_name,
            location=location,
            prefix=_prefix(desc, key_name),
            scheme_name=name,
        )
    if kind == "oauth2":
        flows, scopes, token_url = _oauth(raw)
        return AuthScheme(
            type="oauth2",
            flows=flows,
            scopes=scopes,
            token_url=token_url,
            scheme_name=name,
        )
    if kind == "openidconnect":
        return AuthScheme(type="oauth2", flows=["openIdConnect"], scheme_name=name)
    return None


def _prefix(description: str, header: str) -> str | None:
    if header.lower() != "authorization":
        return None
    for rx in _PREFIX_RES:
        m = rx.search(description)
        if m and m.group(1).lower() not in (
            "authorization",
            "header",
            "the",
            "a",
            "your",
            "with",
        ):
            return m.group(1) + " "
    return None


def _oauth(raw: dict) -> tuple[list[str], list[str], str | None]:
    flows: list[str] = []
    scopes: set[str] = set()
    token_url = None
    if isinstance(raw.get("flows"), dict):
        for flow, body in raw["flows"].items():
            flows.append(str(flow))
            if isinstance(body, dict):
                scopes.update(str(s) for s in (body.get("scopes") or {}))
                token_url = token_url or body.get("tokenUrl")
    else:  # Swagger 2: one flow per scheme
        flow = str(raw.get("flow") or "")
        mapping = {
            "accessCode": "authorizationCode",
            "application": "clientCredentials",
            "implicit": "implicit",
            "password": "password",
        }
        if flow:
            flows.append(mapping.get(flow, flow))
        scopes.update(str(s) for s in (raw.get("scopes") or {}))
        token_url = raw.get("tokenUrl")
    return flows, sorted(scopes), str(token_url) if token_url else None


def _requirements(raw: object) -> dict[str, list[str]]:
    """OpenAPI `security` (a list of alternative requirement objects) -> scheme ->
    scopes."""
    out: dict[str, list[str]] = {}
    for req in raw if isinstance(raw, list) else []:
        if not isinstance(req, dict):
            continue
        for name, scopes in req.items():
            have = out.setdefault(str(name), [])
            for scope in scopes if isinstance(scopes, list) else []:
                if isinstance(scope, str) and scope not in have:
                    have.append(scope)
    return {k: sorted(v) for k, v in sorted(out.items())}


def global_requirements(spec: Spec) -> dict[str, list[str]]:
    return _requirements(spec.doc.get("security"))


def operation_security(
    op: Operation, global_security: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The scopes each scheme needs for `op`: its own `security`, else the spec's global
    one (`security: []` on the operation means no auth)."""
    if isinstance(op.raw.get("security"), list):
        return _requirements(op.raw["security"])
    return dict(global_security)


def settle_scopes(plan: Plan, overrides: dict | None) -> None:
    """Each OAuth2 scheme's `required_scopes`: the union of the scopes the connector's
    tables (selected ones and the parents they read) need under it, then the overrides'
    `required_scopes: {add, remove}`."""
    change = (overrides or {}).get("required_scopes") or {}
    tables = plan.catalog()
    for scheme in plan.auth:
        if scheme.type != "oauth2":
            continue
        needed = {s for ep in tables for s in ep.security.get(scheme.scheme_name, ())}
        needed |= set(change.get("add") or ())
        needed -= set(change.get("remove") or ())
        scheme.required_scopes = sorted(needed)
