"""Recorded-cassette plumbing shared by `runtime.testing.record` and the generated replay tests.

A cassette is one vcrpy YAML file per (schema, run): the requests a real sync made and the
responses it got, secrets already scrubbed, plus a `gen_source` metadata block saying how it
was recorded (config with placeholder secrets, page-size cap, the watermark of an incremental
run). This module writes and reads that format, gives the reader the recording's caps
(`recording_limits`: the catalog is never changed) and replays a schema with recording off and the network blocked, collecting what the
replay tests assert on (`Replay`). The checks on a replay (rows, pagination, incremental
filter, saved state) live in `runtime.testing.cassette_checks`.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import orjson
import yaml
from deltalake import DeltaTable

from runtime.catalog import EndpointConfig
from runtime.project import find_root
from runtime.read.reader import ReadLimits
from runtime.source.connector import RestSource
from runtime.state.store import RESUME_KIND, StateStore, Watermark
from runtime.sync import run_schema

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
    style = (
        "|"
        if "\n" in value
        and not any(line != line.rstrip() for line in value.split("\n"))
        else None
    )
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
        return yaml.dump(
            ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
        )

    @staticmethod
    def deserialize(text: str) -> dict:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader


def make_vcr(record_mode: str, **options: Any):
    """A vcrpy `VCR` using this format, matching on the whole URL (query included)."""
    # Imported here: vcrpy is the [test] extra (1.5 s to import); without it, say so
    try:
        import vcr
    except ImportError:  # pragma: no cover - vcrpy is a test dependency
        raise RuntimeError(
            "cassettes need vcrpy: pip install 'gen-source[test]'"
        ) from None
    recorder = vcr.VCR(
        record_mode=record_mode,
        match_on=MATCH_ON,
        serializer=SERIALIZER,
        decode_compressed_response=True,
        **options,
    )
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
        raise CassetteError(
            f"{path}: no '{META_KEY}' metadata; record it with `gen-source record`"
        )
    out = []
    for item in data.get("interactions") or []:
        req, resp = item["request"], item["response"]
        body = (resp.get("body") or {}).get("string") or b""
        headers = {k.lower(): list(v) for k, v in (resp.get("headers") or {}).items()}
        out.append(
            Interaction(
                req["method"],
                req["uri"],
                int(resp["status"]["code"]),
                headers,
                body.encode() if isinstance(body, str) else body,
            )
        )
    return CassetteFile(Path(path), meta, out)


def cassette_folder(source: str, start: Path | None = None) -> Path:
    """`<project root>/tests/cassettes/<source>`: the root is GEN_SOURCE_ROOT, else the nearest
    project folder above `start` (then the working directory)."""
    for base in (start, None) if start is not None else (None,):
        root = find_root(base)
        if root is not None:
            return root / "tests" / "cassettes" / source
    raise FileNotFoundError(
        f"no gen-source project above {start or Path.cwd()}; set GEN_SOURCE_ROOT"
    )


# -- recording settings -------------------------------------------------------------------------


def chain(catalog: dict[str, EndpointConfig], name: str) -> list[EndpointConfig]:
    """The endpoint and its fan-out parents, child first."""
    out, seen = [], set()
    while name and name not in seen and name in catalog:
        seen.add(name)
        out.append(catalog[name])
        name = catalog[name].parent.endpoint if catalog[name].parent else ""
    return out


def recording_limits(meta: dict) -> ReadLimits:
    """The caps a cassette was recorded with (its `gen_source` metadata), for the
    replay's reader: the same page size cap and page count, so the requests are the
    recorded ones."""
    return ReadLimits(
        page_size=(meta.get("page_size") or {}).get("recorded"),
        max_pages=meta.get("max_pages"),
    )


@contextmanager
def network_blocked() -> Iterator[None]:
    """Refuse every outgoing IP connection: a replay that reaches for the network fails."""

    def refuse(sock: socket.socket, address: Any, *args: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise ConnectionRefusedError(
                f"network is blocked during replay (tried {address!r})"
            )
        return real_connect(sock, address, *args)

    real_connect = socket.socket.connect
    with (
        mock.patch.object(socket.socket, "connect", refuse),
        mock.patch.object(socket.socket, "connect_ex", refuse),
    ):
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
    watermark_after: Any = None  # runtime.state.store.Watermark

    @property
    def recorded(self) -> list[str]:
        return [f"{i.method} {i.uri}" for i in self.cassette.interactions]


def source_class(package: Any) -> type:
    for value in vars(package.source).values():
        if (
            isinstance(value, type)
            and issubclass(value, RestSource)
            and value is not RestSource
        ):
            return value
    raise CassetteError(f"{package.__name__}: source.py defines no source class")


def check_page_sizes(catalog: dict[str, EndpointConfig], meta: dict) -> None:
    """The connector's own page sizes must be those the cassette was recorded with (the cap
    hides them from the requests, so they are compared here)."""
    recorded = (meta.get("page_size") or {}).get("connector") or {}
    for name, size in sorted(recorded.items()):
        now = catalog[name].page_size if name in catalog else "absent"
        if now != size:
            raise CassetteError(
                f"endpoint {name}: page_size is {now}, the cassette was recorded"
                f" with {size}; re-record it with `gen-source record`"
            )


def replay_schema(
    package: Any, path: Path, workdir: Path, *, check_response: Any = None
) -> Replay:
    """Run the cassette's sync again with recording off (`record_mode="none"`) and the network
    blocked. `check_response(url, status, content_type, body, endpoint=...)` sees every
    recorded response first. The resume state the source saves after each page is logged with
    the number of requests made by then, so it can be checked against the next request."""
    cassette = read_cassette(path)
    meta = cassette.meta
    schema, source_name = meta["schema"], meta["source"]
    catalog = package.settings.ENDPOINTS
    if schema not in catalog:
        raise CassetteError(
            f"{path.name}: schema {schema!r} is not in the catalog any more"
        )
    check_page_sizes(catalog, meta)
    if check_response is not None:
        for item in cassette.interactions:
            check_response(
                item.uri,
                item.status,
                item.header("content-type"),
                item.body,
                endpoint=endpoint_of(catalog, schema, item, meta) or schema,
            )
    cls = source_class(package)
    config = cls.config_class(**meta["config"])
    store = StateStore(workdir / "state.db")
    if meta.get("watermark"):
        store.set_watermark(source_name, schema, Watermark.from_json(meta["watermark"]))
    # No DNS lookups (the cassette answers); the recording's caps go to the reader.
    source = cls(allow_private_hosts=True, limits=recording_limits(meta))
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
    recorder = make_vcr("none")  # each recorded response plays once (vcrpy default)
    try:
        with network_blocked(), recorder.use_cassette(str(path)) as tape:
            play = tape.play_response

            def played(request):
                response = play(request)
                run.requests.append(f"{request.method} {request.uri}")
                return response

            tape.play_response = played
            run.result = run_schema(
                source,
                config,
                schema,
                dest=str(workdir / "dest"),
                source_name=source_name,
                store=store,
            )
        run.rows = DeltaTable(run.result.table_uri).to_pyarrow_table().to_pylist()
        run.resume_state_after = store.get(source_name, schema, RESUME_KIND)
        run.watermark_after = store.get_watermark(source_name, schema)
    finally:
        store.close()
    return run


def endpoint_of(
    catalog: dict[str, EndpointConfig], schema: str, item: Interaction, meta: dict
) -> str | None:
    """Which endpoint of the schema's chain (itself or a fan-out parent) a request read."""
    base_path = httpx.URL(meta["config"].get("base_url") or "http://x").path.rstrip("/")
    path = item.url.path.removeprefix(base_path)
    for ep in chain(catalog, schema):
        parts = re.split(r"(\{[^{}]+\})", ep.path)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        if re.fullmatch(regex, path):
            return ep.name
    return None
