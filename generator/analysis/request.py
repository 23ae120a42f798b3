"""Request values the spec fixes for an endpoint, beyond paging and filters.

- `required_header_with_default`: a required header parameter whose schema gives a default
  (or a single enum value) is sent as a fixed header (an API version header, say). Auth headers
  are left to the auth scheme.
- `path_param_default`: a path parameter with a default (an `{apiVersion}` prefix) fills the
  config field's default, so the user need not know it.
"""

from __future__ import annotations

from generator.spec.model import Operation, Param

AUTH_HEADERS = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "api-key",
}


def _default(param: Param) -> str | None:
    schema = param.schema.value if param.schema else {}
    if (
        "default" in schema
        and isinstance(schema["default"], (str, int, float))
        and not isinstance(schema["default"], bool)
    ):
        return str(schema["default"])
    enum = schema.get("enum")
    if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], (str, int)):
        return str(enum[0])
    return None


def fixed_headers(op: Operation) -> tuple[dict[str, str], str | None]:
    headers: dict[str, str] = {}
    for p in op.parameters:
        if p.location != "header" or not p.required or p.name.lower() in AUTH_HEADERS:
            continue
        value = _default(p)
        if value is not None:
            headers[p.name] = value
    why = None
    if headers:
        why = "required_header_with_default: " + ", ".join(
            f"{k}={v}" for k, v in sorted(headers.items())
        )
    return headers, why


def path_param_defaults(op: Operation) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in op.path_params():
        value = _default(p)
        if value is not None:
            out[p.name] = value
    return out
