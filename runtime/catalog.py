"""The typed endpoint catalog that a generated `settings.py` fills in and the plan holds.

One `EndpointConfig` per table: where to read it, how to page it, how to sync it
incrementally, how to partition it and whose rows it fans out from. Pagination is one
frozen class per type (in the style of dlt's paginator configs); each class's `type` is
the plan's `pagination.type` and its fields are the parameters that type needs.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar


class CatalogError(ValueError):
    """A catalog entry that cannot work (an unknown pagination type, a missing parameter)."""


@dataclass(frozen=True)
class _PaginationBase:
    type: ClassVar[str]
    _required: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        missing = [name for name in self._required if not getattr(self, name)]
        if missing:
            raise CatalogError(f"pagination {self.type}: missing {', '.join(missing)}")

    def settings(self) -> dict[str, Any]:
        """The parameters that are set (not None), by name."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None
        }


@dataclass(frozen=True)
class CursorPagination(_PaginationBase):
    """A token or the last row's id from the body (`cursor_path`, e.g. `next_cursor` or
    `data[-1].id`) goes back as `cursor_param`; `has_more_path` says when to stop."""

    type: ClassVar[str] = "cursor"
    _required: ClassVar[tuple[str, ...]] = ("cursor_param", "cursor_path")

    cursor_param: str
    cursor_path: str
    has_more_path: str | None = None
    limit_param: str | None = None
    page_size: int | None = None


@dataclass(frozen=True)
class NextUrlPagination(_PaginationBase):
    """A full or relative URL to the next page in the body, at `next_url_path`."""

    type: ClassVar[str] = "next_url"
    _required: ClassVar[tuple[str, ...]] = ("next_url_path",)

    next_url_path: str
    limit_param: str | None = None
    page_size: int | None = None


@dataclass(frozen=True)
class LinkHeaderPagination(_PaginationBase):
    """RFC 8288 `Link: <...>; rel="next"`."""

    type: ClassVar[str] = "link_header"

    limit_param: str | None = None
    page_size: int | None = None


@dataclass(frozen=True)
class OffsetPagination(_PaginationBase):
    """`offset_param` counts rows read so far; `total_path` (optional) is the row total."""

    type: ClassVar[str] = "offset"
    _required: ClassVar[tuple[str, ...]] = ("offset_param",)

    offset_param: str
    limit_param: str | None = None
    page_size: int | None = None
    total_path: str | None = None


@dataclass(frozen=True)
class PageNumberPagination(_PaginationBase):
    """`page_param` counts pages from `base_page` (0 or 1)."""

    type: ClassVar[str] = "page_number"
    _required: ClassVar[tuple[str, ...]] = ("page_param",)

    page_param: str
    base_page: int = 1
    limit_param: str | None = None
    page_size: int | None = None
    total_pages_path: str | None = None
    total_path: str | None = None


@dataclass(frozen=True)
class SinglePage(_PaginationBase):
    """One request; no paging."""

    type: ClassVar[str] = "single_page"


Pagination = (
    CursorPagination
    | NextUrlPagination
    | LinkHeaderPagination
    | OffsetPagination
    | PageNumberPagination
    | SinglePage
)
PAGINATION_CLASSES: dict[str, type[_PaginationBase]] = {
    cls.type: cls
    for cls in (
        CursorPagination,
        NextUrlPagination,
        LinkHeaderPagination,
        OffsetPagination,
        PageNumberPagination,
        SinglePage,
    )
}
PAGINATION_TYPES = tuple(PAGINATION_CLASSES)


