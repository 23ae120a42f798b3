"""How to read every page of a list: from query parameters, response properties and headers
together, never from a parameter name alone.

Rules, first match wins:
- `cursor_token_in_body`: the body carries a next-page token (`next_cursor`,
  `meta.next_cursor`, `response_metadata.next_cursor`, `next_marker`, `nextPageToken`,
  `cursors.after`) and a query parameter takes it back (`cursor`, `marker`, `pageToken`, ...),
  also when the parameter's description names the token the body does not declare.
- `next_url_in_body`: a URL to the next page (`next`, `links.next`, `next_page_uri`,
  `paging.next`, `_links.next.href`, `meta.next_page_url`).
- `cursor_from_last_item_id`: a parameter documented as taking an object ID
  (`starting_after`, `after`) plus a `has_more` flag or a `last_id` in the body.
- `link_header`: a declared `Link` response header, parameters whose description points at
  the Link header, or page/per_page parameters the rest of the spec pairs with a Link header.
- `offset_limit`: an integer `offset`/`skip`/`start` parameter and a limit parameter.
- `page_number`: a `page`/`pageNumber` parameter (0- or 1-based from its minimum, default or
  description); `page_size` alone is not enough.
- otherwise `single_page`, with a warning when the endpoint shows paging hints we could not
  turn into a paginator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.analysis.rows import Rows
from generator.analysis.schema_utils import FieldInfo, Schemas, desc, snake
from generator.plan import Pagination
from generator.spec.model import Operation, Param

LIMIT_NAMES = ("limit", "per_page", "page_size", "page_limit", "max_results", "max_items", "results_per_page",
               "max_page_size", "top", "pagesize", "perpage", "maxresults", "max_records", "records_per_page")
WEAK_LIMIT_NAMES = ("count", "size", "max", "number")
CURSOR_PARAMS = ("cursor", "page_cursor", "page_token", "next_page_token", "next_token", "marker",
                 "continuation_token", "continuation", "starting_after", "start_after", "after", "page_after",
                 "start_cursor", "next_cursor", "pagination_token", "skip_token", "skiptoken", "page")
TOKEN_NAMES = ("next_cursor", "cursor", "next_page_token", "next_token", "next_marker", "marker",
               "continuation_token", "end_cursor", "next_page_cursor", "page_token", "after", "next_page",
               "pagination_token", "next_pagination_token", "next_continuation_token", "next")
NEXT_URL_NAMES = ("next", "next_url", "next_page_url", "next_page_uri", "next_link", "nextlink", "next_href",
                  "odata_next_link", "next_page")
HAS_MORE_NAMES = ("has_more", "hasmore", "has_next", "has_next_page", "more", "has_more_items", "more_results")
OFFSET_NAMES = ("offset", "skip", "start", "start_index", "startindex", "first_result", "from")
PAGE_NAMES = ("page", "page_number", "pagenumber", "page_no", "page_num", "page_index", "pageno")
TOTAL_NAMES = ("total", "total_count", "totalcount", "total_results", "items_total", "total_items",
               "total_size", "count")
TOTAL_PAGES_NAMES = ("pages", "total_pages", "totalpages", "pages_total", "page_count", "last_page", "num_pages")
URL_CONTAINERS = ("links", "_links", "paging", "meta", "pagination", "page_info")


LINK_TEXT = re.compile(r"\blink\b[^.]{0,40}\bheader\b|\blink header\b|rel=.?next|\bnext\b\W{0,3}\s+link relation",
                       re.I)


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
            linked = "link" in op.response_headers or any(LINK_TEXT.search(desc(p)) for p in names.values())
            w, t = pairs.get((page.name, limit.name), (0, 0))
            pairs[(page.name, limit.name)] = (w + linked, t + 1)
    return LinkConvention(pairs)


@dataclass
class Decision:
    pagination: Pagination
    why: str
    warning: str | None = None
    fixed: dict[str, str] = field(default_factory=dict)  # query params the paginator needs set


def decide(schemas: Schemas, op: Operation, rows: Rows, body: dict[str, FieldInfo],
           convention: LinkConvention) -> Decision:
    if not rows.is_list:
        return Decision(Pagination("single_page"), "single object: nothing to page")
    params = {snake(p.name): p for p in op.query_params()}
    limit = _limit_param(params)
    for rule in (_cursor_token_in_body, _next_url_in_body, _cursor_from_last_item_id, _link_header,
                 _offset_limit, _page_number):
        found = rule(op, rows, body, params, limit, convention)
        if found is not None:
            pag, why = found
            if limit is not None and pag.type != "single_page":
                pag.params.setdefault("limit_param", limit.name)
                pag.params.setdefault("page_size", page_size(limit))
            switch = _mode_switch(params, pag)
            if switch:
                why += f"; sends {switch[0]}={switch[1]} to turn this paging on"
            return Decision(pag, why, fixed=dict([switch]) if switch else {})
    hints = _hints(params, body)
    if hints:
        return Decision(Pagination("single_page"), "no complete paging pattern; reading one page",
                        warning=f"pagination undecidable ({', '.join(hints)}): reading a single page")
    return Decision(Pagination("single_page"), "no paging parameters or paging properties: one page")


# ---- helpers ------------------------------------------------------------------------------

def _limit_param(params: dict[str, Param]) -> Param | None:
    for name in LIMIT_NAMES:
        if name in params and _numeric_param(params[name]):
            return params[name]
    for name in WEAK_LIMIT_NAMES:
        p = params.get(name)
        if p is not None and _numeric_param(p) and re.search(r"(per page|number of|how many|results|items|"
                                                             r"page)", desc(p), re.I):
            return p
    return None


def _numeric_param(p: Param) -> bool:
    """Integer-like: declared so, untyped (`{"minimum": 1}`, an allOf of a shared schema), or a
    string documented as a number (Slack's `page`)."""
    schema = p.schema.value
    t = schema.get("type")
    if t in ("integer", "number") or t is None:
        return True
    return t == "string" and bool(re.search(r"\b(number|integer|how many|maximum)\b", desc(p), re.I))


def page_size(p: Param) -> int:
    """The largest page the API allows (declared maximum <= 1000), else its default, else 100."""
    schema = p.schema.value
    maximum = schema.get("maximum")
    if isinstance(maximum, (int, float)) and 0 < maximum <= 1000:
        return int(maximum)
    described = _described_max(desc(p))
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


def _described_max(text: str) -> int | None:
    for pattern in _MAX_PATTERNS:
        m = re.search(pattern, text, re.I)
        if m:
            try:
                return int(m.group(1).replace(",", ""))
            except ValueError:
                continue
    return None


def _last(path: str) -> str:
    return snake(path.rsplit(".", 1)[-1])


def _parent(path: str) -> str:
    return snake(path.rsplit(".", 1)[0]) if "." in path else ""


def _is_urlish(path: str, info: FieldInfo) -> bool:
    fmt = info.format.lower()
    if fmt in ("uri", "url", "uri-reference", "iri"):
        return True
    name = _last(path)
    if any(w in name for w in ("url", "uri", "link", "href")):
        return True
    if _parent(path) in ("links", "_links", "paging") and name in ("next", "next_page"):
        return True
    return bool(re.search(r"\b(url|uri|link|href)\b", info.description, re.I))


def _strip_next(name: str) -> str:
    for prefix in ("next_", "end_"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _strip_page(name: str) -> str:
    return name[5:] if name.startswith("page_") and name != "page_token" else name


def _mode_switch(params: dict[str, Param], pag: Pagination) -> tuple[str, str] | None:
    """A boolean parameter that switches the chosen paging style on (`usemarker=true`)."""
    chosen = pag.params.get("cursor_param") or pag.params.get("offset_param") or pag.params.get("page_param")
    if not chosen:
        return None
    word = _strip_page(snake(chosen))
    for name, p in sorted(params.items()):
        if p.schema.value.get("type") == "boolean" and name.startswith("use") and word in name \
                and p.schema.value.get("default") is not True:
            return p.name, "true"
    return None


# ---- rules --------------------------------------------------------------------------------

def _cursor_token_in_body(op, rows, body, params, limit, convention):
    body_names = {_last(path) for path in body}
    cursor_params = [params[n] for n in CURSOR_PARAMS if n in params]
    cursor_params += [p for n, p in sorted(params.items()) if f"next_{n}" in body_names and p not in cursor_params]
    if not cursor_params:
        return None
    paired = {f"next_{snake(p.name)}" for p in cursor_params}
    tokens = [(path, info) for path, info in body.items()
              if (_last(path) in TOKEN_NAMES or _last(path) in paired) and (not info.types or "string" in info.types)
              and not info.types & {"object", "array", "boolean"} and not _is_urlish(path, info)]
    for p in cursor_params:
        pn = snake(p.name)
        for path, _info in tokens:
            bn = _last(path)
            in_cursors = _parent(path).endswith("cursors") and bn in ("after", "next")
            if bn == pn or _strip_next(bn) == pn or _strip_next(bn) == _strip_page(pn) or bn == "next_" + pn \
                    or (bn in ("next_cursor", "cursor") and _strip_page(pn) == "cursor") \
                    or (in_cursors and _strip_page(pn) in ("cursor", "after")):
                return (Pagination("cursor", {"cursor_param": p.name, "cursor_path": path}),
                        f"cursor_token_in_body: response '{path}' goes back as param '{p.name}'")
        described = _token_from_description(p, body)
        if described:
            return (Pagination("cursor", {"cursor_param": p.name, "cursor_path": described}),
                    f"cursor_token_in_body: param '{p.name}' takes '{described}' (per its description)")
    if len(cursor_params) == 1 and len(tokens) == 1:
        p, path = cursor_params[0], tokens[0][0]
        return (Pagination("cursor", {"cursor_param": p.name, "cursor_path": path}),
                f"cursor_token_in_body: the one token in the response ('{path}') goes back as the one cursor "
                f"param '{p.name}'")
    return None


def _token_from_description(p: Param, body: dict[str, FieldInfo]) -> str | None:
    if LINK_TEXT.search(desc(p)):
        return None  # "the `next` link relation" names a Link header, not a body token
    words = re.findall(r"`([A-Za-z_][\w.]*)`", desc(p))
    token = next((w for w in words if snake(w.rsplit(".", 1)[-1]) in TOKEN_NAMES and snake(w) != snake(p.name)), None)
    if token is None:
        return None
    if "." in token:
        return token
    declared = [path for path in body if path.rsplit(".", 1)[-1] == token]
    if declared:
        return sorted(declared, key=len)[0]
    container = next((w for w in words if w != token and snake(w) in (
        "response_metadata", "meta", "metadata", "paging", "pagination", "page_info", "result_info")), None)
    return f"{container}.{token}" if container else token


def _next_url_in_body(op, rows, body, params, limit, convention):
    found: list[str] = []
    for path, info in body.items():
        name = _last(path)
        if "string" not in info.types or info.types & {"object", "array"}:
            if name == "next" and _parent(path) in URL_CONTAINERS and f"{path}.href" in body:
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
    return (Pagination("next_url", {"next_url_path": best}),
            f"next_url_in_body: response '{best}' holds the next page's URL")


def _cursor_from_last_item_id(op, rows, body, params, limit, convention):
    for name in ("starting_after", "after", "start_after", "after_id", "starting_after_id"):
        p = params.get(name)
        if p is None or "array" in (p.schema.value.get("type") or ""):
            continue
        text = desc(p).lower()
        has_more = next((path for path, info in body.items() if _last(path) in HAS_MORE_NAMES
                         and "boolean" in info.types), None)
        last_id = next((path for path in body if _last(path) in ("last_id", "last_item_id")), None)
        idish = bool(re.search(r"\b(id|identifier|object)\b", text)) or "id" in rows.fields
        if not idish or (has_more is None and last_id is None):
            continue
        if last_id is not None:
            cursor_path = last_id
        else:
            key = "id" if "id" in rows.fields else None
            if key is None:
                continue
            cursor_path = ("" if rows.selector == "$" else rows.selector) + "[-1]." + key
        out = {"cursor_param": p.name, "cursor_path": cursor_path}
        if has_more:
            out["has_more_path"] = has_more
        why = f"cursor_from_last_item_id: param '{p.name}' takes the last row's id"
        why += f"; response '{has_more}' says when to stop" if has_more else ""
        return Pagination("cursor", out), why
    return None


def _link_header(op, rows, body, params, limit, convention):
    if "link" in op.response_headers:
        return Pagination("link_header"), "link_header: the response declares a Link header"
    for p in params.values():
        if LINK_TEXT.search(desc(p)):
            return Pagination("link_header"), f"link_header: param '{p.name}' is described as read from the Link header"
    if limit is None:
        return None
    for page in [params[n] for n in PAGE_NAMES + CURSOR_PARAMS if n in params]:
        if convention.likely(page.name, limit.name):
            return (Pagination("link_header"),
                    f"link_header: '{page.name}' + '{limit.name}' come with a Link header elsewhere in this spec")
    return None


def _offset_limit(op, rows, body, params, limit, convention):
    if limit is None:
        return None
    for name in OFFSET_NAMES:
        p = params.get(name)
        if p is None or p is limit or not _numeric_param(p):
            continue
        if name == "from" and not re.search(r"\b(offset|index|skip|position)\b", desc(p), re.I):
            continue
        out = {"offset_param": p.name}
        total = _find_total(body, TOTAL_NAMES)
        if total:
            out["total_path"] = total
        return Pagination("offset", out), f"offset_limit: params '{p.name}' + '{limit.name}'"
    return None


def _page_number(op, rows, body, params, limit, convention):
    page = next((params[n] for n in PAGE_NAMES if n in params), None)
    if page is None:
        return None
    total_pages = _find_total(body, TOTAL_PAGES_NAMES)
    if not _numeric_param(page) and not total_pages and not re.search(r"\bpage\b", desc(page), re.I):
        return None
    base = base_page(page)
    out: dict = {"page_param": page.name, "base_page": base}
    if total_pages:
        out["total_pages_path"] = total_pages
    why = f"page_number: param '{page.name}' starting at {base}"
    if limit is not None:
        why += f", size '{limit.name}'"
    return Pagination("page_number", out), why


def base_page(p: Param) -> int:
    schema = p.schema.value
    for key in ("minimum", "default"):
        value = schema.get(key)
        if value in (0, 1):
            return int(value)
    text = desc(p).lower()
    if re.search(r"(0-based|zero-based|zero based|starts? (at|from|with) 0|first page is 0|index)", text):
        return 0
    return 1


def _find_total(body: dict[str, FieldInfo], names: tuple[str, ...]) -> str | None:
    hits = [path for path, info in body.items() if _last(path) in names and info.types & {"integer", "number"}]
    if not hits:
        return None
    return sorted(hits, key=lambda p: (names.index(_last(p)), p.count("."), p))[0]


def _hints(params: dict[str, Param], body: dict[str, FieldInfo]) -> list[str]:
    """Signs of paging we could not use. A lone limit is a top-N size, not a sign of pages."""
    moving = [f"param '{p.name}'" for n, p in sorted(params.items())
              if n in CURSOR_PARAMS + OFFSET_NAMES + PAGE_NAMES + ("next_cursor",) and n not in ("from", "start")]
    moving += [f"response '{path}'" for path in sorted(body)
               if _last(path) in HAS_MORE_NAMES + NEXT_URL_NAMES + ("next_cursor", "next_page_token")]
    if not moving:
        return []
    sizes = [f"param '{p.name}'" for n, p in sorted(params.items()) if n in LIMIT_NAMES]
    return (moving + sizes)[:4]
