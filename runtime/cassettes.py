"""Recorded-cassette plumbing shared by `runtime.record` and the generated replay tests.

A cassette is one vcrpy YAML file per (schema, run): the requests a real sync made and the
responses it got, secrets already scrubbed, plus a `gen_source` metadata block saying how it
was recorded (config with placeholder secrets, page-size cap, the watermark of an incremental
run). This module writes and reads that format, applies the recording's page-size cap to a
catalog, and replays a schema with recording off and the network blocked, collecting what the
replay tests assert on (`Replay`). The checks at the bottom (rows, pagination, incremental
filter, saved state) take their expected values from the cassette and the catalog only.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import orjson
import yaml

from runtime.catalog import EndpointConfig, Pagination

FORMAT_VERSION = 1
META_KEY = "gen_source"
SERIALIZER = "gen-source-yaml"
MATCH_ON = ("method", "scheme", "host", "port", "path", "query")


class CassetteError(AssertionError):
    """A cassette that does not fit the connector any more (one line, naming what differs)."""


# -- file format ------------------------------------------------------------------------------


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):
    """Block literals for multi-line strings, so pretty-printed JSON bodies diff line by line."""


def _str(dumper: _SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")) \
        else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


class YamlSerializer:
    """vcrpy serializer: metadata first, then the interactions, in a stable layout."""

    @staticmethod
    def serialize(data: dict) -> str:
        ordered = {"version": data.get("version", FORMAT_VERSION)}
        if data.get("metadata"):
            ordered["metadata"] = data["metadata"]
        ordered["interactions"] = data.get("interactions", [])
        return yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)

    @staticmethod
    def deserialize(text: str) -> dict:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader


def make_vcr(record_mode: str, **options: Any):
    """A vcrpy `VCR` using this format, matching on the whole URL (query included)."""
    try:
        import vcr
    except ImportError:  # pragma: no cover - vcrpy is a test dependency
        raise RuntimeError("cassettes need vcrpy: pip install 'gen-source[test]'") from None
    recorder = vcr.VCR(record_mode=record_mode, match_on=MATCH_ON, serializer=SERIALIZER,
                       decode_compressed_response=True, **options)
    recorder.register_serializer(SERIALIZER, YamlSerializer)
    return recorder


@dataclass
class Interaction:
    method: str
    uri: str
    status: int
    headers: dict[str, list[str]]
    body: bytes

    @property
    def url(self) -> httpx.URL:
        return httpx.URL(self.uri)

    def header(self, name: str) -> str:
        return ", ".join(self.headers.get(name.lower(), []))

    def json(self) -> Any:
        try:
            return orjson.loads(self.body) if self.body else None
        except orjson.JSONDecodeError:
            return None


@dataclass
class CassetteFile:
    path: Path
    meta: dict
    interactions: list[Interaction]


def read_cassette(path: Path) -> CassetteFile:
    data = YamlSerializer.deserialize(Path(path).read_text()) or {}
    meta = (data.get("metadata") or {}).get(META_KEY)
    if not isinstance(meta, dict):
        raise CassetteError(f"{path}: no '{META_KEY}' metadata; record it with `gen-source record`")
    out = []
    for item in data.get("interactions") or []:
        req, resp = item["request"], item["response"]
        body = (resp.get("body") or {}).get("string") or b""
        headers = {k.lower(): list(v) for k, v in (resp.get("headers") or {}).items()}
        out.append(Interaction(req["method"], req["uri"], int(resp["status"]["code"]), headers,
                               body.encode() if isinstance(body, str) else body))
    return CassetteFile(Path(path), meta, out)


def cassette_folder(source: str, start: Path | None = None) -> Path:
    """`<project root>/tests/cassettes/<source>`: the root is GEN_SOURCE_ROOT, else the nearest
    folder above `start` (then the working directory) with a pyproject naming gen-source."""
    env = os.environ.get("GEN_SOURCE_ROOT")
    if env:
        return Path(env).resolve() / "tests" / "cassettes" / source
    for base in [p for p in (start, Path.cwd()) if p is not None]:
        for folder in (base.resolve(), *base.resolve().parents):
            py = folder / "pyproject.toml"
            if py.is_file() and 'name = "gen-source"' in py.read_text(errors="replace"):
                return folder / "tests" / "cassettes" / source
    raise FileNotFoundError(f"no gen-source project above {start or Path.cwd()}; set GEN_SOURCE_ROOT")


# -- recording settings -------------------------------------------------------------------------


def chain(catalog: dict[str, EndpointConfig], name: str) -> list[EndpointConfig]:
    """The endpoint and its fan-out parents, child first."""
    out, seen = [], set()
    while name and name not in seen and name in catalog:
        seen.add(name)
        out.append(catalog[name])
        name = catalog[name].parent.endpoint if catalog[name].parent else ""
    return out


@contextmanager
def recording_settings(catalog: dict[str, EndpointConfig], page_size: int | None,
                       max_pages: int | None) -> Iterator[None]:
    """Cap every endpoint's page size (only where it sends one) and page count, in place, for
    the duration; the catalog is restored after. Recording and replay use the same caps, so
    cassettes stay small while the connector's own requests are otherwise unchanged."""
    saved = dict(catalog)
    try:
        for name, ep in saved.items():
            changes: dict[str, Any] = {}
            if page_size and ep.page_size and ep.page_size > page_size:
                changes["page_size"] = page_size
            if max_pages and ep.pagination.type != "single_page":
                own = ep.pagination.params.get("max_pages")
                cap = min(int(own), max_pages) if own else max_pages
                changes["pagination"] = Pagination(ep.pagination.type,
                                                   {**ep.pagination.params, "max_pages": cap})
            if changes:
                catalog[name] = replace(ep, **changes)
        yield
    finally:
        catalog.clear()
        catalog.update(saved)


