"""The server URL a connector calls: the spec's first server with its variables
(`https://{subdomain}.{site}`, OpenAPI `servers[].variables`), which become config
fields, and whether the host the spec gives is an example where each customer has
their own (`subdomain.okta.com`, `api.example.com`, `your-domain.atlassian.net`)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from generator.plan import Server, ServerVariable
from generator.spec.model import Spec

# Names reserved for examples and tests (RFC 2606, RFC 6761).
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test", "invalid", "localhost")
# Host labels that stand for the customer's own name rather than naming a host.
PLACEHOLDER_LABELS = frozenset(
    {
        "subdomain",
        "domain",
        "tenant",
        "company",
        "instance",
        "hostname",
        "placeholder",
        "organization",
        "org-name",
        "orgname",
    }
)
_VARIABLE = re.compile(r"\{([^{}]+)\}")


def example_host_reason(host: str) -> str | None:
    """Why `host` is an example host, or None when it looks like a real one."""
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if not host or "{" in host:
        return None
    if labels[-1] in RESERVED_TLDS:
        return f"'.{labels[-1]}' is reserved for examples and tests"
    for domain in RESERVED_DOMAINS:
        if host == domain or host.endswith("." + domain):
            return f"{domain} is reserved for examples"
    for label in labels[:-1]:
        if label in PLACEHOLDER_LABELS or label.startswith("your"):
            return f"'{label}' stands for the customer's own name"
    return None


def _placeholder_name(name: str) -> bool:
    """`yourOktaDomain`, `your_subdomain`: a variable the customer must set."""
    return name.lower().startswith("your")


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def decide(spec: Spec) -> Server | None:
    """The first server (what `Spec.base_url` reads) with its variables in URL order."""
    base = spec.base_url()
    servers = spec.doc.get("servers") if not spec.swagger2 else None
    first = (
        servers[0]
        if isinstance(servers, list) and servers and isinstance(servers[0], dict)
        else {}
    )
    url = str(first.get("url", "")).rstrip("/") if first else base
    if not url:
        return None
    declared = (
        first.get("variables") if isinstance(first.get("variables"), dict) else {}
    )
    variables: list[ServerVariable] = []
    for name in dict.fromkeys(_VARIABLE.findall(url)):
        raw = declared.get(name) if isinstance(declared.get(name), dict) else {}
        default = raw.get("default")
        enum = [
            str(v) for v in raw.get("enum") or [] if isinstance(v, (str, int, float))
        ]
        default = None if default is None else str(default)
        example = _placeholder_name(name) or (
            default is not None
            and example_host_reason(default if "." in default else "") is not None
        )
        variables.append(
            ServerVariable(
                name=name,
                default=default,
                enum=enum,
                description=str(raw.get("description") or ""),
                example=example,
            )
        )
    reason = example_host_reason(_host(base)) if base else None
    marked = [v.name for v in variables if v.example]
    if reason is None and marked:
        reason = (
            f"server variable {{{marked[0]}}} is the customer's own "
            "(its default is an example)"
        )
    why = f"{_host(base)}: {reason}" if reason else ""
    return Server(
        url=url, variables=variables, example_host=reason is not None, why=why
    )
