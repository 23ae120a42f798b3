"""The checks a generated replay test runs on a replayed cassette: rows, pagination, the
incremental filter, saved resume state, primary keys and the saved watermark.

Every expected value comes from the cassette and the catalog only, never from the connector's
own code, so a change in the connector that alters what it requests or stores fails the
replay test. `runtime.testing.cassettes` holds the file format and the replay itself;
`check_replay` here is the one call a generated replay test makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from runtime.catalog import (
    CursorPagination,
    EndpointConfig,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
)
from runtime.delta.columns import later_value
from runtime.read.paginators import parse_link_header
from runtime.read.reader import lift_resource
from runtime.read.values import MISSING, compare_key, format_incremental, get_path
from runtime.source.connector import load_connector
from runtime.testing.cassettes import (
    CassetteError,
    CassetteFile,
    Interaction,
    Replay,
    cassette_folder,
    endpoint_of,
    replay_schema,
    source_class,
)


def recorded_rows(
    catalog: dict[str, EndpointConfig],
    schema: str,
    cassette: CassetteFile,
    hooks: Any = None,
) -> list[dict]:
    """The schema's rows as the recorded bodies hold them (data selector, JSON:API lifting and
    the row hook applied, as the reader does)."""
    ep = catalog[schema]
    lift = getattr(ep, "row_format", "plain") == "jsonapi"
    transform = getattr(hooks, "transform_row", None)
    rows: list[dict] = []
    for item in cassette.interactions:
        if (
            not 200 <= item.status < 300
            or endpoint_of(catalog, schema, item, cassette.meta) != schema
        ):
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


def _next_page(
    ep: EndpointConfig, item: Interaction, page_number: int, recorded: dict
) -> tuple | None:
    """What the request after this page must carry, read from this page's response alone:
    ("param", name, value) or ("url", url); None when this page is the last one (or the
    endpoint's cap or the recording's `max_pages` stopped the listing there). `recorded`: the
    cassette's `gen_source` metadata (the page size and page count it was recorded with)."""
    p, body = ep.pagination, item.json()
    caps = [int(c) for c in (ep.max_pages, recorded.get("max_pages")) if c]
    if caps and page_number >= min(caps):
        return None
    rows = get_path(body, ep.data_selector or "$", None)
    rows = rows if isinstance(rows, list) else []
    if isinstance(p, CursorPagination):
        value = get_path(body, p.cursor_path, MISSING)
        if value is MISSING and "[-1]." in p.cursor_path and rows:
            value = get_path(rows[-1], p.cursor_path.split("[-1].", 1)[1], MISSING)
        more = (
            bool(get_path(body, p.has_more_path, False))
            if p.has_more_path
            else bool(rows)
        )
        return (
            ("param", p.cursor_param, value)
            if more and value not in (MISSING, None, "")
            else None
        )
    if isinstance(p, NextUrlPagination | LinkHeaderPagination):
        found = (
            get_path(body, p.next_url_path)
            if isinstance(p, NextUrlPagination)
            else parse_link_header(item.header("link")).get("next")
        )
        if not isinstance(found, str) or not found:
            return None
        if found.startswith("/"):
            found = f"{item.url.scheme}://{item.url.netloc.decode()}{found}"
        return "url", str(item.url.join(found))
    if isinstance(p, OffsetPagination | PageNumberPagination):
        total = get_path(body, p.total_path) if p.total_path else None
        size, recorded_size = (
            p.page_size,
            (recorded.get("page_size") or {}).get("recorded"),
        )
        if size and recorded_size:
            size = min(size, int(recorded_size))
        if (
            not rows
            or (size and len(rows) < size)
            or (isinstance(total, int) and total <= 0)
        ):
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


