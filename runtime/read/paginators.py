"""One explicit, resumable paginator per pagination type the generator can choose.

Each paginator has the dlt verbs: `init_request(params)` before the first page,
`update_state(response, body, rows)` after each page, `update_request(params)` to move to the
next page (returning a URL when the next page is a whole URL rather than a parameter), and
`get_resume_state()` / `set_resume_state(state)` so a run can stop after any page and continue.
The generator picks the type; nothing here guesses ("auto" pagination silently reads one page
when it guesses wrong). Every paginator ends on a page that brings no rows. A paginator
with no end signal of its own (`end_signal` False: single page, offset, page number)
cannot tell a last page from a list it is not following; `unfollowed_next_page` looks
for the signs (a `Link` next header, a next/cursor field in the body) so the reader can
fail instead of truncating.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from runtime.catalog import (
    CursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
    Pagination,
    SinglePage,
)
from runtime.read.values import MISSING, get_path


class PaginationLoopError(RuntimeError):
    """The API sent a next-page pointer (or page) it had already sent: reading on would loop."""


class TruncationError(RuntimeError):
    """A response says there is more data than the table's paginator follows; `fix` is
    the `pagination` override that would follow it."""

    def __init__(self, message: str, fix: dict | None = None) -> None:
        super().__init__(message)
        self.fix = fix or {}


class PaginationConfigError(ValueError):
    """What the reader was given is not one of the catalog's pagination classes."""


def _digest(value: object) -> str:
    """A short fingerprint, so loop detection neither keeps nor prints the values themselves."""
    return hashlib.blake2b(
        orjson.dumps(value, option=orjson.OPT_SORT_KEYS), digest_size=8
    ).hexdigest()


class Paginator:
    """Base class: reads one page and stops."""

    kind = "single_page"
    # True when the API tells this paginator where the list ends (a cursor, a next
    # link); False when it stops by itself (after one page, on a short page).
    end_signal = False

    def __init__(self) -> None:
        self.has_next_page = True
        self.pages_read = 0

    def init_request(self, params: dict) -> None:
        """Prepare the first request's params (limit, first page number, ...)."""

    def update_state(
        self, response: httpx.Response, body: object, rows: list[dict]
    ) -> None:
        self.pages_read += 1
        self.has_next_page = False

    def update_request(self, params: dict) -> str | None:
        """Change `params` for the next page; return a URL to request instead of the path, or None."""
        return None

    def get_resume_state(self) -> dict | None:
        return {"pages_read": self.pages_read}

    def set_resume_state(self, state: dict) -> None:
        self.pages_read = int(state.get("pages_read", 0))
        self.has_next_page = True


class SinglePagePaginator(Paginator):
    pass


class _LimitMixin:
    limit_param: str | None
    page_size: int | None

    def _add_limit(self, params: dict) -> None:
        if self.limit_param and self.page_size:
            params[self.limit_param] = self.page_size


