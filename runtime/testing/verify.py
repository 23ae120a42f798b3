"""`gen-source verify`: check a connector's catalog against the live API.

For each table it reads up to `pages` pages through the connector's own client and
reader (the requests a sync makes) and checks what the plan assumed:

- pages: the paging advances (later pages bring rows not seen before) and stops, with no
  loop, and no page shows more data that the paginator does not follow (the guard);
- selector: the data selector finds the rows;
- key: the primary key is present in every row and unique across the pages read;
- incremental: a second read with the newest value read so far, sent in the filter
  parameter, returns no older rows (and fewer rows, when the first read saw the whole
  list);
- sort: rows arrive in the declared order along the incremental field;
- columns: the fields rows carry are declared columns of the declared types (fields the
  catalog lacks are spec gaps).

Fixes it is sure of become an `overrides/<source>.yaml` fragment; it never edits that
file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from runtime.catalog import EndpointConfig, IncrementalField
from runtime.read.reader import IncrementalWindow, ShapeError
from runtime.read.values import MISSING, compare_key, get_path

CHECKS = ("pages", "selector", "key", "incremental", "sort", "columns")
PASS, FAIL, NA = "pass", "FAIL", "-"
MAX_FANOUT_PAGES = 12  # child pages tried while looking for `pages` non-empty ones
IGNORED = " the server ignores the filter"
KEY_NAMES = (
    "id",
    "uuid",
    "gid",
    "key",
    "sid",
    "guid",
)  # identity columns a key fix may use
JSON_TYPES = {
    "string": (str,),
    "int64": (int,),
    "float64": (int, float),
    "bool": (bool,),
}


@dataclass
class Check:
    status: str = NA
    detail: str = ""


@dataclass
class TableReport:
    table: str
    path: str
    checks: dict[str, Check] = field(
        default_factory=lambda: {c: Check() for c in CHECKS}
    )
    fixes: dict[str, tuple[Any, str]] = field(
        default_factory=dict
    )  # key -> (value, why)
    hints: list[str] = field(default_factory=list)  # fixes it cannot complete itself
    shared_path: bool = False  # another table reads the same operation (a variant)

    @property
    def ok(self) -> bool:
        return all(c.status != FAIL for c in self.checks.values())

    def set(self, check: str, status: str, detail: str = "") -> None:
        self.checks[check] = Check(status, detail)


@dataclass
class _Sample:
    """What one read brought: pages of rows (after the connector's row transforms),
    whether the list ended, the raw body of the last response, and the error that
    stopped it."""

    pages: list[list[dict]] = field(default_factory=list)
    ended: bool = False
    last_body: object = None
    error: BaseException | None = None

    @property
    def rows(self) -> list[dict]:
        return [row for page in self.pages for row in page]


def verify_source(
    source: Any, config: Any, schemas: list[str], *, pages: int = 3
) -> list[TableReport]:
    """Check each of `schemas` against the API `config` points at; a report a table."""
    catalog: dict[str, EndpointConfig] = source.catalog
    reports = []
    for name in schemas:
        ep = catalog[name]
        report = TableReport(name, ep.path)
        report.shared_path = sum(1 for e in catalog.values() if e.path == ep.path) > 1
        _verify_table(source, config, ep, report, pages)
        reports.append(report)
    return reports


# -- reading ---------------------------------------------------------------------------


def _read(
    source: Any,
    config: Any,
    ep: EndpointConfig,
    pages: int,
    window: IncrementalWindow | None = None,
) -> _Sample:
    """Up to `pages` pages of `ep` through the connector's transport, exactly as a sync
    reads them (fan-out children: up to `pages` non-empty child lists' pages)."""
    sample = _Sample()
    context = {"source": source.source_name, "schema": ep.name, "job_id": None}
    try:
        with source.transport.client(
            config,
            context=context,
            allow_private_hosts=source.allow_private_hosts,
            headers=dict(ep.headers),
        ) as http:
            _tap_bodies(http, sample)
            reader = source.transport.reader(http, config, ep.name, incremental=window)
            for page, ended in _bounded(reader.pages(), ep, pages):
                sample.pages.append(page)
                sample.ended = ended
    except Exception as exc:  # noqa: BLE001 - loop, shape, HTTP...: the table fails
        sample.error = exc
    return sample


def _tap_bodies(http: Any, sample: _Sample) -> None:
    """Keep the last response body the reader's client got (for a selector fix)."""
    get_json = http.get_json

    def tapped(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        response, body = get_json(*args, **kwargs)
        sample.last_body = body
        return response, body

    http.get_json = tapped


def _bounded(
    pages: Iterator[Any], ep: EndpointConfig, limit: int
) -> Iterator[tuple[list[dict], bool]]:
    """(rows, list ended) for the first `limit` pages; the reader is lazy, so no request
    is made past them. For a fan-out child, empty child lists do not count (up to a
    budget)."""
    kept = tried = 0
    for page in pages:
        tried += 1
        state = page.resume_state
        ended = bool(
            (state.get("child") or {}).get("done") if ep.parent else state.get("done")
        )
        if ep.parent is None or page.rows:
            kept += 1
            yield page.rows, ended
        if kept >= limit or (ep.parent is not None and tried >= MAX_FANOUT_PAGES):
            return


# -- the checks ------------------------------------------------------------------------


def _verify_table(
    source: Any, config: Any, ep: EndpointConfig, report: TableReport, pages: int
) -> None:
    sample = _read(source, config, ep, pages)
    error = sample.error
    if isinstance(error, ShapeError):
        report.set("selector", FAIL, str(error))
        fix = _selector_fix(sample.last_body)
        if fix:
            report.fixes["data_selector"] = (fix, "the rows are there in the response")
        return
    if error is not None and not sample.pages:
        report.set("pages", FAIL, _one_line(error))
        _pagination_fix(error, report)
        return
    rows = sample.rows
    report.set("selector", PASS, f"{len(rows)} rows")
    _check_pages(ep, sample, report)
    if not rows:
        return
    _check_key(ep, sample, report)
    _check_columns(ep, rows, report)
    inc = ep.incremental_fields[0] if ep.incremental_fields else None
    if inc is not None:
        _check_sort(ep, inc, sample, report)
        if sample.error is None:
            _check_incremental(source, config, ep, sample, pages, report)
        else:
            report.set("incremental", NA, "not tried: reading the pages failed")


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {text}"


def _pagination_fix(error: BaseException, report: TableReport) -> None:
    fix = getattr(error, "fix", None)
    if not fix:
        return
    if any(str(v).startswith("<") for v in fix.values()):
        report.hints.append(
            "pagination: "
            + _flow(fix)
            + "  # fill in the <...> values from the API docs"
        )
    else:
        report.fixes["pagination"] = (fix, "the API pages on; the plan read one page")


def _digest(row: dict) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS, default=str)


def _check_pages(ep: EndpointConfig, sample: _Sample, report: TableReport) -> None:
    n = len(sample.pages)
    if sample.error is not None:
        report.set("pages", FAIL, f"after {n} page(s): {_one_line(sample.error)}")
        _pagination_fix(sample.error, report)
        return
    seen: set[bytes] = set()
    for number, page in enumerate(sample.pages, 1):
        digests = {_digest(row) for row in page}
        if number > 1 and ep.parent is None and page and digests <= seen:
            report.set(
                "pages",
                FAIL,
                f"page {number} repeats rows of earlier pages: the API does not advance"
                " on"
                f" {_position_param(ep)}",
            )
            return
        seen |= digests
    kind = ep.pagination.type
    lists = " (child lists)" if ep.parent is not None else ""
    if sample.ended:
        report.set("pages", PASS, f"{kind}: ended after {n} page(s){lists}")
    else:
        report.set(
            "pages", PASS, f"{kind}: {n} page(s) read{lists}, each with new rows"
        )


def _position_param(ep: EndpointConfig) -> str:
    params = ep.pagination.settings()
    for key in ("cursor_param", "offset_param", "page_param"):
        if params.get(key):
            return repr(params[key])
    return "the next-page link"


def _key_of(row: dict, key: tuple[str, ...]) -> tuple | None:
    values = tuple(row.get(k) for k in key)
    return None if any(v is None for v in values) else values


def _check_key(ep: EndpointConfig, sample: _Sample, report: TableReport) -> None:
    key = tuple(ep.primary_key or ())
    if not key:
        report.set("key", NA, "no primary key (full refresh only)")
        return
    rows = sample.rows
    missing = sum(1 for row in rows if _key_of(row, key) is None)
    counts: dict[tuple, int] = {}
    rows_by_key: dict[tuple, set[bytes]] = {}
    for row in rows:
        value = _key_of(row, key)
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
            rows_by_key.setdefault(value, set()).add(_digest(row))
    repeated = {k: n for k, n in counts.items() if n > 1}
    name = ", ".join(key)
    if not missing and not repeated:
        report.set("key", PASS, f"({name}) unique in {len(rows)} rows")
        return
    if missing:
        detail = f"{missing} of {len(rows)} rows lack ({name})"
    else:
        example = next(iter(repeated))
        detail = (
            f"({name}) repeats: {len(repeated)} values in {len(rows)} rows,"
            f" e.g. {_show(example)} ({repeated[example]} times)"
        )
        if all(len(rows_by_key[k]) == 1 for k in repeated):
            report.set("key", FAIL, detail + " as the same row: pages overlap")
            return
    report.set("key", FAIL, detail)
    fix = _key_fix(ep, rows)
    if fix:
        report.fixes["primary_key"] = (
            fix,
            f"unique and present in the {len(rows)} rows read",
        )


def _show(value: tuple) -> str:
    return json.dumps(value[0] if len(value) == 1 else list(value), default=str)


def _key_fix(ep: EndpointConfig, rows: list[dict]) -> list[str] | None:
    """An identity-named field unique and present in every row read (with the parent's
    column first for a fan-out child)."""
    prefix = (f"_{ep.parent.endpoint}_{ep.parent.field}",) if ep.parent else ()
    for name in KEY_NAMES:
        key = (*prefix, name)
        if key == tuple(ep.primary_key or ()):
            continue
        values = [_key_of(row, key) for row in rows]
        if all(v is not None for v in values) and len(set(values)) == len(values):
            return list(key)
    return None


def _check_columns(ep: EndpointConfig, rows: list[dict], report: TableReport) -> None:
    if not ep.columns:
        report.set("columns", NA, "the catalog declares no columns")
        return
    declared = {c.name: c.type for c in ep.columns}
    added = set()
    if ep.parent is not None:
        added = {
            f"_{ep.parent.endpoint}_{ep.parent.field}",
            *ep.parent.inherited.values(),
        }
    gaps: list[str] = []
    wrong: dict[str, str] = {}
    for row in rows:
        for name, value in row.items():
            if name in added:
                continue
            if name not in declared:
                if name not in gaps:
                    gaps.append(name)
                continue
            allowed = JSON_TYPES.get(declared[name])
            if value is None or allowed is None:
                continue
            bad = not isinstance(value, allowed) or (
                isinstance(value, bool) and declared[name] != "bool"
            )
            if bad and name not in wrong:
                wrong[name] = f"{name} ({declared[name]}, got {type(value).__name__})"
    problems = []
    if gaps:
        problems.append(
            f"{len(gaps)} field(s) the catalog does not declare (spec gaps): "
            + ", ".join(gaps)
        )
    if wrong:
        problems.append("values of another type: " + ", ".join(wrong.values()))
    if problems:
        report.set("columns", FAIL, "; ".join(problems))
    else:
        report.set("columns", PASS, f"{len(declared)} declared, all fields match")


def _values(rows: list[dict], inc: IncrementalField) -> list[Any]:
    out = []
    for row in rows:
        value = get_path(row, inc.field, MISSING)
        if value in (MISSING, None):
            continue
        try:
            out.append(compare_key(value, inc.type))
        except (TypeError, ValueError):
            continue
    return out


def _check_sort(
    ep: EndpointConfig,
    inc: IncrementalField,
    sample: _Sample,
    report: TableReport,
) -> None:
    lists = sample.pages if ep.parent is not None else [sample.rows]
    up = down = 0
    distinct = set()
    for rows in lists:
        values = _values(rows, inc)
        distinct |= set(values)
        for a, b in zip(values, values[1:], strict=False):
            up += b > a
            down += b < a
    if len(distinct) < 2:
        report.set("sort", NA, f"fewer than two distinct {inc.field} values")
        return
    declared = ep.sort_mode
    against = down if declared == "asc" else up
    if not against:
        report.set("sort", PASS, f"{declared} along {inc.field}")
        return
    other = "desc" if declared == "asc" else "asc"
    along = up if declared == "asc" else down
    report.set(
        "sort",
        FAIL,
        f"declared {declared} along {inc.field}, but {against} of"
        f" {up + down} steps go the other way",
    )
    if not along:
        report.fixes["sort_mode"] = (other, f"rows arrive {other} along {inc.field}")


def _check_incremental(
    source: Any,
    config: Any,
    ep: EndpointConfig,
    sample: _Sample,
    pages: int,
    report: TableReport,
) -> None:
    """Each incremental field's filter, tried with the newest value read. The fix (drop
    the filters the server ignores) is only sure when every other one was shown to
    work."""
    results = [
        (inc, *_narrows(source, config, ep, inc, sample, pages))
        for inc in ep.incremental_fields
    ]
    failed = [why for _, status, why in results if status == FAIL]
    if not failed:
        report.set(
            "incremental",
            PASS if any(status == PASS for _, status, _ in results) else NA,
            "; ".join(why for _, _, why in results),
        )
        return
    report.set("incremental", FAIL, "; ".join(failed))
    ignored = [why for why in failed if why.endswith(IGNORED)]
    undecided = any(status == NA for _, status, _ in results)
    if len(ignored) != len(failed) or undecided:
        return
    keep = [_field_json(inc) for inc, status, _ in results if status == PASS]
    what = "the filter is ignored" if not keep else "some filters are ignored"
    report.fixes["incremental_fields"] = (
        keep,
        f"{what}: a full read is the complete one",
    )


def _field_json(inc: IncrementalField) -> dict:
    out = {"field": inc.field, "type": inc.type, "filter_param": inc.filter_param}
    if inc.before_param:
        out["before_param"] = inc.before_param
    if inc.filter_expression:
        out["filter_expression"] = inc.filter_expression
    return out


def _narrows(
    source: Any,
    config: Any,
    ep: EndpointConfig,
    inc: IncrementalField,
    sample: _Sample,
    pages: int,
) -> tuple[str, str]:
    """(status, why) of `filter_param` = the newest value read: it must return no older
    rows and, when the first read saw the whole list, fewer rows."""
    raw = [row.get(inc.field) for row in sample.rows if row.get(inc.field) is not None]
    if not raw:
        return (
            FAIL,
            f"no row carries {inc.field!r}, so {inc.filter_param} cannot narrow",
        )
    newest = max(raw, key=lambda v: compare_key(v, inc.type))
    top = compare_key(newest, inc.type)
    window = IncrementalWindow(field=inc, last_value=newest, earliest_value=None)
    second = _read(source, config, ep, pages, window)
    sent = f"{inc.filter_param} with {inc.field} = {newest}"
    if second.error is not None:
        return FAIL, f"{sent}: the read failed: {_one_line(second.error)}"
    older = [v for v in _values(second.rows, inc) if v < top]
    if older:
        return (
            FAIL,
            f"{sent} still returned {len(older)} older row(s) of {len(second.rows)}:"
            + IGNORED,
        )
    ties = sum(1 for v in _values(sample.rows, inc) if v == top)
    if ties == len(sample.rows):
        return (
            NA,
            f"{inc.filter_param}: every row read has the same {inc.field}; cannot tell",
        )
    if sample.ended and len(second.rows) >= len(sample.rows):
        return (
            FAIL,
            f"{sent} returned {len(second.rows)} rows, as many as the whole list",
        )
    return PASS, f"{inc.filter_param} ({inc.field}) narrows: {len(second.rows)} row(s)"


def _selector_fix(body: object) -> str | None:
    """The one path in `body` (objects only, three levels deep) to a list of objects."""
    found: list[str] = []

    def walk(value: object, path: str, depth: int) -> None:
        if isinstance(value, list):
            if value and all(isinstance(v, dict) for v in value):
                found.append(path or "$")
            return
        if isinstance(value, dict) and depth < 3:
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else str(key), depth + 1)

    walk(body, "", 0)
    return found[0] if len(found) == 1 else None


# -- output ----------------------------------------------------------------------------


def format_report(source_name: str, reports: list[TableReport]) -> str:
    """The pass/fail table (one row per table, one column per check), then one line per
    check that failed."""
    width = max([len("table"), *(len(r.table) for r in reports)])
    head = f"{'table':<{width}}  " + "  ".join(f"{c:<11}" for c in CHECKS)
    lines = [head.rstrip(), "-" * len(head.rstrip())]
    for r in reports:
        cells = "  ".join(f"{r.checks[c].status:<11}" for c in CHECKS)
        lines.append(f"{r.table:<{width}}  {cells}".rstrip())
    failed = [(r, c) for r in reports for c in CHECKS if r.checks[c].status == FAIL]
    if failed:
        lines.append("")
    for r, c in failed:
        lines.append(f"{source_name}/{r.table}: {c}: {r.checks[c].detail}")
    ok = sum(1 for r in reports if r.ok)
    lines.append(f"{ok} of {len(reports)} table(s) pass every check")
    return "\n".join(lines)


def _flow(value: object) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**6)
    return text.strip().removesuffix("...").strip()


def suggested_overrides(source_name: str, reports: list[TableReport]) -> str:
    """An `overrides/<source>.yaml` fragment with the fixes verify is sure of (and, as
    comments, the ones a person must complete). Empty when there is nothing to
    suggest."""
    body = []
    for r in reports:
        if not (r.fixes or r.hints):
            continue
        body.append(f"  {json.dumps('GET ' + r.path)}:")
        if r.shared_path:
            body.append(
                f"    # table {r.table}: several tables read this operation; if"
                f" {r.table}"
                f" is a variant, put these under `variants: {{{r.table}: ...}}`"
            )
        for key, (value, why) in r.fixes.items():
            body.append(f"    {key}: {_flow(value)}  # {why}")
        for hint in r.hints:
            body.append(f"    # {hint}")
    if not body:
        return ""
    return (
        "\n".join(
            [
                f"# Suggested by `gen-source verify {source_name}`. Review, then merge"
                " into"
                f" overrides/{source_name}.yaml",
                "# (verify never edits that file) and run `gen-source "
                + source_name
                + "`.",
                "endpoints:",
                *body,
            ]
        )
        + "\n"
    )
