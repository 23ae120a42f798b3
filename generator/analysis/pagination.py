"""How to read every page of a list: from query parameters, response properties and headers
together, never from a parameter name alone.

Rules, first match wins:
- `cursor_token_in_body`: the body carries a next-page token (`next_cursor`,
  `meta.next_cursor`, `response_metadata.next_cursor`, `next_marker`, `nextPageToken`,
  `cursors.after`) and a query parameter takes it back (`cursor`, `marker`, `pageToken`, ...),
  also when the parameter's description names the token the body does not declare.
- `time_bound_cursor`: the body's next-page value is a number (`pagination.next`, a
  timestamp) and one query parameter is an upper time bound (`until`, "before this
  timestamp"): the value goes back as that bound.
- `next_url_in_body`: a URL to the next page (`next`, `links.next`, `next_page_uri`,
  `paging.next`, `_links.next.href`, `meta.next_page_url`).
- `cursor_from_last_item_id`: a parameter documented as taking an object ID
  (`starting_after`, `after`) plus a `has_more` flag or a `last_id` in the body.
- `link_header`: a declared `Link` response header, parameters whose description points at
  the Link header, or page/per_page parameters the rest of the spec pairs with a Link header.
- `link_header` also when the operation's description points at the Link header.
- `paging_headers`: a page or offset parameter with a response header that counts pages or
  rows (`X-Next-Page`, `X-Total-Pages`, `X-Total-Count`).
- `offset_limit`: an integer `offset`/`skip`/`start` parameter and a limit parameter.
- `page_number`: a `page`/`pageNumber` parameter (0- or 1-based from its minimum, default or
  description); `page_size` alone is not enough.
- `stated_by_extension` (before all the above): a vendor extension states the paging
  (`x-pagination`, `x-ms-pageable`, `x-speakeasy-pagination`, `x-fern-pagination`).
- `position_param_guess`: no complete pattern, but the list takes a position parameter (offset,
  page, cursor, after, page token, bookmark, ...): the most likely paginator for that kind of
  parameter, with low confidence (the plan says so, and the runtime checks responses for
  signs of more data it is not following): an integer offset -> `offset`; a page -> `page_number`;
  a token the body returns -> `cursor`; an id-taking `after` -> the last row's id; a token
  that nothing in the body returns -> `link_header` (the next link carries it).
- otherwise `single_page`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from generator.analysis.paging_params import (
    CURSOR_PARAMS,
    HAS_MORE_NAMES,
    LIMIT_NAMES,
    LINK_TEXT,
    NEXT_URL_NAMES,
    OFFSET_NAMES,
    PAGE_NAMES,
    TOKEN_NAMES,
    TOTAL_NAMES,
    TOTAL_PAGES_NAMES,
    URL_CONTAINERS,
    LinkConvention,
    base_page,
    find_total,
    position_params,
    last,
    limit_param,
    link_convention,
    numeric_param,
    page_size,
    parent,
)
from generator.analysis.extensions import Stated
from generator.analysis.rows import Rows
from generator.analysis.schema_utils import FieldInfo, Schemas, desc, snake
from generator.spec.model import Operation, Param
from runtime.catalog import (
    CursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
    Pagination,
    SinglePage,
    pagination_from_dict,
)

__all__ = ["Decision", "base_page", "decide", "link_convention", "page_size"]


@dataclass
class Decision:
    pagination: Pagination
    why: str
    warning: str | None = None
    fixed: dict[str, str] = field(
        default_factory=dict
    )  # query params the paginator needs set
    confidence: str | None = None  # "low": a guess from a position parameter alone


def decide(
    schemas: Schemas,
    op: Operation,
    rows: Rows,
    body: dict[str, FieldInfo],
    convention: LinkConvention,
    stated: Stated | None = None,
) -> Decision:
    if not rows.is_list:
        return Decision(SinglePage(), "single object: nothing to page")
    params = {snake(p.name): p for p in op.query_params()}
    limit = limit_param(params)
    if stated is not None and stated.pagination is not None:
        pag = stated.pagination
        if isinstance(pag, PageNumberPagination) and snake(pag.page_param) in params:
            pag = dataclasses.replace(
                pag, base_page=base_page(params[snake(pag.page_param)])
            )
        limit_name = getattr(pag, "limit_param", None)
        stated_limit = params.get(snake(limit_name)) if limit_name else None
        if stated_limit is not None and pag.page_size is None:
            pag = dataclasses.replace(pag, page_size=page_size(stated_limit))
        return Decision(pag, f"{stated.why} states {pag.type} paging")
    rules = (
        _cursor_token_in_body,
        _time_bound_cursor,
        _next_url_in_body,
        _cursor_from_last_item_id,
        _link_header,
        _paging_headers,
        _offset_limit,
        _page_number,
    )
    for rule in rules:
        found = rule(op, rows, body, params, limit, convention)
        if found is not None:
            return _finish(params, limit, *found)
    guess = _position_param_guess(op, rows, body, params, limit)
    if guess is not None:
        decision = _finish(params, limit, *guess)
        decision.confidence = "low"
        return decision
    hints = _hints(params, body)
    if hints:
        return Decision(
            SinglePage(),
            "no complete paging pattern; reading one page",
            warning=f"pagination undecidable ({', '.join(hints)}): reading a single page",
        )
    return Decision(SinglePage(), "no paging parameters or paging properties: one page")


def _finish(
    params: dict[str, Param], limit: Param | None, pag: Pagination, why: str
) -> Decision:
    if limit is not None and not isinstance(pag, SinglePage):
        pag = dataclasses.replace(
            pag,
            limit_param=pag.limit_param or limit.name,
            page_size=pag.page_size or page_size(limit),
        )
    switch = _mode_switch(params, pag)
    if switch:
        why += f"; sends {switch[0]}={switch[1]} to turn this paging on"
    return Decision(pag, why, fixed=dict([switch]) if switch else {})


# ---- helpers ------------------------------------------------------------------------------


def _is_urlish(path: str, info: FieldInfo) -> bool:
    fmt = info.format.lower()
    if fmt in ("uri", "url", "uri-reference", "iri"):
        return True
    name = last(path)
    if any(w in name for w in ("url", "uri", "link", "href")):
        return True
    if parent(path) in ("links", "_links", "paging") and name in ("next", "next_page"):
        return True
    return bool(re.search(r"\b(url|uri|link|href)\b", info.description, re.I))


def _strip_next(name: str) -> str:
    for prefix in ("next_", "end_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _strip_page(name: str) -> str:
    return name[5:] if name.startswith("page_") and name != "page_token" else name


def _mode_switch(params: dict[str, Param], pag: Pagination) -> tuple[str, str] | None:
    """A boolean parameter that switches the chosen paging style on (`usemarker=true`)."""
    chosen = (
        getattr(pag, "cursor_param", None)
        or getattr(pag, "offset_param", None)
        or getattr(pag, "page_param", None)
    )
    if not chosen:
        return None
    word = _strip_page(snake(chosen))
    for name, p in sorted(params.items()):
        if (
            p.schema.value.get("type") == "boolean"
            and name.startswith("use")
            and word in name
            and p.schema.value.get("default") is not True
        ):
            return p.name, "true"
    return None


# ---- rules --------------------------------------------------------------------------------


def _cursor_token_in_body(op, rows, body, params, limit, convention):
    body_names = {last(path) for path in body}
    cursor_params = [params[n] for n in CURSOR_PARAMS if n in params]
    cursor_params += [
        p
        for n, p in sorted(params.items())
        if f"next_{n}" in body_names and p not in cursor_params
    ]
    if not cursor_params:
        return None
    paired = {f"next_{snake(p.name)}" for p in cursor_params}
    tokens = [
        (path, info)
        for path, info in body.items()
        if (last(path) in TOKEN_NAMES or last(path) in paired)
        and (not info.types or "string" in info.types)
        and not info.types & {"object", "array", "boolean"}
        and not _is_urlish(path, info)
    ]
    for p in cursor_params:
        pn = snake(p.name)
        for path, _info in tokens:
            bn = last(path)
            in_cursors = parent(path).endswith("cursors") and bn in ("after", "next")
            if (
                bn == pn
                or _strip_next(bn) == pn
                or _strip_next(bn) == _strip_page(pn)
                or bn == "next_" + pn
                or (bn in ("next_cursor", "cursor") and _strip_page(pn) == "cursor")
                or (in_cursors and _strip_page(pn) in ("cursor", "after"))
            ):
                return (
                    CursorPagination(cursor_param=p.name, cursor_path=path),
                    f"cursor_token_in_body: response '{path}' goes back as param '{p.name}'",
                )
        described = _token_from_description(p, body)
        if described:
            return (
                CursorPagination(cursor_param=p.name, cursor_path=described),
                f"cursor_token_in_body: param '{p.name}' takes '{described}' (per its description)",
            )
    if len(cursor_params) == 1 and len(tokens) == 1:
        p, path = cursor_params[0], tokens[0][0]
        return (
            CursorPagination(cursor_param=p.name, cursor_path=path),
            f"cursor_token_in_body: the one token in the response ('{path}') goes back as the one cursor "
            f"param '{p.name}'",
        )
    return None


def _token_from_description(p: Param, body: dict[str, FieldInfo]) -> str | None:
    if LINK_TEXT.search(desc(p)):
        return None  # "the `next` link relation" names a Link header, not a body token
    words = re.findall(r"`([A-Za-z_][\w.]*)`", desc(p))
    token = next(
        (
            w
            for w in words
            if snake(w.rsplit(".", 1)[-1]) in TOKEN_NAMES and snake(w) != snake(p.name)
        ),
        None,
    )
    if token is None:
        return None
    if "." in token:
        return token
    declared = [path for path in body if path.rsplit(".", 1)[-1] == token]
    if declared:
        return sorted(declared, key=len)[0]
    container = next(
        (
            w
            for w in words
            if w != token
            and snake(w)
            in (
                "response_metadata",
                "meta",
                "metadata",
                "paging",
                "pagination",
                "page_info",
                "result_info",
            )
        ),
        None,
    )
    return f"{container}.{token}" if container else token


_UPPER_BOUND = ("until", "before", "to", "end", "max_time", "older_than")
_TIME_TEXT = re.compile(r"\b(timestamp|date|time|milliseconds|epoch)\b", re.I)


def _time_bound_cursor(op, rows, body, params, limit, convention):
    nexts = [
        path
        for path, info in body.items()
        if last(path) in ("next", "next_timestamp", "next_page")
        and info.types
        and info.types <= {"integer", "number"}
    ]
    if not nexts:
        return None
    path = sorted(nexts, key=lambda x: (x.count("."), x))[0]
    for name in _UPPER_BOUND:
        p = params.get(name)
        if p is not None and _TIME_TEXT.search(desc(p)):
            return (
                pagination_from_dict(
                    {"type": "cursor", "cursor_param": p.name, "cursor_path": path}
                ),
                f"time_bound_cursor: response '{path}' (a time) goes back as upper bound '{p.name}'",
            )
    return None


def _next_url_in_body(op, rows, body, params, limit, convention):
    found: list[str] = []
    for path, info in body.items():
        name = last(path)
        if "string" not in info.types or info.types & {"object", "array"}:
            if (
                name == "next"
                and parent(path) in URL_CONTAINERS
                and f"{path}.href" in body
            ):
                found.append(f"{path}.href")
            continue
        if name == "href" and "." in path and snake(path.split(".")[-2]) == "next":
            found.append(path)
        elif name in NEXT_URL_NAMES and _is_urlish(path, info):
            found.append(path)
        elif name == "next" and not params.keys() & set(CURSOR_PARAMS):
            found.append(path)
    if not found:
        return None
    best = sorted(set(found), key=lambda p: (p.count("."), p))[0]
    return (
        NextUrlPagination(next_url_path=best),
        f"next_url_in_body: response '{best}' holds the next page's URL",
    )


def _cursor_from_last_item_id(op, rows, body, params, limit, convention):
    for name in (
        "starting_after",
        "after",
        "start_after",
        "after_id",
        "starting_after_id",
    ):
        p = params.get(name)
        if p is None or "array" in (p.schema.value.get("type") or ""):
            continue
        text = desc(p).lower()
        has_more = next(
            (
                path
                for path, info in body.items()
                if last(path) in HAS_MORE_NAMES and "boolean" in info.types
            ),
            None,
        )
        last_id = next(
            (path for path in body if last(path) in ("last_id", "last_item_id")), None
        )
        idish = (
            bool(re.search(r"\b(id|identifier|object)\b", text)) or "id" in rows.fields
        )
        if not idish or (has_more is None and last_id is None):
            continue
        if last_id is not None:
            cursor_path = last_id
        else:
            key = "id" if "id" in rows.fields else None
            if key is None:
                continue
            cursor_path = (
                ("" if rows.selector == "$" else rows.selector) + "[-1]." + key
            )
        out = CursorPagination(
            cursor_param=p.name, cursor_path=cursor_path, has_more_path=has_more
        )
        why = f"cursor_from_last_item_id: param '{p.name}' takes the last row's id"
        why += f"; response '{has_more}' says when to stop" if has_more else ""
        return out, why
    return None


def _link_header(op, rows, body, params, limit, convention):
    if "link" in op.response_headers:
        return (
            LinkHeaderPagination(),
            "link_header: the response declares a Link header",
        )
    for p in params.values():
        if LINK_TEXT.search(desc(p)):
            return (
                LinkHeaderPagination(),
                f"link_header: param '{p.name}' is described as read from the Link header",
            )
    if position_params(params) and LINK_TEXT.search(op.description):
        return (
            LinkHeaderPagination(),
            "link_header: the operation's description points at the Link header",
        )
    if limit is None:
        return None
    for page in [params[n] for n in PAGE_NAMES + CURSOR_PARAMS if n in params]:
        if convention.likely(page.name, limit.name):
            return (
                LinkHeaderPagination(),
                f"link_header: '{page.name}' + '{limit.name}' come with a Link header elsewhere in this spec",
            )
    return None


_TOTAL_HEADERS = (
    "x-total-count",
    "x-total",
    "total-count",
    "x-total-results",
    "x-result-count",
)
_PAGE_HEADERS = ("x-next-page", "x-total-pages", "x-page-count", "x-pages", "x-page")


def _paging_headers(op, rows, body, params, limit, convention):
    """`paging_headers`: response headers that count pages or rows (`X-Next-Page`,
    `X-Total-Pages`, `X-Total-Count`) beside a page or offset parameter."""
    headers = set(op.response_headers)
    page = next(
        (params[n] for n in PAGE_NAMES if n in params and numeric_param(params[n])),
        None,
    )
    stated = sorted(headers & set(_PAGE_HEADERS))
    if page is not None and stated:
        return (
            pagination_from_dict(
                {
                    "type": "page_number",
                    "page_param": page.name,
                    "base_page": base_page(page),
                }
            ),
            f"paging_headers: param '{page.name}' with response header '{stated[0]}'",
        )
    offset = next(
        (
            params[n]
            for n in OFFSET_NAMES
            if n in params and numeric_param(params[n]) and n != "from"
        ),
        None,
    )
    counted = sorted(headers & set(_TOTAL_HEADERS))
    if offset is not None and counted:
        return (
            pagination_from_dict({"type": "offset", "offset_param": offset.name}),
            f"paging_headers: param '{offset.name}' with response header '{counted[0]}'",
        )
    if page is not None and counted:
        return (
            pagination_from_dict(
                {
                    "type": "page_number",
                    "page_param": page.name,
                    "base_page": base_page(page),
                }
            ),
            f"paging_headers: param '{page.name}' with response header '{counted[0]}'",
        )
    return None


def _offset_limit(op, rows, body, params, limit, convention):
    if limit is None:
        return None
    for name in OFFSET_NAMES:
        p = params.get(name)
        if p is None or p is limit or not numeric_param(p):
            continue
        if name == "from" and not re.search(
            r"\b(offset|index|skip|position)\b", desc(p), re.I
        ):
            continue
        out = OffsetPagination(
            offset_param=p.name, total_path=find_total(body, TOTAL_NAMES) or None
        )
        return out, f"offset_limit: params '{p.name}' + '{limit.name}'"
    return None


def _page_number(op, rows, body, params, limit, convention):
    page = next((params[n] for n in PAGE_NAMES if n in params), None)
    if page is None:
        return None
    total_pages = find_total(body, TOTAL_PAGES_NAMES)
    if (
        not numeric_param(page)
        and not total_pages
        and not re.search(r"\bpage\b", desc(page), re.I)
    ):
        return None
    base = base_page(page)
    out = PageNumberPagination(
        page_param=page.name, base_page=base, total_pages_path=total_pages or None
    )
    why = f"page_number: param '{page.name}' starting at {base}"
    if limit is not None:
        why += f", size '{limit.name}'"
    return out, why


_OFFSET_WORDS = ("skip", "offset", "start", "start_index", "page_offset")
_PAGE_WORDS = ("page", "page_number", "pagenumber", "page_no", "page_num", "page_index")
_AFTER_WORDS = ("after", "starting_after", "start_after", "page_after")
_ROW_KEYS = ("id", "uuid", "key", "gid", "sid", "name")
_PAGING_TEXT = re.compile(r"\b(paginat\w*|paging|next page|cursor|token)\b", re.I)
_AFTER_ID_TEXT = re.compile(r"\bafter\b.{0,40}\b(id|identifier)\b", re.I)


def _position_param_guess(op, rows, body, params, limit):
    """The most likely paginator for a list that takes a position parameter but shows no
    complete pattern (low confidence; the reason names the parameter and what is missing)."""
    found = [
        p
        for p in position_params(params)
        if snake(p.name) not in _OFFSET_WORDS
        or numeric_param(p)
        or _PAGING_TEXT.search(desc(p))
    ]
    if not found:
        return None
    p = found[0]
    name = snake(p.name)
    if (
        name in _OFFSET_WORDS + _PAGE_WORDS
        and not numeric_param(p)
        and _AFTER_ID_TEXT.search(desc(p))
    ):
        name = "after"  # "results after the provided id": a last-row cursor under another name
    prefix = "position_param_guess: "
    if name in _OFFSET_WORDS and numeric_param(p):
        return (
            pagination_from_dict({"type": "offset", "offset_param": p.name}),
            f"{prefix}integer '{p.name}' read as a row offset; no total or next field declared",
        )
    if name in _PAGE_WORDS and (numeric_param(p) or "page" in desc(p).lower()):
        return (
            pagination_from_dict(
                {"type": "page_number", "page_param": p.name, "base_page": base_page(p)}
            ),
            f"{prefix}'{p.name}' read as a page number; no page count or next field declared",
        )
    tokens = [
        path
        for path, info in sorted(body.items(), key=lambda kv: (kv[0].count("."), kv[0]))
        if "string" in info.types
        and not info.types & {"object", "array", "boolean"}
        and (
            re.search(
                r"(cursor|token|marker|bookmark|continuation|next|after)", last(path)
            )
            or last(path) == name
        )
        and not _is_urlish(path, info)
    ]
    if tokens:
        return (
            pagination_from_dict(
                {"type": "cursor", "cursor_param": p.name, "cursor_path": tokens[0]}
            ),
            f"{prefix}'{p.name}' takes back response '{tokens[0]}' (the one token-like field)",
        )
    key = next((f for k in _ROW_KEYS for f in rows.fields if f.lower() == k), None)
    if name in _AFTER_WORDS and key is not None:
        path = ("" if rows.selector == "$" else rows.selector) + "[-1]." + key
        return (
            pagination_from_dict(
                {"type": "cursor", "cursor_param": p.name, "cursor_path": path}
            ),
            f"{prefix}'{p.name}' read as taking the last row's '{key}'; no has-more flag declared",
        )
    return (
        LinkHeaderPagination(),
        f"{prefix}nothing in the body returns '{p.name}', so the next page's link (a Link "
        "header) is the likely carrier",
    )


def _hints(params: dict[str, Param], body: dict[str, FieldInfo]) -> list[str]:
    """Signs of paging we could not use. A lone limit is a top-N size, not a sign of pages."""
    moving = [
        f"param '{p.name}'"
        for n, p in sorted(params.items())
        if n in CURSOR_PARAMS + OFFSET_NAMES + PAGE_NAMES + ("next_cursor",)
        and n not in ("from", "start")
    ]
    moving += [
        f"response '{path}'"
        for path in sorted(body)
        if last(path)
        in HAS_MORE_NAMES + NEXT_URL_NAMES + ("next_cursor", "next_page_token")
    ]
    if not moving:
        return []
    sizes = [f"param '{p.name}'" for n, p in sorted(params.items()) if n in LIMIT_NAMES]
    return (moving + sizes)[:4]