class _SeenValues:
    """Fingerprints of next-page pointers already followed, for loop detection."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._seen: set[str] = set()

    def check(self, value: object) -> None:
        key = _digest(value)
        if key in self._seen:
            raise PaginationLoopError(
                f"the API returned a {self.label} it had already returned; stopping to avoid a loop"
            )
        self._seen.add(key)


class CursorPaginator(_LimitMixin, Paginator):
    """A token or last id from the body goes back as `cursor_param`.

    `cursor_path` is a body path (`next_cursor`, `meta.next_cursor`) or the last-row form
    `data[-1].id`. With `has_more_path`, stop when it is false; without, stop on an empty or
    missing cursor or an empty page.
    """

    kind = "cursor"
    end_signal = True

    def __init__(
        self,
        cursor_param: str,
        cursor_path: str,
        has_more_path: str | None = None,
        limit_param: str | None = None,
        page_size: int | None = None,
    ) -> None:
        super().__init__()
        self.cursor_param = cursor_param
        self.cursor_path = cursor_path
        self.has_more_path = has_more_path
        self.limit_param = limit_param
        self.page_size = page_size
        self.cursor: object = None
        self._seen = _SeenValues("cursor")

    def init_request(self, params: dict) -> None:
        self._add_limit(params)
        params.pop(self.cursor_param, None)

    def _read_cursor(self, body: object, rows: list[dict]) -> object:
        value = get_path(body, self.cursor_path, MISSING)
        last_row = re.fullmatch(r"[^\[]*\[-1\]\.(.+)", self.cursor_path)
        if value is MISSING and last_row and rows:
            value = get_path(rows[-1], last_row.group(1), MISSING)
        return None if value is MISSING else value

    def update_state(
        self, response: httpx.Response, body: object, rows: list[dict]
    ) -> None:
        self.pages_read += 1
        cursor = self._read_cursor(body, rows)
        if cursor in (None, "") or not rows:
            self.has_next_page = False
        elif self.has_more_path:
            self.has_next_page = bool(get_path(body, self.has_more_path, False))
        else:
            self.has_next_page = bool(rows)
        if self.has_next_page:
            self._seen.check(cursor)
        self.cursor = cursor if self.has_next_page else None

    def update_request(self, params: dict) -> str | None:
        params[self.cursor_param] = self.cursor
        return None

    def get_resume_state(self) -> dict | None:
        return {"pages_read": self.pages_read, "cursor": self.cursor}

    def set_resume_state(self, state: dict) -> None:
        super().set_resume_state(state)
        self.cursor = state.get("cursor")
        self.has_next_page = self.cursor not in (None, "")


def _origin(url: httpx.URL) -> str:
    parts = urlsplit(str(url))
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class _UrlFollower(_LimitMixin, Paginator):
    """Shared by next_url and link_header: the next page is a whole URL whose own query
    replaces the params (sending the first request's params again would duplicate them)."""

    label = "next URL"
    end_signal = True

    def __init__(
        self, limit_param: str | None = None, page_size: int | None = None
    ) -> None:
        super().__init__()
        self.limit_param = limit_param
        self.page_size = page_size
        self.next_url: str | None = None
        self._seen = _SeenValues(self.label)

    def init_request(self, params: dict) -> None:
        self._add_limit(params)

    def _found(self, url: str | None, current: httpx.URL, rows: list[dict]) -> None:
        self.pages_read += 1
        if not url or not rows:
            self.has_next_page, self.next_url = False, None
            return
        resolved = self._resolve(url, current)
        self._seen.check(resolved)
        self.has_next_page, self.next_url = True, resolved

    def _resolve(self, url: str, current: httpx.URL) -> str:
        return str(current.join(url))

    def update_request(self, params: dict) -> str | None:
        params.clear()
        return self.next_url

    def get_resume_state(self) -> dict | None:
        return {"pages_read": self.pages_read, "next_url": self.next_url}

    def set_resume_state(self, state: dict) -> None:
        super().set_resume_state(state)
        self.next_url = state.get("next_url")
        self.has_next_page = bool(self.next_url)


class NextUrlPaginator(_UrlFollower):
    """A full or relative URL in the body (`next`, `links.next`, `_links.next.href`).

    Relative URLs resolve against the API origin (`/v1/items?page=2`), or against the current
    URL when they are a bare query (`?page=2`).
    """

    kind = "next_url"

    def __init__(
        self,
        next_url_path: str,
        limit_param: str | None = None,
        page_size: int | None = None,
    ) -> None:
        super().__init__(limit_param, page_size)
        self.next_url_path = next_url_path

    def _resolve(self, url: str, current: httpx.URL) -> str:
        if "://" in url or url.startswith("?"):
            return str(current.join(url))
        return _origin(current) + ("" if url.startswith("/") else "/") + url

    def update_state(
        self, response: httpx.Response, body: object, rows: list[dict]
    ) -> None:
        value = get_path(body, self.next_url_path)
        url = value if isinstance(value, str) else None
        self._found(url, response.request.url, rows)


_TOKEN = re.compile(r"\s*([^=;,\s]+)\s*")


def _read_value(text: str, i: int) -> tuple[str, int]:
    """A link-param value at `i`: a quoted string (with backslash escapes) or a bare token."""
    while i < len(text) and text[i] in " \t":
        i += 1
    if i < len(text) and text[i] == '"':
        out, i = [], i + 1
        while i < len(text) and text[i] != '"':
            if text[i] == "\\" and i + 1 < len(text):
                i += 1
            out.append(text[i])
            i += 1
        return "".join(out), i + 1
    end = i
    while end < len(text) and text[end] not in ";,":
        end += 1
    return text[i:end].strip(), end


def parse_links(value: str) -> dict[str, tuple[str, dict[str, str]]]:
    """RFC 8288 `Link` header -> {rel: (url, params)}. Handles several links, quoted
    params containing commas or semicolons, and rel lists (`rel="next last"` gives both
    `next` and `last`); param names are lower-case (`results="false"` ->
    {"results": "false"})."""
    links: dict[str, tuple[str, dict[str, str]]] = {}
    i, n = 0, len(value)
    while True:
        start = value.find("<", i)
        end = value.find(">", start + 1) if start >= 0 else -1
        if end < 0:
            return links
        url, i = value[start + 1 : end].strip(), end + 1
        params: dict[str, str] = {}
        while i < n and value[i] != ",":
            if value[i] != ";":
                i += 1
                continue
            match = _TOKEN.match(value, i + 1)
            if match is None:
                i += 1
                continue
            name, i = match.group(1).lower(), match.end()
            param = ""
            if i < n and value[i] == "=":
                param, i = _read_value(value, i + 1)
            params.setdefault(name, param)
        for rel in params.get("rel", "").lower().split():
            links.setdefault(rel, (url, params))


def parse_link_header(value: str) -> dict[str, str]:
    """RFC 8288 `Link` header -> {rel: url} (see `parse_links`)."""
    return {rel: url for rel, (url, _) in parse_links(value).items()}


def next_link(header: str) -> str | None:
    """A `Link` header's `rel="next"` target, or None; a next link marked
    `results="false"` is the end of the list (some APIs keep one on the last page)."""
    url, params = parse_links(header).get("next", (None, {}))
    if not url or params.get("results", "").lower() == "false":
        return None
    return url


def link_next(response: httpx.Response) -> str | None:
    """`next_link` of a response's `Link` headers."""
    return next_link(", ".join(response.headers.get_list("link")))


# Body fields that point at a next page (names compared lower-case without `_`/`-`),
# and flags that say more pages exist.
_NEXT_FIELDS = frozenset(
    {
        "next",
        "nextcursor",
        "nextpage",
        "nextpagetoken",
        "nexttoken",
        "nexturl",
        "nextlink",
        "nextpageurl",
        "nextpageuri",
        "nexthref",
        "nextoffset",
        "nextkey",
        "nextmarker",
    }
)
_MORE_FLAGS = frozenset({"hasmore", "hasnextpage", "hasnext", "moreresults"})
_URL_LEAVES = ("href", "url", "uri", "link")
# Not in a response: the user fills it in.
_ASK_PARAM = "<the query parameter that takes it>"


@dataclass(frozen=True)
class MoreData:
    """Where a response says more pages exist: `what` for people, `pagination` the
    override that would follow them (`cursor_param` is left for the user when it cannot
    be known)."""

    what: str
    pagination: dict


def _norm(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _next_field(body: dict, skip: str, prefix: str = "", depth: int = 0):
    """(path, value) of the first non-empty next-page field or true more-pages flag in
    `body`'s objects (not inside arrays, not under the rows at `skip`), else None."""
    for key, value in body.items():
        path = f"{prefix}{key}"
        if path == skip:
            continue
        name = _norm(str(key))
        if name in _MORE_FLAGS and value is True:
            return path, value
        if name in _NEXT_FIELDS and value not in (None, "", False, 0, {}, []):
            return path, value
        if isinstance(value, dict) and depth < 2:
            found = _next_field(value, skip, f"{path}.", depth + 1)
            if found:
                return found
    return None


def _looks_like_url(value: object) -> bool:
    return isinstance(value, str) and ("://" in value or value.startswith(("/", "?")))


def unfollowed_next_page(
    response: httpx.Response, body: object, data_selector: str
) -> MoreData | None:
    """Signs in `response` that the list goes on: a `Link` next header (not `results=
    "false"`), a non-empty next/cursor field in the body, or a `has_more`-style flag."""
    if link_next(response):
        return MoreData('a Link rel="next" header', {"type": "link_header"})
    if not isinstance(body, dict):
        return None
    found = _next_field(body, data_selector)
    if found is None:
        return None
    path, value = found
    what = f"a non-empty {path!r} field in the body"
    if value is True:
        return MoreData(
            f"{path!r}: true in the body",
            {
                "type": "cursor",
                "cursor_param": _ASK_PARAM,
                "cursor_path": "<body path of the next cursor>",
                "has_more_path": path,
            },
        )
    if isinstance(value, dict):
        leaf = next((k for k in _URL_LEAVES if _looks_like_url(value.get(k))), None)
        if leaf:
            fix = {"type": "next_url", "next_url_path": f"{path}.{leaf}"}
            return MoreData(what, fix)
    if _looks_like_url(value):
        return MoreData(what, {"type": "next_url", "next_url_path": path})
    fix = {"type": "cursor", "cursor_param": _ASK_PARAM, "cursor_path": path}
    return MoreData(what, fix)


class LinkHeaderPaginator(_UrlFollower):
    """RFC 8288 `Link: <...>; rel="next"`; relative targets resolve against the request URL."""

    kind = "link_header"
    label = "Link next URL"

    def update_state(
        self, response: httpx.Response, body: object, rows: list[dict]
    ) -> None:
        self._found(link_next(response), response.request.url, rows)


class _CountingPaginator(_LimitMixin, Paginator):
    """Offset and page-number paging: stop on a total, a short page or an empty page, and
    refuse a page whose rows repeat the previous page (an API ignoring the paging parameter)."""

    def __init__(
        self, limit_param: str | None, page_size: int | None, total_path: str | None
    ) -> None:
        super().__init__()
        self.limit_param = limit_param
        self.page_size = page_size
        self.total_path = total_path
        self.rows_seen = 0
        self._last_digest: str | None = None

    def _common_stop(self, body: object, rows: list[dict]) -> bool:
        self.pages_read += 1
        self.rows_seen += len(rows)
        if not rows:
            return True
        digest = _digest(rows)
        if digest == self._last_digest:
            raise PaginationLoopError(
                f"page {self.pages_read} repeats the previous page's rows; the API seems to ignore"
                f" the {self.kind} parameter"
            )
        self._last_digest = digest
        if self.page_size and len(rows) < self.page_size:
            return True
        total = get_path(body, self.total_path) if self.total_path else None
        return isinstance(total, int | float) and self.rows_seen >= total


class OffsetPaginator(_CountingPaginator):
    kind = "offset"

    def __init__(
        self,
        offset_param: str,
        limit_param: str | None = None,
        page_size: int | None = None,
        total_path: str | None = None,
    ) -> None:
        super().__init__(limit_param, page_size, total_path)
        self.offset_param = offset_param
        self.offset = 0

    def init_request(self, params: dict) -> None:
        self._add_limit(params)
        params[self.offset_param] = self.offset

    def update_state(
        self, response: httpx.Response, body: object, rows: list[dict]
    ) -> None:
        self.has_next_page = not self._common_stop(body, rows)
        self.offset += len(rows)

    def update_request(self, params: dict) -> str | None:
        params[self.offset_param] = self.offset
        return None

    def get_resume_state(self) -> dict | None:
        return {
            "pages_read": self.pages_read,
            "offset": self.offset,
            "rows_seen": self.rows_seen,
        }

    def set_resume_state(self, state: dict) -> None:
        super().set_resume_state(state)
        self.offset = int(state["offset"])
        self.rows_seen = int(state.get("rows_seen", 0))


class PageNumberPaginator(_CountingPaginator):
    kind = "page_number"

    def __init__(
        self,
        page_param: str,
        base_page: int = 1,
        limit_param: str | None = None,
        page_size: int | None = None,
        total_pages_path: str | None = None,
        total_path: str | None = None,
    ) -> None:
        super().__init__(limit_param, page_size, total_path)
        self.page_param = page_param
        self.base_page = int(base_page)
        self.page = self.base_page
        self.total_pages_path = total_pages_path

    def init_request(self, params: dict) -> None:
        self._add_limit(params)
        params[self.page_param] = self.page

    def update_state(
        self, response: httpx.Response, body: object, rows: list[dict]
    ) -> None:
        stop = self._common_stop(body, rows)
        if self.total_pages_path and not stop:
            total_pages = get_path(body, self.total_pages_path)
            if isinstance(total_pages, int | float):
                stop = self.page - self.base_page + 1 >= total_pages
        self.has_next_page = not stop
        self.page += 1

    def update_request(self, params: dict) -> str | None:
        params[self.page_param] = self.page
        return None

    def get_resume_state(self) -> dict | None:
        return {
            "pages_read": self.pages_read,
            "page": self.page,
            "rows_seen": self.rows_seen,
        }

    def set_resume_state(self, state: dict) -> None:
        super().set_resume_state(state)
        self.page = int(state["page"])
        self.rows_seen = int(state.get("rows_seen", 0))


_CLASSES: dict[type, type[Paginator]] = {
    CursorPagination: CursorPaginator,
    NextUrlPagination: NextUrlPaginator,
    LinkHeaderPagination: LinkHeaderPaginator,
    OffsetPagination: OffsetPaginator,
    PageNumberPagination: PageNumberPaginator,
    SinglePage: SinglePagePaginator,
}


def make_paginator(pagination: Pagination) -> Paginator:
    """The paginator for a catalog pagination object (its fields are the paginator's
    arguments). Anything else raises `PaginationConfigError`."""
    cls = _CLASSES.get(type(pagination))
    if cls is None:
        raise PaginationConfigError(f"not a catalog pagination: {pagination!r}")
    return cls(**pagination.settings())
