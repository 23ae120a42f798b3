"""The plan: what the generator decided about a spec, as plain dataclasses.

`Plan.to_json()` is the contract in docs/plan-format.md (`gen-source plan <spec> --json`):
fields may be added, never renamed or dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.errors import Warning
from generator.webhooks.model import WebhookPlan
from runtime.catalog import (
    Column,
    EndpointConfig,
    IncrementalField,
    Pagination,
    ParentConfig,
    SinglePage,
)

INCREMENTAL_TYPES = ("integer", "numeric", "datetime", "date", "timestamp")
COLUMN_TYPES = (
    "string",
    "int64",
    "float64",
    "bool",
    "json",
    "timestamp",
    "date",
)  # + decimal(P,S), list<T>
# Starts the warning made for each table whose paging is a guess; gen-source prints every one.
LOW_CONFIDENCE = "pagination low confidence"


def pagination_json(pagination: Pagination) -> dict:
    settings = pagination.settings()
    return {"type": pagination.type, **{k: settings[k] for k in sorted(settings)}}


def incremental_json(f: IncrementalField) -> dict:
    out = {"field": f.field, "type": f.type, "filter_param": f.filter_param}
    if f.before_param:
        out["before_param"] = f.before_param
    if f.filter_expression:
        out["filter_expression"] = f.filter_expression
    return out


def parent_json(parent: ParentConfig) -> dict:
    out = {
        "endpoint": parent.endpoint,
        "path_param": parent.path_param,
        "field": parent.field,
    }
    if parent.inherited:
        out["inherited"] = dict(sorted(parent.inherited.items()))
    if parent.location == "query":
        out["in"] = "query"
    if parent.include_from_parent:
        out["include_from_parent"] = list(parent.include_from_parent)
    if parent.max_pages is not None:
        out["max_pages"] = parent.max_pages
    return out


@dataclass
class Endpoint:
    name: str
    path: str
    method: str = "GET"
    selected: bool = False
    data_selector: str = "$"
    primary_key: list[str] | None = None
    pagination: Pagination = field(default_factory=SinglePage)
    incremental_fields: list[IncrementalField] = field(default_factory=list)
    partition_key: str | None = None
    sort_mode: str = "asc"
    parent: ParentConfig | None = None
    why: dict[str, str] = field(default_factory=dict)
    # Additions beyond the original contract
    operation_id: str = ""
    summary: str = ""
    config_params: list[str] = field(
        default_factory=list
    )  # path params filled from the config
    params: dict[str, str] = field(
        default_factory=dict
    )  # fixed query parameters sent on every request
    columns: list[Column] = field(default_factory=list)
    response_status: str = "200"
    row_format: str = (
        "plain"  # plain | jsonapi (resource objects: attributes lifted to columns)
    )
    headers: dict[str, str] = field(
        default_factory=dict
    )  # fixed request headers (required, with a default)
    param_defaults: dict[str, str] = field(
        default_factory=dict
    )  # defaults of config-filled path params
    # Another table read from the same operation with its own fixed params (an override's `variants`):
    # the name of the endpoint it varies. In plan JSON it is listed under that endpoint's `variants`.
    variant_of: str | None = None
    query_params: list[str] = field(
        default_factory=list
    )  # the operation's query parameters
    # OpenAPI `security` of the operation (else the spec's global one): scheme name ->
    # scopes.
    security: dict[str, list[str]] = field(default_factory=dict)
    # The explicit sort in `params`.
    sort_params: dict[str, str] = field(default_factory=dict)
    # Decisions taken on weak evidence: {"pagination": "low"} (docs/plan-additions.md)
    confidence: dict[str, str] = field(default_factory=dict)

    def catalog_entry(self) -> EndpointConfig:
        """The runtime catalog's entry for this endpoint (what settings.py declares)."""
        return EndpointConfig(
            name=self.name,
            path=self.path,
            data_selector=self.data_selector,
            primary_key=tuple(self.primary_key) if self.primary_key else None,
            pagination=self.pagination,
            incremental_fields=tuple(self.incremental_fields),
            partition_key=self.partition_key,
            sort_mode=self.sort_mode,
            parent=self.parent,
            config_params=tuple(self.config_params),
            params=dict(sorted(self.params.items())),
            columns=tuple(self.columns),
            selected=self.selected,
            row_format=self.row_format,
            headers=dict(sorted(self.headers.items())),
        )

    def to_json(self) -> dict:
        out = {
            "name": self.name,
            "path": self.path,
            "method": self.method,
            "selected": self.selected,
            "data_selector": self.data_selector,
            "primary_key": self.primary_key,
            "pagination": pagination_json(self.pagination),
            "incremental_fields": [
                incremental_json(f) for f in self.incremental_fields
            ],
            "partition_key": self.partition_key,
            "sort_mode": self.sort_mode,
            "parent": parent_json(self.parent) if self.parent else None,
            "why": dict(sorted(self.why.items())),
            "operation_id": self.operation_id,
            "summary": self.summary,
            "config_params": list(self.config_params),
            "params": dict(sorted(self.params.items())),
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "row_format": self.row_format,
            "headers": dict(sorted(self.headers.items())),
            "param_defaults": dict(sorted(self.param_defaults.items())),
        }
        if self.variant_of is not None:
            out["variant_of"] = self.variant_of
        if self.confidence:
            out["confidence"] = dict(sorted(self.confidence.items()))
        return out