def check_pagination(
    catalog: dict[str, EndpointConfig],
    cassette: CassetteFile,
    ignore: set[str] = frozenset(),
) -> Pages:
    """Every page after the first must carry what the page before it announced (the cursor,
    the next URL, the next offset or page); a first page must not carry a cursor; an
    announced page must be read (unless the page cap stopped it). `ignore`: query params the
    auth adds (an API key), which a next link does not carry."""
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
            if (
                isinstance(ep.pagination, CursorPagination)
                and ep.pagination.cursor_param in item.url.params
            ):
                out.problems.append(
                    f"{where}: a first page carries the cursor parameter"
                )
        elif expect[0] == "param":
            out.later += 1
            got = item.url.params.get(expect[1])
            if got != str(expect[2]):
                out.problems.append(
                    f"{where}: {expect[1]}={got!r}, the previous page announced"
                    f" {expect[2]!r}"
                )
        else:
            out.later += 1
            want = httpx.URL(expect[1])
            if want.path != item.url.path or _query(want, ignore) != _query(
                item.url, ignore
            ):
                out.problems.append(
                    f"{where}: requested {item.uri}, the previous page announced"
                    f" {expect[1]}"
                )
        nxt = _next_page(ep, item, count + 1, cassette.meta)
        if nxt is not None:
            pending[name] = (nxt, count + 1)
    for name, (expect, _) in sorted(pending.items()):
        out.problems.append(
            f"{name}: the last recorded page announces {expect[1:]} but it was"
            " never requested"
        )
    return out


def incremental_filters(
    catalog: dict[str, EndpointConfig], cassette: CassetteFile
) -> tuple[str, list]:
    """(the filter value the saved watermark must produce, the values the recorded first pages
    of the schema sent in the filter parameter)."""
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
        first = previous is None or _next_page(ep, previous, 1, cassette.meta) is None
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
        inner = (
            (state or {}).get("child")
            if (state or {}).get("pass") == "fanout"
            else state
        )
        if not inner or "url" not in inner:
            continue
        url = inner["url"]
        target = httpx.URL(url if "://" in url else str(base).rstrip("/") + url)
        params = {k: v for k, v in (inner.get("params") or {}).items() if v is not None}
        target = target.copy_merge_params(params) if params else target
        if made >= len(run.cassette.interactions):
            problems.append(
                f"page {number}: resume state points at {target}, but no request followed"
            )
            continue
        actual = run.cassette.interactions[made].url
        if target.path != actual.path or _query(target, ignore) != _query(
            actual, ignore
        ):
            problems.append(
                f"page {number}: resume state points at {target}, the next request"
                f" was {actual}"
            )
    if run.resume_state_after is not None:
        problems.append(
            f"a resume state is left after the run: {run.resume_state_after}"
        )
    return problems


def auth_query_params(auth: dict | None) -> set[str]:
    """Query parameters the auth adds to every request (a next link does not carry them)."""
    auth = auth or {}
    return (
        {auth["name"]}
        if auth.get("type") == "api_key" and auth.get("in") == "query"
        else set()
    )


def row_key_problems(
    ep: EndpointConfig, table_rows: list[dict], rows: list[dict]
) -> list[str]:
    """Primary keys are unique in the table and are the recorded rows' keys (when the recorded
    rows carry every key column; fan-out columns are added by the reader)."""
    keys = ep.primary_key
    if not keys:
        return (
            []
            if len(table_rows) == len(rows)
            else [
                f"{ep.name}: {len(table_rows)} rows in the table, {len(rows)} in the cassette"
            ]
        )
    table_keys = [key_of(r, keys) for r in table_rows]
    problems = [
        f"{ep.name}: primary key {k} is in the table {table_keys.count(k)} times"
        for k in sorted(set(table_keys))
        if table_keys.count(k) > 1
    ]
    if all(k in r for r in rows for k in keys):
        want = {key_of(r, keys) for r in rows}
        if set(table_keys) != want:
            problems.append(
                f"{ep.name}: table keys differ from the cassette's: missing"
                f" {sorted(want - set(table_keys))[:3]}, extra"
                f" {sorted(set(table_keys) - want)[:3]}"
            )
    return problems


