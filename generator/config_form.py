"""The connector's config form, derived from the plan: a select of auth methods (one option per
security scheme, each with its own fields; OAuth2 as an OAuth field with its flows and the
scopes the tables need), path parameters taken from the config, the base URL, and the webhook
settings as a group of their own.

The generated config class is flat (every field of every option and group), so a config file
names fields as before; the form's structure is what `source.py` shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.plan import AuthScheme, Plan
from generator.render.literals import identifier

AUTH_SELECT = "auth_method"  # the config field holding the chosen auth option


@dataclass(frozen=True)
class FormField:
    name: str  # the config class's field name (also GEN_SOURCE_<SOURCE>_<NAME>)
    label: str
    type: str  # text | password | url | select | oauth
    required: bool
    caption: str = ""
    default: str | None = None
    credential: str | None = None  # runtime credential key this field feeds
    path_param: str | None = None  # path parameter this field fills
    server_variable: str | None = None  # `{name}` in the server URL this field fills
    choices: tuple[str, ...] = ()  # select: the option values


@dataclass(frozen=True)
class AuthOption:
    """One choice of the auth select: a security scheme and the fields it asks for."""

    value: str  # what the config's auth_method holds
    label: str
    scheme: AuthScheme
    fields: tuple[FormField, ...] = ()
    oauth: FormField | None = None  # oauth2: the OAuth field (flows, required scopes)
    needs: tuple[str, ...] = ()  # config fields this option cannot do without

    def credentials(self) -> dict[str, str]:
        """Runtime credential key -> config field."""
        fields = ([self.oauth] if self.oauth else []) + list(self.fields)
        return {f.credential: f.name for f in fields if f.credential}


@dataclass
class Form:
    auth: list[AuthOption]
    fields: list[FormField]  # path parameters and the base URL
    webhook_fields: list[FormField] = field(default_factory=list)

    @property
    def default_auth(self) -> AuthOption:
        return self.auth[0]

    def auth_select(self) -> FormField:
        return FormField(
            name=AUTH_SELECT,
            label="Authentication",
            type="select",
            required=False,
            default=self.default_auth.value,
            choices=tuple(o.value for o in self.auth),
            caption="How the connector signs in; each choice asks for its own fields",
        )

    def flat(self) -> list[FormField]:
        """Every field of the config class, in form order."""
        out = [self.auth_select()]
        for option in self.auth:
            out += ([option.oauth] if option.oauth else []) + list(option.fields)
        return out + self.webhook_fields + self.fields


def snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return identifier(s.lower(), fallback="param")


AUTH_FIELDS: dict[str, list[tuple[str, str, str, bool, str]]] = {
    # type: [(field name, label, form type, required, runtime credential key)]
    "bearer": [("token", "API token", "password", True, "token")],
    "basic": [
        ("username", "Username", "text", True, "username"),
        ("password", "Password", "password", False, "password"),
    ],
    "api_key": [("api_key", "API key", "password", True, "api_key")],
    # The OAuth field gives an access token; these let a headless run fetch one itself.
    "oauth2": [
        ("client_id", "Client ID", "text", False, "client_id"),
        ("client_secret", "Client secret", "password", False, "client_secret"),
        ("refresh_token", "Refresh token", "password", False, "refresh_token"),
    ],
    "none": [],
}
LABELS = {
    "bearer": "API token",
    "basic": "Username and password",
    "api_key": "API key",
    "oauth2": "OAuth2",
    "none": "No authentication",
}


def primary_auth(plan: Plan) -> AuthScheme:
    return plan.auth[0] if plan.auth else AuthScheme(type="none")


def _option_value(scheme: AuthScheme, taken: set[str]) -> str:
    base = snake(scheme.scheme_name) if scheme.scheme_name else scheme.type
    value = base
    while value in taken:
        value += "_2"
    taken.add(value)
    return value


def auth_options(plan: Plan, taken: set[str]) -> list[AuthOption]:
    """One option per scheme. Field names are the type's plain ones for the first scheme
    of a type; a later scheme of the same type prefixes them with its option value."""
    schemes = plan.auth or [AuthScheme(type="none")]
    single = len(schemes) == 1
    values: set[str] = set()
    out = []
    for scheme in schemes:
        value = _option_value(scheme, values)

        def name_for(base: str, value: str = value) -> str:
            name = base if base not in taken else f"{value}_{base}"
            while name in taken:
                name += "_value"
            taken.add(name)
            return name

        specs = AUTH_FIELDS.get(scheme.type, [])
        fields = [
            FormField(
                name=name_for(name),
                label=label,
                type=ftype,
                required=required and single,
                credential=cred,
                caption="" if single or not required else "Required with this method",
            )
            for name, label, ftype, required, cred in specs
        ]
        needs = tuple(f.name for f, spec in zip(fields, specs, strict=True) if spec[3])
        oauth = None
        label = LABELS.get(scheme.type, scheme.type)
        if scheme.type == "api_key" and scheme.name:
            label += f" ({scheme.name} {scheme.location or 'header'})"
        if scheme.type == "oauth2":
            scopes = ", ".join(scheme.required_scopes) or "none declared"
            oauth = FormField(
                name=name_for("access_token"),
                label="OAuth connection",
                type="oauth",
                required=False,
                credential="access_token",
                caption=f"Scopes the selected tables need: {scopes}",
            )
            fields.append(
                FormField(
                    name=name_for("token_url"),
                    label="Token URL",
                    type="url",
                    required=False,
                    default=scheme.token_url,
                    credential="token_url",
                )
            )
        out.append(
            AuthOption(
                value=value,
                label=label,
                scheme=scheme,
                fields=tuple(fields),
                oauth=oauth,
                needs=needs,
            )
        )
    return out


def build_form(plan: Plan, endpoints) -> Form:
    taken: set[str] = {AUTH_SELECT, "base_url"}
    options = auth_options(plan, taken)
    fields: list[FormField] = []
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
            fields.append(
                FormField(
                    name=name,
                    label=param,
                    type="text",
                    required=param not in defaults,
                    default=defaults.get(param),
                    caption=f"Fills {{{param}}} in request paths",
                    path_param=param,
                )
            )
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
        fields.append(
            FormField(
                name=name,
                label=var.name,
                type="text",
                required=var.default is None,
                default=var.default,
                caption=caption,
                server_variable=var.name,
            )
        )
    # Variables or an example host leave it unset: the server URL is filled at run time.
    fill = server is not None and (server.variables or server.example_host)
    fields.append(
        FormField(
            name="base_url",
            label="Base URL",
            type="url",
            required=False,
            default=None if fill else plan.base_url or None,
            caption="Another host (sandbox, proxy, emulator) instead of the API's own",
        )
    )
    return Form(auth=options, fields=fields, webhook_fields=webhook_fields(plan, taken))


def webhook_fields(plan: Plan, taken: set[str]) -> list[FormField]:
    """The signing secret, and the events to subscribe to when the vendor's subscription
    call takes a list of them."""
    if plan.webhooks is None or "webhook_signing_secret" in taken:
        return []
    out = [
        FormField(
            name="webhook_signing_secret",
            label="Webhook signing secret",
            type="password",
            required=False,
            caption="Verifies webhook deliveries (gen-source webhooks serve); "
            "from the vendor's webhook settings or create_webhook",
        )
    ]
    sub = plan.webhooks.subscription
    if sub is not None and sub.events_field and "webhook_events" not in taken:
        default = (
            f"the {len(sub.events)} listed in webhooks.py"
            if sub.events
            else "the vendor's default"
        )
        out.append(
            FormField(
                name="webhook_events",
                label="Webhook events",
                type="text",
                required=False,
                caption=f"Event types create_webhook subscribes to, comma-separated; empty: {default}",
            )
        )
    taken.update(f.name for f in out)
    return out


def json_schema(title: str, fields: list[FormField]) -> dict:
    props: dict = {}
    for f in fields:
        prop: dict = {"type": "string", "title": f.label}
        if f.type in ("password", "oauth"):
            prop.update({"format": "password", "writeOnly": True})
        if f.default is not None:
            prop["default"] = f.default
        props[f.name] = prop
    return {
        "title": title,
        "type": "object",
        "properties": props,
        "required": [f.name for f in fields if f.required],
    }