@dataclass
class AuthScheme:
    type: str  # bearer | basic | api_key | oauth2 | none
    name: str | None = None  # api_key: header / query parameter name
    location: str | None = None  # api_key: header | query
    prefix: str | None = None  # api_key: value prefix (e.g. "Token ")
    flows: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    token_url: str | None = None
    scheme_name: str = ""  # the securitySchemes key it came from
    # oauth2: the scopes the selected tables need (their operations' `security`,
    # overrides)
    required_scopes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        out: dict = {"type": self.type}
        if self.type == "api_key":
            out.update({"name": self.name, "in": self.location})
            if self.prefix:
                out["prefix"] = self.prefix
        if self.type == "oauth2":
            out.update(
                {
                    "flows": list(self.flows),
                    "scopes": list(self.scopes),
                    "required_scopes": list(self.required_scopes),
                }
            )
            if self.token_url:
                out["token_url"] = self.token_url
        return out


@dataclass
class ServerVariable:
    name: str
    default: str | None = None
    enum: list[str] = field(default_factory=list)
    description: str = ""
    example: bool = False  # the default is the spec's example value (`yourOktaDomain`)

    def to_json(self) -> dict:
        out: dict = {
            "name": self.name,
            "default": self.default,
            "example": self.example,
        }
        if self.enum:
            out["enum"] = list(self.enum)
        return out


@dataclass
class Server:
    """The spec's server URL with `{name}` variables, which the config fills at run
    time."""

    url: str
    variables: list[ServerVariable] = field(default_factory=list)
    example_host: bool = False  # the URL with its defaults names an example host
    why: str = ""

    def to_json(self) -> dict:
        return {
            "url": self.url,
            "variables": [v.to_json() for v in self.variables],
            "example_host": self.example_host,
            "why": self.why,
        }


@dataclass
class SpecInfo:
    title: str
    version: str
    openapi: str
    sha256: str

    def to_json(self) -> dict:
        return {
            "title": self.title,
            "version": self.version,
            "openapi": self.openapi,
            "sha256": self.sha256,
        }


RELEASE_STATUSES = ("alpha", "beta", "ga")


@dataclass
class Release:
    """How far the source is trusted (overrides' `release_status`); without one it is
    alpha and hidden behind a feature flag."""

    status: str = "alpha"
    unreleased: bool = True
    feature_flag: str | None = None
    docs_url: str | None = None
    icon: str | None = None
    why: str = "no release_status in overrides: alpha, unreleased"

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "unreleased": self.unreleased,
            "feature_flag": self.feature_flag,
            "docs_url": self.docs_url,
            "icon": self.icon,
        }


@dataclass
class Plan:
    source: str
    spec: SpecInfo
    base_url: str
    auth: list[AuthScheme]
    endpoints: list[Endpoint]
    warnings: list[Warning] = field(default_factory=list)
    overrides_applied: list[str] = field(default_factory=list)
    webhooks: WebhookPlan | None = None  # generator/webhooks/; None: no webhooks
    server: Server | None = None  # None: an override's base_url, or no server URL
    release: Release = field(default_factory=Release)

    def operations(self) -> list[Endpoint]:
        """One endpoint per operation: the plan without its variant tables."""
        return [e for e in self.endpoints if e.variant_of is None]

    def catalog(self) -> list[Endpoint]:
        """Selected endpoints plus every parent they need (the tables a connector
        reads)."""
        by_name = {e.name: e for e in self.endpoints}
        keep: dict[str, Endpoint] = {}
        for ep in self.endpoints:
            if not ep.selected:
                continue
            node: Endpoint | None = ep
            while node is not None and node.name not in keep:
                keep[node.name] = node
                node = by_name.get(node.parent.endpoint) if node.parent else None
        return sorted(keep.values(), key=lambda e: (e.path, e.name))

    def endpoint(self, name: str) -> Endpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)

    def sort(self) -> None:
        self.endpoints.sort(key=lambda e: (e.path, e.method, e.name))

    def _endpoints_json(self) -> list[dict]:
        """One entry per operation, as plan-format.md says; variant tables nest in theirs."""
        variants: dict[str, list[dict]] = {}
        for e in self.endpoints:
            if e.variant_of is not None:
                variants.setdefault(e.variant_of, []).append(e.to_json())
        out = []
        for e in self.endpoints:
            if e.variant_of is None:
                entry = e.to_json()
                if e.name in variants:
                    entry["variants"] = variants[e.name]
                out.append(entry)
        return out

    def to_json(self) -> dict:
        out = {
            "source": self.source,
            "spec": self.spec.to_json(),
            "base_url": self.base_url,
            "auth": [a.to_json() for a in self.auth],
            "endpoints": self._endpoints_json(),
            "warnings": [w.to_json() for w in self.warnings],
            "release": self.release.to_json(),
        }
        if self.webhooks is not None:
            out["webhooks"] = self.webhooks.to_json()
        server = self.server
        if server is not None and (server.variables or server.example_host):
            out["server"] = server.to_json()
        return out