def watermark_problems(
    catalog: dict[str, EndpointConfig], run: Replay, rows: list[dict]
) -> list[str]:
    """The saved watermark is the newest incremental value among the recorded rows (or the
    starting watermark when nothing newer came back)."""
    ep = catalog[run.schema]
    if not ep.incremental_fields:
        return (
            []
            if run.watermark_after.last is None
            else [
                f"{ep.name}: not incremental, yet a watermark was saved: {run.watermark_after}"
            ]
        )
    start = run.cassette.meta.get("watermark") or {}
    spec = ep.incremental_field(start.get("field"))
    want = start.get("last")
    for row in rows:
        want = later_value(want, row.get(spec.field))
    got = run.watermark_after.last
    if want is None and got is None:
        return []
    if None in (want, got) or compare_key(want, spec.type) != compare_key(
        got, spec.type
    ):
        return [
            f"{ep.name}: saved watermark {spec.field}={got!r}, the cassette's rows say {want!r}"
        ]
    return []


def check_replay(
    connector: Path,
    source: str,
    schema: str,
    cassette: str,
    workdir: Path,
    *,
    check_response: Callable[..., None] | None = None,
) -> Replay:
    """The replay test of one cassette, as each generated `tests/test_replay.py` runs
    it for `tests/cassettes/<source>/<cassette>` and the connector in folder
    `connector`: replay the sync with the network blocked (every recorded response
    passed to `check_response` first), then check that it made exactly the recorded
    requests, stored the recorded rows under unique keys, paged as each page announced,
    sent the saved watermark in the filter, and left consistent resume state and
    watermark. Raises `CassetteError` naming everything that differs."""
    package = load_connector(connector)
    path = cassette_folder(source, Path(connector)) / cassette
    run = replay_schema(package, path, workdir, check_response=check_response)
    catalog = package.settings.ENDPOINTS
    ignore = auth_query_params(package.settings.AUTH)
    problems: list[str] = []
    if run.schema != schema:
        problems.append(
            f"the cassette is of table {run.schema!r}, listed for {schema!r}"
        )
    # Exactly the recorded requests, in the recorded order, each once.
    if run.requests != run.recorded:
        made, want = set(run.requests), set(run.recorded)
        problems.append(
            f"{len(run.requests)} requests made, {len(run.recorded)} recorded;"
            f" not recorded: {sorted(made - want)[:2]}, not made:"
            f" {sorted(want - made)[:2]} (or another order)"
        )
    # As many rows as the recorded bodies hold; primary keys unique, the recorded ones.
    rows = recorded_rows(
        catalog, schema, run.cassette, source_class(package).transport.HOOKS
    )
    if run.result.rows != len(rows):
        problems.append(
            f"{run.result.rows} rows synced, the recorded bodies hold {len(rows)}"
        )
    problems += row_key_problems(catalog[schema], run.rows, rows)
    # Every later page carries the cursor / next URL / offset the page before gave.
    pages = check_pagination(catalog, run.cassette, ignore)
    problems += pages.problems
    if pages.first + pages.later != len(run.recorded):
        problems.append(
            f"{pages.first} first and {pages.later} later pages of"
            f" {len(run.recorded)} recorded requests belong to the table's listings"
        )
    # An incremental run sends the saved watermark in the filter of every listing.
    want, sent = incremental_filters(catalog, run.cassette)
    if sent != [want] * len(sent):
        problems.append(
            f"the incremental filter sent {sent}, the saved watermark gives {want!r}"
        )
    if not sent and "watermark" in run.cassette.meta:
        problems.append(
            "an incremental cassette whose requests carry no incremental filter"
        )
    # Saved state: each mid-listing resume state points at the request made next, none
    # is left after the run, and the watermark is the newest incremental value.
    problems += resume_problems(run, ignore)
    problems += watermark_problems(catalog, run, rows)
    if problems:
        raise CassetteError(f"{path.name}: " + "; ".join(problems))
    return run
