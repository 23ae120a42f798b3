"""The declarative endpoint catalog that a generated `settings.py` fills in.

One `EndpointConfig` per table: where to read it, how to page it, how to sync it
incrementally, how to partition it and whose rows it fans out from.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pagination:
    """`type` is cursor | next_url | link_header | offset | page_number | single_page.
    `params` holds what that type needs (see runtime/read/paginators.py)."""

    type: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class IncrementalFieldConfig:
    field: str
    type: str  # integer | numeric | datetime | date | timestamp
    filter_param: str  # query parameter that takes the last value (newer rows)
    before_param: str | None = None  # takes the earliest value (older rows), for newest-first APIs
    filter_expression: str | None = None  # template with {value}, sent inside filter_param


@dataclass(frozen=True)
class ParentConfig:
    endpoint: str
    path_param: str  # the child's parameter each parent row fills
    field: str  # the parent row's field that fills it
    inherited: dict = field(default_factory=dict)
    location: str | None = None  # "query": path_param is a query parameter (None: path)
    # More parent fields copied into child rows.
    include_from_parent: tuple[str, ...] = ()
    max_pages: int | None = None  # cap on the parent's pages read for the fan-out


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string | int64 | float64 | bool | json


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    path: str
    data_selector: str = "$"
    primary_key: tuple[str, ...] | None = None
    pagination: Pagination = Pagination("single_page")
    page_size: int | None = None
    incremental_fields: tuple[IncrementalFieldConfig, ...] = ()
    partition_key: str | None = None
    partition_format: str = "month"  # week | month
    sort_mode: str = "asc"
    parent: ParentConfig | None = None
    config_params: tuple[str, ...] = ()  # path parameters filled from the source config
    params: dict = field(default_factory=dict)  # fixed query parameters
    columns: tuple[Column, ...] = ()
    selected: bool = True  # False: in the catalog only as another endpoint's parent
    row_format: str = "plain"  # jsonapi: resource objects, `attributes` lifted into the row
    headers: dict = field(default_factory=dict)  # fixed request headers

    @property
    def supports_incremental(self) -> bool:
        return bool(self.incremental_fields)

    def incremental_field(self, name: str | None) -> IncrementalFieldConfig | None:
        for f in self.incremental_fields:
            if name is None or f.field == name:
                return f
        return None
