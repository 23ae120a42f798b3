"""A connector's base URL: the spec's server URL with its variables filled from config
fields (`https://{subdomain}.okta.com`), unless the config's `base_url` names another
host.

A spec often gives an example host (`subdomain.okta.com`, `api.example.com`) where each
customer has their own. The generator marks those; a run that would still go to the
example host stops with one line naming the config field that sets the real one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from runtime.source.config_input import ConfigError, env_name

_VARIABLE = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class ServerVariable:
    """`{name}` in the server URL: set by config field `field`."""

    field: str
    default: str | None = None
    enum: tuple[str, ...] = ()
    example: bool = False  # the default is the spec's example value, not a real one


@dataclass(frozen=True)
class Server:
    url: str  # the spec's server URL, `{name}` where a variable goes
    variables: dict[str, ServerVariable] = field(default_factory=dict)
    example_host: bool = False  # the URL filled with the defaults names an example host

    def default_url(self) -> str:
        return _VARIABLE.sub(lambda m: self._default(m.group(1)), self.url)

    def _default(self, name: str) -> str:
        var = self.variables.get(name)
        return (
            var.default
            if var is not None and var.default is not None
            else "{" + name + "}"
        )


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _value(config: object, var: ServerVariable) -> str | None:
    value = getattr(config, var.field, None)
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return None if value in (None, "") else str(value)


def base_url(config: object, server: Server, source: str) -> str:
    """The URL requests go to: the config's `base_url` when set, else the server URL
    with its variables filled. Raises ConfigError (one line) for a value outside a
    variable's enum, a variable nobody set, or the spec's example host."""
    explicit = getattr(config, "base_url", None)
    if explicit:  # the user's choice, even a host the spec gives as an example
        return str(explicit).rstrip("/")
    url = _VARIABLE.sub(lambda m: _fill(config, server, source, m.group(1)), server.url)
    if server.example_host and host_of(url) == host_of(server.default_url()):
        raise ConfigError(_example_message(config, server, source, url))
    return url


def _fill(config: object, server: Server, source: str, name: str) -> str:
    var = server.variables.get(name)
    if var is None:  # the generator maps every variable; a hand-edited URL may not
        raise ConfigError(f"server URL {server.url}: no config field sets {{{name}}}")
    value = _value(config, var)
    if value is None:
        value = var.default
    if value is None:
        raise ConfigError(
            f"missing config field {var.field!r} (server variable {{{name}}}; "
            f"set it in --config or {env_name(source, var.field)})"
        )
    if var.enum and value not in var.enum:
        raise ConfigError(
            f"config field {var.field!r} (server variable {{{name}}}): "
            f"{value!r} is not one of {', '.join(var.enum)}"
        )
    return value


def _example_message(config: object, server: Server, source: str, url: str) -> str:
    unset = [
        (n, v)
        for n, v in server.variables.items()
        if _value(config, v) in (None, v.default)
    ]
    marked = [(n, v) for n, v in unset if v.example] or unset
    if marked:
        ways = "; ".join(
            f"config field {v.field!r} ({env_name(source, v.field)}, server "
            f"variable {{{n}}})"
            for n, v in marked
        )
    else:
        ways = f"config field 'base_url' ({env_name(source, 'base_url')})"
    return (
        f"base URL {url}: {host_of(url)} is the spec's example host; set the real one "
        f"with {ways} or --base-url"
    )