@contextmanager
def network_blocked() -> Iterator[None]:
    """Refuse every outgoing IP connection: a replay that reaches for the network fails."""

    def refuse(sock: socket.socket, address: Any, *args: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise ConnectionRefusedError(f"network is blocked during replay (tried {address!r})")
        return real_connect(sock, address, *args)

    real_connect = socket.socket.connect
    with mock.patch.object(socket.socket, "connect", refuse), \
            mock.patch.object(socket.socket, "connect_ex", refuse):
        yield


# -- replay -----------------------------------------------------------------------------------


@dataclass
class Replay:
    """What one replayed run did, next to the cassette it replayed."""

    cassette: CassetteFile
    schema: str
    result: Any  # runtime.sync.SchemaResult
    requests: list[str] = field(default_factory=list)  # "GET <uri>" in the order made
    # (resume state handed to the state manager after a page, requests made by then)
    states: list[tuple[dict, int]] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)  # the Delta table after the run
    resume_state_after: dict | None = None
    watermark_after: Any = None  # runtime.state.Watermark

    @property
    def recorded(self) -> list[str]:
        return [f"{i.method} {i.uri}" for i in self.cassette.interactions]


def source_class(package: Any) -> type:
    from runtime.connector import RestSource

    for value in vars(package.source).values():
        if isinstance(value, type) and issubclass(value, RestSource) and value is not RestSource:
            return value
    raise CassetteError(f"{package.__name__}: source.py defines no source class")


def check_page_sizes(catalog: dict[str, EndpointConfig], meta: dict) -> None:
    """The connector's own page sizes must be those the cassette was recorded with (the cap
    hides them from the requests, so they are compared here)."""
    recorded = (meta.get("page_size") or {}).get("connector") or {}
    for name, size in sorted(recorded.items()):
        now = catalog[name].page_size if name in catalog else "absent"
        if now != size:
            raise CassetteError(f"endpoint {name}: page_size is {now}, the cassette was recorded"
                                f" with {size}; re-record it with `gen-source record`")