def pagination_from_dict(value: dict) -> Pagination:
    """`{"type": "cursor", "cursor_param": ..., ...}` (the plan JSON's shape) as its class.
    Raises `CatalogError` naming an unknown type, an unknown key or a missing one."""
    kind = value.get("type")
    cls = PAGINATION_CLASSES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise CatalogError(f"unknown pagination type {kind!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - known - {"type"})
    if unknown:
        raise CatalogError(
            f"pagination {kind}: unknown {', '.join(unknown)}"
            f" (known: {', '.join(sorted(known)) or 'none'})"
        )
    missing = [name for name in cls._required if not value.get(name)]
    if missing:
        raise CatalogError(f"pagination {kind}: missing {', '.join(missing)}")
    return cls(**{k: v for k, v in value.items() if k != "type"})


class IncrementalFieldType(str, Enum):
    INTEGER = "integer"
    NUMERIC = "numeric"
    DATETIME = "datetime"
    DATE = "date"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class IncrementalField:
    """A field the API filters on server-side: `filter_param` takes the last value (newer
    rows); `before_param` the earliest (older rows, for newest-first APIs); with
    `filter_expression` (a template with `{value}`) the value goes inside `filter_param`.
    A source's schemas list these same objects (`SourceSchema.incremental_fields`)."""

    field: str
    type: str  # an IncrementalFieldType value
    filter_param: str
    before_param: str | None = None
    filter_expression: str | None = None
    label: str | None = None  # what a UI shows; the field's name when None

    @property
    def field_type(self) -> IncrementalFieldType:
        return IncrementalFieldType(self.type)

    def source_json(self) -> dict:
        """The source interface's description of the field (`SourceSchema.to_json`)."""
        return {
            "label": self.label or self.field,
            "type": self.field_type.value,
            "field": self.field,
            "field_type": self.field_type.value,
        }


@dataclass(frozen=True)
class ParentConfig:
    """Fan-out: `path_param` of this endpoint is filled from each `endpoint` row's `field`.
    `inherited`: other path parameters taken from the parent row's own parent columns
    (`{"a_id": "_a_id"}` for /a/{a_id}/b/{b_id}/c), so grandchildren resolve every one."""

    endpoint: str
    path_param: str  # the child's parameter each parent row fills
    field: str  # the parent row's field that fills it
    inherited: dict[str, str] = field(default_factory=dict)
    location: str | None = None  # "query": path_param is a query parameter (None: path)
    # More parent fields copied into child rows.
    include_from_parent: tuple[str, ...] = ()
    max_pages: int | None = None  # cap on the parent's pages read for the fan-out


# Column types: these names, `decimal(P,S)` (0 <= S <= P <= 38) and `list<scalar>`.
SCALAR_COLUMN_TYPES = (
    "string",
    "json",
    "int64",
    "float64",
    "bool",
    "timestamp",
    "date",
)
DECIMAL_TYPE = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
LIST_TYPE = re.compile(r"^list<(string|int64|float64|bool|timestamp|date)>$")


def is_column_type(name: str) -> bool:
    """Whether `name` is a column type a table can hold (checked without pyarrow, so
    generation does not import it)."""
    if name in SCALAR_COLUMN_TYPES or LIST_TYPE.match(name):
        return True
    m = DECIMAL_TYPE.match(name)
    return bool(m) and 0 <= int(m[2]) <= int(m[1]) <= 38


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
    pagination: Pagination = SinglePage()
    incremental_fields: tuple[IncrementalField, ...] = ()
    partition_key: str | None = None
    partition_format: str = "week"  # week | month (timestamp keys: week)
    sort_mode: str = "asc"
    parent: ParentConfig | None = None
    config_params: tuple[str, ...] = ()  # path parameters filled from the source config
    params: dict = field(default_factory=dict)  # fixed query parameters
    columns: tuple[Column, ...] = ()
    selected: bool = True  # False: in the catalog only as another endpoint's parent
    row_format: str = (
        "plain"  # jsonapi: resource objects, `attributes` lifted into the row
    )
    headers: dict = field(default_factory=dict)  # fixed request headers
    # A reader setting, not a pagination one: stop after this many pages (recording and
    # replay cap cassettes with it; a parent's cap applies to each read of that parent).
    max_pages: int | None = None

    @property
    def page_size(self) -> int | None:
        return getattr(self.pagination, "page_size", None)

    @property
    def supports_incremental(self) -> bool:
        return bool(self.incremental_fields)

    def incremental_field(self, name: str | None) -> IncrementalField | None:
        for f in self.incremental_fields:
            if name is None or f.field == name:
                return f
        return None
