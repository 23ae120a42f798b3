"""Names and sizes of paging parameters, shared by the pagination rules.

What counts as a limit, cursor, offset or page parameter (by exact snake_case name, never by
a substring: `startYear` is not `start`), the page size to ask for, the first page number, and
the spec-wide Link-header convention (parameters the spec pairs with a `Link` header elsewhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.analysis.schema_utils import FieldInfo, desc, snake
from generator.spec.model import Operation, Param

LIMIT_NAMES = (
    "limit",
    "per_page",
    "page_size",
    "page_limit",
    "max_results",
    "max_items",
    "results_per_page",
    "max_page_size",
    "top",
    "pagesize",
    "perpage",
    "maxresults",
    "max_records",
    "records_per_page",
)
WEAK_LIMIT_NAMES = ("count", "size", "max", "number")
CURSOR_PARAMS = (
    "cursor",
    "page_cursor",
    "page_token",
    "next_page_token",
    "next_token",
    "marker",
    "continuation_token",
    "continuation",
    "starting_after",
    "start_after",
    "after",
    "page_after",
    "start_cursor",
    "next_cursor",
    "pagination_token",
    "skip_token",
    "skiptoken",
    "page",
)
TOKEN_NAMES = (
    "next_cursor",
    "cursor",
    "next_page_token",
    "next_token",
    "next_marker",
    "marker",
    "continuation_token",
    "end_cursor",
    "next_page_cursor",
    "page_token",
    "after",
    "next_page",
    "pagination_token",
    "next_pagination_token",
    "next_continuation_token",
    "next",
)
NEXT_URL_NAMES = (
    "next",
    "next_url",
    "next_page_url",
    "next_page_uri",
    "next_link",
    "nextlink",
    "next_href",
    "odata_next_link",
    "next_page",
)
HAS_MORE_NAMES = (
    "has_more",
    "hasmore",
    "has_next",
    "has_next_page",
    "more",
    "has_more_items",
    "more_results",
)
OFFSET_NAMES = (
    "offset",
    "skip",
    "start",
    "start_index",
    "startindex",
    "first_result",
    "from",
)
PAGE_NAMES = (
    "page",
    "page_number",
    "pagenumber",
    "page_no",
    "page_num",
    "page_index",
    "pageno",
)
TOTAL_NAMES = (
    "total",
    "total_count",
    "totalcount",
    "total_results",
    "items_total",
    "total_items",
    "total_size",
    "count",
)
TOTAL_PAGES_NAMES = (
    "pages",
    "total_pages",
    "totalpages",
    "pages_total",
    "page_count",
    "last_page",
    "num_pages",
)
URL_CONTAINERS = ("links", "_links", "paging", "meta", "pagination", "page_info")


# Parameters that say where in a list a request starts (a size alone does not make a list paged).
POSITION = re.compile(
    r"^(skip|offset|start|start_index|page|page_number|pagenumber|page_no|page_num|page_index|"
    r"page_token|pagetoken|cursor|page_cursor|after|before|starting_after|ending_before|"
    r"start_after|next|next_token|next_cursor|next_page|next_page_token|continuation|"
    r"continuation_token|marker|start_cursor|bookmark|pagination_token|skip_token|"
    r"skiptoken|page_offset|page_after|page_before)$"
)
BACKWARD = ("before", "ending_before", "page_before")


def position_params(params: dict[str, Param]) -> list[Param]:
    """Query parameters (by snake_case name) that move through a list, forward ones first."""
    found = [p for n, p in sorted(params.items()) if POSITION.match(n)]
    return sorted(found, key=lambda p: snake(p.name) in BACKWARD)


LINK_TEXT = re.compile(
    r"\blink\b[^.]{0,40}\bheader\b|\blink header\b|rel=.?next|\bnext\b\W{0,3}\s+link relation",
    re.I,
)


@dataclass
class LinkConvention:
    """(page-or-cursor param, limit param) pairs the spec pairs with a Link header elsewhere."""

    pairs: dict[tuple[str, str], tuple[int, int]]

    def likely(self, page: str, limit: str) -> bool:
        with_link, total = self.pairs.get((page, limit), (0, 0))
        return total >= 3 and with_link * 2 >= total


def link_convention(ops: list[Operation]) -> LinkConvention:
    pairs: dict[tuple[str, str], tuple[int, int]] = {}
    for op in ops:
        names = {snake(p.name): p for p in op.query_params()}
        page = next((names[n] for n in PAGE_NAMES + CURSOR_PARAMS if n in names), None)
        limit = next((names[n] for n in LIMIT_NAMES if n in names), None)
        if page and limit:
            linked = "link" in op.response_headers or any(
                LINK_TEXT.search(desc(p)) for p in names.values()
            )
            w, t = pairs.get((page.name, limit.name), (0, 0))
            pairs[(page.name, limit.name)] = (w + linked, t + 1)
    return LinkConvention(pairs)


def limit_param(params: dict[str, Param]) -> Param | None:
    for name in LIMIT_NAMES:
        if name in params and numeric_param(params[name]):
            return params[name]
    for name in WEAK_LIMIT_NAMES:
        p = params.get(name)
        if (
            p is not None
            and numeric_param(p)
            and re.search(
                r"(per page|number of|how many|results|items|"
                r"page)",
                desc(p),
                re.I,
            )
        ):
            return p
    return None


def numeric_param(p: Param) -> bool:
    """Integer-like: declared so, untyped (`{"minimum": 1}`, an allOf of a shared schema), or a
    string documented as a number (Slack's `page`)."""
    schema = p.schema.value
    t = schema.get("type")
    if t in ("integer", "number") or t is None:
        return True
    return t == "string" and bool(
        re.search(r"\b(number|integer|how many|maximum)\b", desc(p), re.I)
    )


def page_size(p: Param) -> int:
    """The largest page the API allows (declared maximum <= 1000), else its default, else 100."""
    schema = p.schema.value
    maximum = schema.get("maximum")
    if isinstance(maximum, (int, float)) and 0 < maximum <= 1000:
        return int(maximum)
    described = described_max(desc(p))
    if described is not None and 0 < described <= 1000:
        return described
    default = schema.get("default")
    if isinstance(default, int) and default > 0:
        return default
    if isinstance(default, str) and default.isdigit() and int(default) > 0:
        return int(default)
    return 100


_MAX_PATTERNS = (
    r"\bmax(?:imum)?(?:\s+(?:value|page size|limit|number))?\s*(?:is|of|:|=)?\s*`?(\d[\d,]*)",
    r"between\s+\d+\s+and\s+(\d[\d,]*)",
    r"up to\s+`?(\d[\d,]*)",
    r"no (?:larger|greater|more) than\s+`?(\d[\d,]*)",
    r"cannot exceed\s+`?(\d[\d,]*)",
    r"(\d[\d,]*)\s*(?:\(max(?:imum)?\)|max\b)",
    r"less than or equal to\s+`?(\d[\d,]*)",
)


def described_max(text: str) -> int | None:
    for pattern in _MAX_PATTERNS:
        m = re.search(pattern, text, re.I)
        if m:
            try:
                return int(m.group(1).replace(",", ""))
            except ValueError:
                continue
    return None


def last(path: str) -> str:
    return snake(path.rsplit(".", 1)[-1])


def parent(path: str) -> str:
    return snake(path.rsplit(".", 1)[0]) if "." in path else ""


def base_page(p: Param) -> int:
    schema = p.schema.value
    for key in ("minimum", "default"):
        value = schema.get(key)
        if value in (0, 1):
            return int(value)
    text = desc(p).lower()
    if re.search(
        r"(0-based|zero-based|zero based|starts? (at|from|with) 0|first page is 0|index)",
        text,
    ):
        return 0
    return 1


def find_total(body: dict[str, FieldInfo], names: tuple[str, ...]) -> str | None:
    hits = [
        path
        for path, info in body.items()
        if last(path) in names and info.types & {"integer", "number"}
    ]
    if not hits:
        return None
    return sorted(hits, key=lambda p: (names.index(last(p)), p.count("."), p))[0]
