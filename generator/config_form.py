"""The connector's config form, derived from the plan: auth fields (secrets as password
fields), path parameters taken from the config, and the base URL."""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.plan import AuthScheme, Plan
from generator.render.literals import identifier


@dataclass(frozen=True)
class FormField:
    name: str  # the config class's field name (also GEN_SOURCE_<SOURCE>_<NAME>)
    label: str
    type: str  # text | password | url
    required: bool
    caption: str = ""
    default: str | None = None
    credential: str | None = None  # runtime credential key this field feeds
    path_param: str | None = None  # path parameter this field fills
    server_variable: str | None = None  # `{name}` in the server URL this field fills


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return identifier(s.lower(), fallback="param")


AUTH_FIELDS: dict[str, list[tuple[str, str, str, bool, str]]] = {
    # type: [(field name, label, form type, required, runtime credential key)]
    "bearer": [("token", "API token", "password", True, "token")],
    "basic": [("username", "Username", "text", True, "username"),
              ("password", "Password", "password", False, "password")],
    "api_key": [("api_key", "API key", "password", True, "api_key")],
    "oauth2": [("access_token", "Access token", "password", False, "access_token"),
               ("client_id", "Client ID", "text", False, "client_id"),
               ("client_secret", "Client secret", "password", False, "client_secret"),
               ("refresh_token", "Refresh token", "password", False, "refresh_token")],
    "none": [],
}


def primary_auth(plan: Plan) -> AuthScheme:
    return plan.auth[0] if plan.auth else AuthScheme(type="none")


def form_fields(plan: Plan, endpoints) -> list[FormField]:
    auth = primary_auth(plan)
    fields: list[FormField] = []
    caption = ""
    if auth.type == "oauth2" and auth.scopes:
        caption = "OAuth2 scopes: " + ", ".join(auth.scopes[:40])
    for name, label, ftype, required, cred in AUTH_FIELDS.get(auth.type, []):
        fields.append(FormField(name=name, label=label, type=ftype, required=required,
                                caption=caption if name in ("access_token", "client_id") else "",
                                credential=cred))
    if auth.type == "oauth2":
        fields.append(FormField(name="token_url", label="Token URL", type="url", required=False,
                                default=auth.token_url, credential="token_url"))
    taken = {f.name for f in fields} | {"base_url"}
    seen_params: dict[str, str] = {}
    defaults: dict[str, str] = {}
    for ep in endpoints:
        for param, value in sorted(ep.param_defaults.items()):
            defaults.setdefault(param, value)
    for ep in endpoints:
        for param in ep.config_params:
            if param in seen_params:
                continue
            name = snake(param)
            while name in taken:
                name += "_value"
            taken.add(name)
            seen_params[param] = name
            fields.append(FormField(name=name, label=param, type="text", required=param not in defaults,
                                    default=defaults.get(param),
                                    caption=f"Fills {{{param}}} in request paths", path_param=param))
    server = plan.server
    for var in server.variables if server is not None else []:
        name = snake(var.name)
        while name in taken:
            name += "_value"
        taken.add(name)
        caption = f"Fills {{{var.name}}} in {server.url}"
        if var.enum:
            caption += f"; one of {', '.join(var.enum)}"
        if var.example:
            caption += f" (the spec's {var.default!r} is an example)"
        fields.append(FormField(name=name, label=var.name, type="text",
                                required=var.default is None, default=var.default,
                                caption=caption, server_variable=var.name))
    if plan.webhooks is not None and "webhook_signing_secret" not in taken:
        fields.append(FormField(name="webhook_signing_secret", label="Webhook signing secret", type="password",
                                required=False, caption="Verifies webhook deliveries (gen-source webhooks serve); "
                                "from the vendor's webhook settings or create_webhook"))
    # Variables or an example host leave it unset: the server URL is filled at run time.
    fill = server is not None and (server.variables or server.example_host)
    fields.append(FormField(name="base_url", label="Base URL", type="url", required=False,
                            default=None if fill else plan.base_url or None,
                            caption="Another host (sandbox, proxy, emulator) instead of the API's own"))
    return fields


def json_schema(title: str, fields: list[FormField]) -> dict:
    props: dict = {}
    for f in fields:
        prop: dict = {"type": "string", "title": f.label}
        if f.type == "password":
            prop.update({"format": "password", "writeOnly": True})
        if f.default is not None:
            prop["default"] = f.default
        props[f.name] = prop
    return {"title": title, "type": "object", "properties": props,
            "required": [f.name for f in fields if f.required]}