def replay_schema(package: Any, path: Path, workdir: Path, *,
                  check_response: Any = None) -> Replay:
    """Run the cassette's sync again with recording off (`record_mode="none"`) and the network
    blocked. `check_response(url, status, content_type, body, endpoint=...)` sees every
    recorded response first. The resume state the source saves after each page is logged with
    the number of requests made by then, so it can be checked against the next request."""
    from runtime.state import RESUME_KIND, StateStore, Watermark
    from runtime.sync import run_schema

    cassette = read_cassette(path)
    meta = cassette.meta
    schema, source_name = meta["schema"], meta["source"]
    catalog = package.settings.ENDPOINTS
    if schema not in catalog:
        raise CassetteError(f"{path.name}: schema {schema!r} is not in the catalog any more")
    check_page_sizes(catalog, meta)
    if check_response is not None:
        for item in cassette.interactions:
            check_response(item.uri, item.status, item.header("content-type"), item.body,
                           endpoint=endpoint_of(catalog, schema, item, meta) or schema)
    cls = source_class(package)
    config = cls.config_class(**meta["config"])
    store = StateStore(workdir / "state.db")
    if meta.get("watermark"):
        store.set_watermark(source_name, schema, Watermark.from_json(meta["watermark"]))
    source = cls(allow_private_hosts=True)  # no DNS lookups: the cassette answers
    run = Replay(cassette, schema, None)
    make_manager = source.get_resumable_source_manager

    def manager_with_log(inputs):
        manager = make_manager(inputs)
        save = manager.save_state

        def logged(state: dict) -> None:
            save(state)
            run.states.append((state, len(run.requests)))

        manager.save_state = logged
        return manager

    source.get_resumable_source_manager = manager_with_log
    caps = meta.get("page_size") or {}
    recorder = make_vcr("none")  # each recorded response plays once (vcrpy default)
    try:
        with recording_settings(catalog, caps.get("recorded"), meta.get("max_pages")), \
                network_blocked(), recorder.use_cassette(str(path)) as tape:
            play = tape.play_response

            def played(request):
                response = play(request)
                run.requests.append(f"{request.method} {request.uri}")
                return response

            tape.play_response = played
            run.result = run_schema(source, config, schema, dest=str(workdir / "dest"),
                                    source_name=source_name, store=store)
        from deltalake import DeltaTable

        run.rows = DeltaTable(run.result.table_uri).to_pyarrow_table().to_pylist()
        run.resume_state_after = store.get(source_name, schema, RESUME_KIND)
        run.watermark_after = store.get_watermark(source_name, schema)
    finally:
        store.close()
    return run


def endpoint_of(catalog: dict[str, EndpointConfig], schema: str, item: Interaction,
                meta: dict) -> str | None:
    """Which endpoint of the schema's chain (itself or a fan-out parent) a request read."""
    import re

    base_path = httpx.URL(meta["config"].get("base_url") or "http://x").path.rstrip("/")
    path = item.url.path.removeprefix(base_path)
    for ep in chain(catalog, schema):
        parts = re.split(r"(\{[^{}]+\})", ep.path)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        if re.fullmatch(regex, path):
            return ep.name
    return None


# -- expectations from the cassette and the catalog ----------------------------------------------


def recorded_rows(catalog: dict[str, EndpointConfig], schema: str, cassette: CassetteFile,
                  hooks: Any = None) -> list[dict]:
    """The schema's rows as the recorded bodies hold them (data selector, JSON:API lifting and
    the row hook applied, as the reader does)."""
    from runtime.reader import lift_resource
    from runtime.values import get_path

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
    from runtime.paginators import parse_link_header
    from runtime.values import MISSING, get_path

    p, body = ep.pagination.params, item.json()
    cap = p.get("max_pages")
    if cap and page_number >= int(cap):
        return None
    rows = get_path(body, ep.data_selector or "$", None)
    rows = rows if isinstance(rows, list) else []
    kind = ep.pagination.type
    if kind == "cursor":
        value = get_path(body, p["cursor_path"], MISSING)
        if value is MISSING and "[-1]." in p["cursor_path"] and rows:
            value = get_path(rows[-1], p["cursor_path"].split("[-1].", 1)[1], MISSING)
        more = bool(get_path(body, p["has_more_path"], False)) if p.get("has_more_path") else bool(rows)
        return ("param", p["cursor_param"], value) if more and value not in (MISSING, None, "") else None
    if kind in ("next_url", "link_header"):
        found = (get_path(body, p["next_url_path"]) if kind == "next_url"
                 else parse_link_header(item.header("link")).get("next"))
        if not isinstance(found, str) or not found:
            return None
        if found.startswith("/"):
            found = f"{item.url.scheme}://{item.url.netloc.decode()}{found}"
        return "url", str(item.url.join(found))
    if kind in ("offset", "page_number"):
        size = ep.page_size or p.get("page_size")
        total = get_path(body, p["total_path"]) if p.get("total_path") else None
        if not rows or (size and len(rows) < int(size)) or (isinstance(total, int) and total <= 0):
            return None
        if kind == "offset":
            now = int(item.url.params.get(p["offset_param"], p.get("base_offset", 0)))
            return "param", p["offset_param"], now + len(rows)
        now = int(item.url.params.get(p["page_param"], p.get("base_page", 1)))
        return "param", p["page_param"], now + 1
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
            if ep.pagination.type == "cursor" and ep.pagination.params["cursor_param"] in item.url.params:
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
    from runtime.values import format_incremental

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
    from runtime.pipeline import later_value
    from runtime.values import compare_key

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
