"""The checks a generated replay test runs on a replayed cassette: rows, pagination, the
incremental filter, saved resume state, primary keys and the saved watermark.

Every expected value comes from the cassette and the catalog only, never from the connector's
own code, so a change in the connector that alters what it requests or stores fails the
replay test. `runtime.testing.cassettes` holds the file format and the replay itself and re-exports
these checks (generated tests import them from there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from runtime.catalog import (
    CursorPagination,
    EndpointConfig,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
)

if TYPE_CHECKING:
    from runtime.testing.cassettes import CassetteFile, Interaction, Replay

# `endpoint_of` is imported inside the functions that use it: `runtime.testing.cassettes` re-exports
# this module's checks, so a module-level import of it here would be circular.


def recorded_rows(catalog: dict[str, EndpointConfig], schema: str, cassette: CassetteFile,
                  hooks: Any = None) -> list[dict]:
    """The schema's rows as the recorded bodies hold them (data selector, JSON:API lifting and
    the row hook applied, as the reader does)."""
    from runtime.testing.cassettes import endpoint_of  # circular at module level (see the note above)
    from runtime.read.reader import lift_resource
    from runtime.read.values import get_path

    ep = catalog[schema]
    lift = getattr(ep, "row_format", "plain") == "jsonapi"
    transform = getattr(hooks, "transform_row", None)
    rows: list[dict] = []
    for item in cassette.interactions:
        if not 200 <= item.status < 300 or endpoint_of(catalog, schema, item, cassette.meta) != schema:
            continue
        data = get_path(item.json(), ep.data_selector or "$", None)
        for row in data if isinstance(data, list) else []:
            row = lift_resource(row) if lift and isinstance(row, dict) else row
            row = transform(schema, row) if transform and isinstance(row, dict) else row
            if isinstance(row, dict):
                rows.append(row)
    return rows


def key_of(row: dict, keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(row.get(k)) for k in keys)


def _query(url: httpx.URL, ignore: set[str]) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in url.params.multi_items() if k not in ignore)


def _next_page(ep: EndpointConfig, item: Interaction, page_number: int) -> tuple | None:
    """What the request after this page must carry, read from this page's response alone:
    ("param", name, value) or ("url", url); None when this page is the last one."""
    from runtime.read.paginators import parse_link_header
    from runtime.read.values import MISSING, get_path

    p, body = ep.pagination, item.json()
    if ep.max_pages and page_number >= ep.max_pages:
        return None
    rows = get_path(body, ep.data_selector or "$", None)
    rows = rows if isinstance(rows, list) else []
    if isinstance(p, CursorPagination):
        value = get_path(body, p.cursor_path, MISSING)
        if value is MISSING and "[-1]." in p.cursor_path and rows:
            value = get_path(rows[-1], p.cursor_path.split("[-1].", 1)[1], MISSING)
        more = bool(get_path(body, p.has_more_path, False)) if p.has_more_path else bool(rows)
        return ("param", p.cursor_param, value) if more and value not in (MISSING, None, "") else None
    if isinstance(p, NextUrlPagination | LinkHeaderPagination):
        found = (get_path(body, p.next_url_path) if isinstance(p, NextUrlPagination)
                 else parse_link_header(item.header("link")).get("next"))
        if not isinstance(found, str) or not found:
            return None
        if found.startswith("/"):
            found = f"{item.url.scheme}://{item.url.netloc.decode()}{found}"
        return "url", str(item.url.join(found))
    if isinstance(p, OffsetPagination | PageNumberPagination):
        total = get_path(body, p.total_path) if p.total_path else None
        if not rows or (p.page_size and len(rows) < p.page_size) or (isinstance(total, int) and total <= 0):
            return None
        if isinstance(p, OffsetPagination):
            now = int(item.url.params.get(p.offset_param, 0))
            return "param", p.offset_param, now + len(rows)
        now = int(item.url.params.get(p.page_param, p.base_page))
        return "param", p.page_param, now + 1
    return None


@dataclass
class Pages:
    first: int = 0  # requests that started a listing
    later: int = 0  # requests that continued one (carrying the pagination parameter)
    problems: list[str] = field(default_factory=list)


def check_pagination(catalog: dict[str, EndpointConfig], cassette: CassetteFile,
                     ignore: set[str] = frozenset()) -> Pages:
    """Every page after the first must carry what the page before it announced (the cursor,
    the next URL, the next offset or page); a first page must not carry a cursor; an
    announced page must be read (unless the page cap stopped it). `ignore`: query params the
    auth adds (an API key), which a next link does not carry."""
    from runtime.testing.cassettes import endpoint_of  # circular at module level (see the note above)
    out, pending = Pages(), {}
    for index, item in enumerate(cassette.interactions):
        name = endpoint_of(catalog, cassette.meta["schema"], item, cassette.meta)
        if name is None:
            continue
        ep, where = catalog[name], f"request {index + 1} ({name}: GET {item.url.path})"
        expect, count = pending.pop(name, (None, 0))
        if expect is None:
            out.first += 1
            count = 0
            if isinstance(ep.pagination, CursorPagination) and ep.pagination.cursor_param in item.url.params:
                out.problems.append(f"{where}: a first page carries the cursor parameter")
        elif expect[0] == "param":
            out.later += 1
            got = item.url.params.get(expect[1])
            if got != str(expect[2]):
                out.problems.append(f"{where}: {expect[1]}={got!r}, the previous page announced"
                                    f" {expect[2]!r}")
        else:
            out.later += 1
            want = httpx.URL(expect[1])
            if want.path != item.url.path or _query(want, ignore) != _query(item.url, ignore):
                out.problems.append(f"{where}: requested {item.uri}, the previous page announced"
                                    f" {expect[1]}")
        nxt = _next_page(ep, item, count + 1)
        if nxt is not None:
            pending[name] = (nxt, count + 1)
    for name, (expect, _) in sorted(pending.items()):
        out.problems.append(f"{name}: the last recorded page announces {expect[1:]} but it was"
                            " never requested")
    return out


def incremental_filters(catalog: dict[str, EndpointConfig], cassette: CassetteFile) -> tuple[str, list]:
    """(the filter value the saved watermark must produce, the values the recorded first pages
    of the schema sent in the filter parameter)."""
    from runtime.testing.cassettes import endpoint_of  # circular at module level (see the note above)
    from runtime.read.values import format_incremental

    schema, mark = cassette.meta["schema"], cassette.meta.get("watermark") or {}
    ep = catalog[schema]
    spec = ep.incremental_field(mark.get("field")) if mark else None
    if spec is None:
        return "", []
    want = format_incremental(mark["last"], spec.type)
    if spec.filter_expression:
        want = spec.filter_expression.replace("{value}", want)
    sent, previous = [], None
    for item in cassette.interactions:
        if endpoint_of(catalog, schema, item, cassette.meta) != schema:
            continue
        first = previous is None or _next_page(ep, previous, 1) is None
        if first:
            sent.append(item.url.params.get(spec.filter_param))
        previous = item
    return want, sent


def resume_problems(run: Replay, ignore: set[str] = frozenset()) -> list[str]:
    """Each resume state saved mid-listing must point at exactly the request the replay made
    next; after a finished run no resume state may remain."""
    problems = []
    base = httpx.URL(run.cassette.meta["config"].get("base_url") or "http://x")
    for number, (state, made) in enumerate(run.states, 1):
        inner = (state or {}).get("child") if (state or {}).get("pass") == "fanout" else state
        if not inner or "url" not in inner:
            continue
        url = inner["url"]
        target = httpx.URL(url if "://" in url else str(base).rstrip("/") + url)
        params = {k: v for k, v in (inner.get("params") or {}).items() if v is not None}
        target = target.copy_merge_params(params) if params else target
        if made >= len(run.cassette.interactions):
            problems.append(f"page {number}: resume state points at {target}, but no request followed")
            continue
        actual = run.cassette.interactions[made].url
        if target.path != actual.path or _query(target, ignore) != _query(actual, ignore):
            problems.append(f"page {number}: resume state points at {target}, the next request"
                            f" was {actual}")
    if run.resume_state_after is not None:
        problems.append(f"a resume state is left after the run: {run.resume_state_after}")
    return problems


def auth_query_params(auth: dict | None) -> set[str]:
    """Query parameters the auth adds to every request (a next link does not carry them)."""
    auth = auth or {}
    return {auth["name"]} if auth.get("type") == "api_key" and auth.get("in") == "query" else set()


def row_key_problems(ep: EndpointConfig, table_rows: list[dict], rows: list[dict]) -> list[str]:
    """Primary keys are unique in the table and are the recorded rows' keys (when the recorded
    rows carry every key column; fan-out columns are added by the reader)."""
    keys = ep.primary_key
    if not keys:
        return [] if len(table_rows) == len(rows) else [
            f"{ep.name}: {len(table_rows)} rows in the table, {len(rows)} in the cassette"]
    table_keys = [key_of(r, keys) for r in table_rows]
    problems = [f"{ep.name}: primary key {k} is in the table {table_keys.count(k)} times"
                for k in sorted(set(table_keys)) if table_keys.count(k) > 1]
    if all(k in r for r in rows for k in keys):
        want = {key_of(r, keys) for r in rows}
        if set(table_keys) != want:
            problems.append(f"{ep.name}: table keys differ from the cassette's: missing"
                            f" {sorted(want - set(table_keys))[:3]}, extra"
                            f" {sorted(set(table_keys) - want)[:3]}")
    return problems


def watermark_problems(catalog: dict[str, EndpointConfig], run: Replay, rows: list[dict]) -> list[str]:
    """The saved watermark is the newest incremental value among the recorded rows (or the
    starting watermark when nothing newer came back)."""
    from runtime.delta.columns import later_value
    from runtime.read.values import compare_key

    ep = catalog[run.schema]
    if not ep.incremental_fields:
        return [] if run.watermark_after.last is None else [
            f"{ep.name}: not incremental, yet a watermark was saved: {run.watermark_after}"]
    start = run.cassette.meta.get("watermark") or {}
    spec = ep.incremental_field(start.get("field"))
    want = start.get("last")
    for row in rows:
        want = later_value(want, row.get(spec.field))
    got = run.watermark_after.last
    if want is None and got is None:
        return []
    if None in (want, got) or compare_key(want, spec.type) != compare_key(got, spec.type):
        return [f"{ep.name}: saved watermark {spec.field}={got!r}, the cassette's rows say {want!r}"]
    return []
