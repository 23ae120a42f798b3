"""The plan: what the generator decided about a spec, as plain dataclasses.

`Plan.to_json()` is the contract in docs/plan-format.md (`gen-source plan <spec> --json`):
fields may be added, never renamed or dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from generator.errors import Warning

if TYPE_CHECKING:
    from generator.webhooks import WebhookPlan

PAGINATION_TYPES = ("cursor", "next_url", "link_header", "offset", "page_number", "single_page")
INCREMENTAL_TYPES = ("integer", "numeric", "datetime", "date", "timestamp")
COLUMN_TYPES = ("string", "int64", "float64", "bool", "json")


@dataclass
class Pagination:
    """`type` plus the parameters that type needs (see runtime/read/paginators.py):
    cursor: cursor_param, cursor_path, has_more_path?, limit_param?, page_size?
    next_url: next_url_path, limit_param?, page_size?
    link_header: limit_param?, page_size?
    offset: offset_param, limit_param, page_size, total_path?
    page_number: page_param, base_page, limit_param?, page_size?, total_pages_path?
    single_page: nothing."""

    type: str
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"type": self.type, **{k: self.params[k] for k in sorted(self.params)}}


@dataclass
class IncrementalField:
    field: str
    type: str
    filter_param: str
    before_param: str | None = None
    filter_expression: str | None = None  # e.g. "greater-than(updated,{value})" inside filter_param

    def to_json(self) -> dict:
        out = {"field": self.field, "type": self.type, "filter_param": self.filter_param}
        if self.before_param:
            out["before_param"] = self.before_param
        if self.filter_expression:
            out["filter_expression"] = self.filter_expression
        return out


@dataclass
class Parent:
    endpoint: str  # the parent endpoint's name
    path_param: str  # the child's parameter filled from each parent row (path or query)
    field: str  # the parent row's field that fills it
    # Other path parameters of the child taken from the parent row's own parent columns
    # (`{"a_id": "_a_id"}` for /a/{a_id}/b/{b_id}/c), so grandchildren resolve every parameter.
    inherited: dict[str, str] = field(default_factory=dict)
    location: str | None = None  # "query": `path_param` is a query parameter (None: path)
    # More parent fields per row.
    include_from_parent: list[str] = field(default_factory=list)
    max_pages: int | None = None  # cap on the parent's pages read for the fan-out

    def to_json(self) -> dict:
        out = {"endpoint": self.endpoint, "path_param": self.path_param, "field": self.field}
        if self.inherited:
            out["inherited"] = dict(sorted(self.inherited.items()))
        if self.location == "query":
            out["in"] = "query"
        if self.include_from_parent:
            out["include_from_parent"] = list(self.include_from_parent)
        if self.max_pages is not None:
            out["max_pages"] = self.max_pages
        return out


@dataclass
class Column:
    name: str
    type: str  # one of COLUMN_TYPES

    def to_json(self) -> dict:
        return {"name": self.name, "type": self.type}


@dataclass
class Endpoint:
    name: str
    path: str
    method: str = "GET"
    selected: bool = False
    data_selector: str = "$"
    primary_key: list[str] | None = None
    pagination: Pagination = field(default_factory=lambda: Pagination("single_page"))
    incremental_fields: list[IncrementalField] = field(default_factory=list)
    partition_key: str | None = None
    sort_mode: str = "asc"
    parent: Parent | None = None
    why: dict[str, str] = field(default_factory=dict)
    # Additions beyond the original contract
    operation_id: str = ""
    summary: str = ""
    config_params: list[str] = field(default_factory=list)  # path params filled from the config
    params: dict[str, str] = field(default_factory=dict)  # fixed query parameters sent on every request
    columns: list[Column] = field(default_factory=list)
    response_status: str = "200"
    row_format: str = "plain"  # plain | jsonapi (resource objects: attributes lifted to columns)
    headers: dict[str, str] = field(default_factory=dict)  # fixed request headers (required, with a default)
    param_defaults: dict[str, str] = field(default_factory=dict)  # defaults of config-filled path params
    # Another table read from the same operation with its own fixed params (an override's `variants`):
    # the name of the endpoint it varies. In plan JSON it is listed under that endpoint's `variants`.
    variant_of: str | None = None
    query_params: list[str] = field(default_factory=list)  # the operation's query parameters
    # OpenAPI `security` of the operation (else the spec's global one): scheme name ->
    # scopes.
    security: dict[str, list[str]] = field(default_factory=dict)
    # The explicit sort in `params`.
    sort_params: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {
            "name": self.name,
            "path": self.path,
            "method": self.method,
            "selected": self.selected,
            "data_selector": self.data_selector,
            "primary_key": self.primary_key,
            "pagination": self.pagination.to_json(),
            "incremental_fields": [f.to_json() for f in self.incremental_fields],
            "partition_key": self.partition_key,
            "sort_mode": self.sort_mode,
            "parent": self.parent.to_json() if self.parent else None,
            "why": dict(sorted(self.why.items())),
            "operation_id": self.operation_id,
            "summary": self.summary,
            "config_params": list(self.config_params),
            "params": dict(sorted(self.params.items())),
            "columns": [c.to_json() for c in self.columns],
            "row_format": self.row_format,
            "headers": dict(sorted(self.headers.items())),
            "param_defaults": dict(sorted(self.param_defaults.items())),
        }
        if self.variant_of is not None:
            out["variant_of"] = self.variant_of
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
            out.update({"flows": list(self.flows), "scopes": list(self.scopes),
                        "required_scopes": list(self.required_scopes)})
            if self.token_url:
                out["token_url"] = self.token_url
        return out


@dataclass
class SpecInfo:
    title: str
    version: str
    openapi: str
    sha256: str

    def to_json(self) -> dict:
        return {"title": self.title, "version": self.version, "openapi": self.openapi, "sha256": self.sha256}


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
        return {"status": self.status, "unreleased": self.unreleased, "feature_flag": self.feature_flag,
                "docs_url": self.docs_url, "icon": self.icon}


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
        return out
