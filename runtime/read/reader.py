"""Reading one catalog endpoint: path filling, pagination, incremental windows, fan-out, resume.

`EndpointReader.pages()` yields `Page`s; each carries the JSON resume state that continues
*after* it, so a run can stop after any page and a new reader picks up at the next one.

Incremental passes: `newer` sends `filter_param=<last value>`; newest-first APIs that have not
finished their backfill first run an `older` pass with `before_param=<earliest value>`; `full`
reads everything. Fan-out endpoints read their parent (recursively) and the child once per
parent row, with `_<parent>_<field>` columns added so child rows can be joined back; with
`ReadLimits.concurrency` N > 1, N parents' children are read at once on threads and their
pages still come out in parent order, with the same resume states as one at a time.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from urllib.parse import quote

import yaml

from runtime.catalog import EndpointConfig, IncrementalField
from runtime.http.client import ContextAdapter, NotFound, TrackedClient
from runtime.read.paginators import (
    PaginationLoopError,
    Paginator,
    TruncationError,
    make_paginator,
    unfollowed_next_page,
)
from runtime.read.values import MISSING, format_incremental, get_path

log = logging.getLogger("runtime.read.reader")

_PATH_PARAM = re.compile(r"\{([^{}]+)\}")


class ShapeError(RuntimeError):
    """A response body that does not have the shape the catalog says (no rows where expected)."""


@dataclass
class IncrementalWindow:
    """What an incremental run asks for. `last_value`: send filter_param=<last> (newer rows).
    `earliest_value`: for newest-first APIs, first scan older than this with before_param.
    `backfill_complete` False: that older-than pass still has work to do."""

    field: IncrementalField
    last_value: object | None
    earliest_value: object | None
    backfill_complete: bool = True


@dataclass(frozen=True)
class ReadLimits:
    """Caps a caller puts on one read without touching the catalog: `page_size` lowers
    a larger page size the endpoint asks for (an endpoint that sends none keeps sending
    none), `max_pages` stops each listing after that many pages (the endpoint's own cap
    still holds when lower). Recording keeps cassettes small with them; replay applies
    the same. `concurrency`: how many parents' children a fan-out endpoint reads at once
    (`sync --concurrency`; 1 reads them one after another)."""

    page_size: int | None = None
    max_pages: int | None = None
    concurrency: int = 1


@dataclass
class Page:
    """Rows of one response; `resume_state` (JSON) continues AFTER this page; `url` is where
    the page came from, secrets masked."""

    rows: list[dict]
    resume_state: dict
    url: str


@dataclass
class _ChildRead:
    """One parent row's child read: where it sits (for resume state), the child's own
    resume state (the first row of a resumed run), and what the parent fills in."""

    where: dict
    resume: dict | None
    parent_ids: dict
    columns: dict
    path_values: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)


def in_order(
    items: Iterable, work: Callable[[object], list], n: int
) -> Iterator[object]:
    """`work(item)` for each item on up to `n` threads, its results yielded item by item
    in the order of `items`. An error is raised when its item's turn comes; then, or when
    the caller stops early, reads not yet started are cancelled (those running finish on
    their own, their results unused)."""
    pool = ThreadPoolExecutor(n, thread_name_prefix="gen-source-fanout")
    running: deque[Future] = deque()
    try:
        for item in items:
            running.append(pool.submit(work, item))
            if len(running) >= n:
                yield from running.popleft().result()
        while running:
            yield from running.popleft().result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class EndpointReader:
    """Reads every page of one endpoint of `catalog` through `client`."""

    def __init__(
        self,
        client: TrackedClient,
        catalog: dict[str, EndpointConfig],
        name: str,
        *,
        config_values: dict[str, str],
        incremental: IncrementalWindow | None = None,
        hooks: object | None = None,
        limits: ReadLimits | None = None,
    ) -> None:
        if name not in catalog:
            raise ValueError(f"endpoint {name!r} is not in the catalog")
        self.client = client
        self.catalog = catalog
        self.name = name
        self.endpoint = catalog[name]
        self.config_values = dict(config_values)
        self.incremental = incremental
        self.hooks = hooks
        self.limits = limits or ReadLimits()
        caps = [c for c in (self.limits.max_pages, self.endpoint.max_pages) if c]
        self.max_pages = min(int(c) for c in caps) if caps else None
        size, cap = self.endpoint.page_size, self.limits.page_size
        self.page_size = cap if size and cap and size > cap else size
        self.log = ContextAdapter(log, client.log.extra)

    # -- public -----------------------------------------------------------------------------
    def pages(self, resume_state: dict | None = None) -> Iterator[Page]:
        """Every page of the endpoint, continuing after the page `resume_state` came from."""
        if self.endpoint.parent is not None:
            yield from self._fanout_pages(resume_state)
            return
        yield from self._passes_pages(resume_state, path_values={}, extra_columns={})

    # -- passes -----------------------------------------------------------------------------
    @staticmethod
    def _newer_params(field: IncrementalField, value: object) -> dict:
        text = format_incremental(value, field.type)
        if field.filter_expression:
            text = field.filter_expression.replace("{value}", text)
        return {field.filter_param: text}

    def _passes(self) -> list[tuple[str, dict]]:
        """The passes this run makes, in order, each with the query params it adds."""
        window = self.incremental
        if window is None:
            return [("full", {})]
        field = window.field
        desc = self.endpoint.sort_mode == "desc"
        if desc and not window.backfill_complete:
            if field.before_param and window.earliest_value is not None:
                earliest = format_incremental(window.earliest_value, field.type)
                passes = [("older", {field.before_param: earliest})]
                if window.last_value is not None:
                    passes.append(
                        ("newer", self._newer_params(field, window.last_value))
                    )
                return passes
            # Newest-first without a way to ask for older rows: only a full read is complete.
            return [("full", {})]
        if window.last_value is None:
            return [("full", {})]
        return [("newer", self._newer_params(field, window.last_value))]

    def _passes_pages(
        self,
        resume: dict | None,
        *,
        path_values: dict,
        extra_columns: dict,
        parent_ids: dict | None = None,
        query: dict | None = None,
    ) -> Iterator[Page]:
        passes = self._passes()
        names = [name for name, _ in passes]
        start, inner = 0, None
        if resume:
            if resume.get("pass") in names:
                start = names.index(resume["pass"])
                if resume.get("done"):
                    start += 1
                else:
                    inner = resume
            else:
                self.log.warning(
                    "endpoint %s: resume state is for pass %r but this run makes %s; starting over",
                    self.name,
                    resume.get("pass"),
                    names,
                )
        path = self._fill_path(path_values)
        for index in range(start, len(passes)):
            pass_name, params = passes[index]
            if query:
                params = {**params, **query}
            yield from self._pass_pages(
                pass_name,
                path,
                params,
                inner if index == start else None,
                extra_columns=extra_columns,
                parent_ids=parent_ids or {},
            )

    def _make_paginator(self) -> Paginator:
        factory = getattr(self.hooks, "make_paginator", None)
        if factory is not None:
            custom = factory(self.name, self.endpoint)
            if custom is not None:
                return custom
        pagination = self.endpoint.pagination
        if self.page_size != self.endpoint.page_size:
            pagination = replace(pagination, page_size=self.page_size)
        return make_paginator(pagination)

    def _pass_pages(
        self,
        pass_name: str,
        path: str,
        pass_params: dict,
        resume: dict | None,
        *,
        extra_columns: dict,
        parent_ids: dict,
    ) -> Iterator[Page]:
        """One pass: request, select rows, page on until the paginator (or the cap) stops."""
        paginator = self._make_paginator()
        if resume:
            paginator.set_resume_state(resume.get("paginator") or {})
            url, params = resume["url"], dict(resume.get("params") or {})
        else:
            params = {**self.endpoint.params, **pass_params}
            paginator.init_request(params)
            url = path
        while True:
            response, body = self.client.get_json(url, params, endpoint=self.name)
            page_url = self.client.redact(str(response.url))
            raw_rows = self._select(body, page_url)
            try:
                paginator.update_state(response, body, raw_rows)
            except PaginationLoopError as exc:
                raise PaginationLoopError(
                    f"GET {self.name} {page_url}: {exc}"
                ) from None
            if raw_rows and not (paginator.has_next_page or paginator.end_signal):
                self._check_truncation(paginator, response, body, page_url)
            rows = self._transform(raw_rows, extra_columns)
            state: dict = {"pass": pass_name, "done": True}
            if paginator.has_next_page and not self._capped(paginator, parent_ids):
                next_params = dict(params)
                next_url = paginator.update_request(next_params)
                url = self.client.strip_secrets(next_url) if next_url else url
                params = next_params
                state = {
                    "pass": pass_name,
                    "url": url,
                    "params": params,
                    "paginator": paginator.get_resume_state(),
                }
            yield Page(rows=rows, resume_state=state, url=page_url)
            if state.get("done"):
                return

    def _check_truncation(
        self, paginator: Paginator, response: object, body: object, page_url: str
    ) -> None:
        """A paginator that stops by itself (no end signal of its own) on a page whose
        response says the list goes on would leave the table with part of the data: fail
        in one line naming the override to write. Under a deliberate cap it is only
        reported."""
        more = unfollowed_next_page(response, body, self.endpoint.data_selector or "$")
        if more is None:
            return
        if self.max_pages and paginator.pages_read >= self.max_pages:
            self.log.warning(
                "endpoint %s: stopped at max_pages=%d; the response has %s",
                self.name,
                self.max_pages,
                more.what,
            )
            return
        fix = dict(more.pagination)
        limit_param = getattr(paginator, "limit_param", None)
        if limit_param and fix["type"] in ("link_header", "next_url"):
            fix["limit_param"] = limit_param
        source = self.client.context.get("source") or "<source>"
        raise TruncationError(
            f"GET {self.name} {page_url}: the response has {more.what} but the table is"
            f" read as {paginator.kind}, which stops here (only part of the list would"
            " be read);"
            f" write in overrides/{source}.yaml: "
            + override_fragment(self.endpoint.path, {"pagination": fix}),
            fix,
        )

    def _capped(self, paginator: Paginator, parent_ids: dict) -> bool:
        if not self.max_pages or paginator.pages_read < self.max_pages:
            return False
        parents = ", ".join(f"{k}={v}" for k, v in parent_ids.items())
        self.log.warning(
            "endpoint %s%s: stopped at max_pages=%d; the API has more pages",
            self.name,
            f" (parent {parents})" if parents else "",
            self.max_pages,
        )
        return True

    # -- rows -------------------------------------------------------------------------------
    def _fill_path(self, path_values: dict) -> str:
        values = {
            k: self.config_values[k]
            for k in self.endpoint.config_params
            if k in self.config_values
        }
        values.update(path_values)

        def fill(match: re.Match) -> str:
            key = match.group(1)
            if key not in values or values[key] in (None, ""):
                source = (
                    "config value" if key in self.endpoint.config_params else "value"
                )
                raise ValueError(
                    f"endpoint {self.name}: path parameter {{{key}}} has no {source}"
                )
            return quote(str(values[key]), safe="")

        return _PATH_PARAM.sub(fill, self.endpoint.path)

    def _select(self, body: object, url: str) -> list[dict]:
        selector = self.endpoint.data_selector or "$"
        data = get_path(body, selector, MISSING)
        where = f"GET {self.name} {url}"
        if data is MISSING:
            raise ShapeError(
                f"{where}: data selector {selector!r} not found in the response"
                f" ({type(body).__name__} body)"
            )
        if data is None:  # `"data": null` on an empty result
            return []
        if not isinstance(data, list):
            raise ShapeError(
                f"{where}: data selector {selector!r} is a {type(data).__name__}, not a list"
            )
        for row in data:
            if not isinstance(row, dict):
                raise ShapeError(
                    f"{where}: rows at {selector!r} must be objects, found a {type(row).__name__}"
                )
        return data

    def _transform(self, rows: list[dict], extra_columns: dict) -> list[dict]:
        transform = getattr(self.hooks, "transform_row", None)
        if self.endpoint.row_format == "jsonapi":
            rows = [lift_resource(row) for row in rows]
        out = []
        for row in rows:
            if extra_columns:
                row = {**row, **extra_columns}
            if transform is not None:
                row = transform(self.name, row)
                if row is None:
                    continue
            out.append(row)
        return out

    # -- fan-out ----------------------------------------------------------------------------
    def _fanout_pages(self, resume: dict | None) -> Iterator[Page]:
        """Read the parent (with its own pagination and fan-out, no incremental) and the child
        once per parent row. Resume state names the parent page (by the parent's own resume
        state taken before it), the row index and id, and the child's state. With a
        concurrency above 1 the next children are read ahead on threads, each whole; what is
        yielded, and each page's resume state, is the same as reading one at a time, so a
        run stopped at any page resumes as it would have."""
        reads = self._child_reads(resume)
        n = self.limits.concurrency
        if n <= 1:
            for read in reads:
                yield from self._child_pages(read)
            return
        yield from in_order(reads, lambda read: list(self._child_pages(read)), n)

    def _child_reads(self, resume: dict | None) -> Iterator[_ChildRead]:
        """One `_ChildRead` per parent row, in order; reads the parent as it goes."""
        link = self.endpoint.parent
        caps = [c for c in (self.limits.max_pages, link.max_pages) if c]
        parent = EndpointReader(
            self.client,
            self.catalog,
            link.endpoint,
            config_values=self.config_values,
            hooks=self.hooks,
            limits=ReadLimits(
                page_size=self.limits.page_size,
                max_pages=min(caps) if caps else None,
                concurrency=self.limits.concurrency,
            ),
        )
        where = resume.get("parent") if resume else None
        before = where["state"] if where else None
        first = True
        for parent_page in parent.pages(before):
            start, child_resume = 0, None
            if first and where:
                start, exact = self._locate(
                    parent_page.rows, where["index"], where["id"]
                )
                child_resume = resume.get("child") if exact else None
            first = False
            for index in range(start, len(parent_page.rows)):
                row = parent_page.rows[index]
                value = row.get(link.field)
                if value is None:
                    self.log.warning(
                        "endpoint %s: parent %s row %d has no %r; skipped",
                        self.name,
                        link.endpoint,
                        index,
                        link.field,
                    )
                    continue
                read = _ChildRead(
                    where={"state": before, "index": index, "id": value},
                    resume=child_resume if index == start else None,
                    parent_ids={link.endpoint: value},
                    columns={f"_{link.endpoint}_{link.field}": value},
                )
                (read.query if link.location == "query" else read.path_values)[
                    link.path_param
                ] = value
                for name in link.include_from_parent:
                    read.columns[f"_{link.endpoint}_{name}"] = row.get(name)
                for param, column in link.inherited.items():
                    read.path_values[param] = row.get(column)
                    read.columns[column] = row.get(column)
                    read.parent_ids[column] = row.get(column)
                yield read
            before = parent_page.resume_state

    def _child_pages(self, read: _ChildRead) -> Iterator[Page]:
        link = self.endpoint.parent
        try:
            for page in self._passes_pages(
                read.resume,
                path_values=read.path_values,
                extra_columns=read.columns,
                parent_ids=read.parent_ids,
                query=read.query,
            ):
                state = {
                    "pass": "fanout",
                    "parent": read.where,
                    "child": page.resume_state,
                }
                yield Page(rows=page.rows, resume_state=state, url=page.url)
        except NotFound as exc:
            # The parent went away between its listing and this read: skip it.
            self.log.warning(
                "endpoint %s: parent %s %r is gone (%s); skipped",
                self.name,
                link.endpoint,
                read.where["id"],
                exc,
            )

    def _locate(self, rows: list[dict], index: int, ident: object) -> tuple[int, bool]:
        """Where the resumed parent row sits in the re-read parent page (rows may have shifted)."""
        field = self.endpoint.parent.field
        if index < len(rows) and rows[index].get(field) == ident:
            return index, True
        for position, row in enumerate(rows):
            if row.get(field) == ident:
                return position, True
        self.log.warning(
            "endpoint %s: parent row %r is no longer at position %d of its page; continuing there",
            self.name,
            ident,
            index,
        )
        return min(index, len(rows)), False


def override_fragment(path: str, changes: dict) -> str:
    """`endpoints: {GET <path>: {...}}` in YAML flow style, on one line (for errors)."""
    text = yaml.safe_dump(
        {"endpoints": {f"GET {path}": changes}},
        default_flow_style=True,
        sort_keys=False,
        width=10**6,
    )
    return text.strip().removeprefix("{").removesuffix("}")


def lift_resource(row: dict) -> dict:
    """A JSON:API resource object as a flat row: `id`, `type`, its attributes, then the
    remaining members (`relationships`, `links`, ...). An attribute never overwrites `id`/`type`."""
    attributes = row.get("attributes")
    if not isinstance(attributes, dict):
        return row
    out = {k: row[k] for k in ("id", "type") if k in row}
    for key, value in attributes.items():
        out.setdefault(key, value)
    for key, value in row.items():
        if key != "attributes":
            out.setdefault(key, value)
    return out
