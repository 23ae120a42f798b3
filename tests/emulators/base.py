"""Shared machinery for the vendor emulators: a loopback HTTP server in a background
thread, a request log, a fault plan, a deterministic clock and an in-memory row store.

Why a hand-written server: tests have no internet, and each emulator must behave as
the vendor's *documentation* says (not as the generator believes), so a wrong
generator decision makes a test fail. Standard library only, so it starts in
milliseconds and adds no dependency.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit

from .faults import Fault, FaultPlan


# 2024-01-01T00:00:00Z: every generated time derives from this and the seed, never
# from the wall clock, so two runs with one seed serve byte-identical data.
EPOCH_BASE = 1_704_067_200
STEP = 3600  # seconds between consecutive generated rows of one resource


class RecordedRequest(tuple):
    """One request as the emulator saw it: a `(method, path, query)` tuple (so tests
    can unpack or compare it) that also carries `.headers` (secrets masked),
    `.status` and `.fault` (the fault kind served, or None)."""

    method = property(lambda self: self[0])
    path = property(lambda self: self[1])
    query = property(lambda self: self[2])

    def __new__(
        cls,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str] | None = None,
        status: int = 0,
        fault: str | None = None,
    ) -> RecordedRequest:
        self = super().__new__(cls, (method, path, query))
        self.headers, self.status, self.fault = headers or {}, status, fault
        return self

    def __repr__(self) -> str:
        return f"RecordedRequest{tuple(self)!r} status={self.status} fault={self.fault}"


@dataclass
class Request:
    """What a vendor handler needs from an HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    pairs: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    base_url: str

    def url(self, path: str | None = None, **changes: str | int | None) -> str:
        """Absolute URL of this request with some query parameters replaced
        (None removes one); used to build next/prev links."""
        query = {k: v for k, v in self.query.items() if k not in changes}
        query.update({k: str(v) for k, v in changes.items() if v is not None})
        qs = urlencode(query)
        return f"{self.base_url}{path or self.path}" + (f"?{qs}" if qs else "")


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class ResourceDef:
    """How one store table is made and mutated.

    make(index, epoch_seconds, rng, parent_id) returns a vendor-shaped row.
    time fields are dotted paths into the row; fmt/parse convert epoch seconds
    to and from the vendor's representation."""

    key: str
    make: Callable[[int, int, random.Random, str | None], dict]
    id_field: str = "id"
    created_field: str | None = None
    updated_field: str | None = None
    parent: str | None = None  # store key of the parent resource (fan-out children)
    # the field naming a row in its children's paths (else id_field)
    path_field: str | None = None
    per_parent: tuple[int, int] = (0, 3)  # children per parent row (min, max)
    count: int | None = None  # fixed row count instead of the emulator's `rows`
    mutate: Callable[[dict, int], None] | None = None  # extra change on touch()


def dig(row: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(row, dict):
            return None
        row = row.get(part)
    return row


def put(row: dict, dotted: str, value: Any) -> None:
    *head, last = dotted.split(".")
    for part in head:
        row = row.setdefault(part, {})
    row[last] = value


class Emulator:
    """Base class: owns the server, store, log and faults. A vendor describes its
    resources (`resource_defs`) and implements `check_auth`, `handle` and `error`
    (its error body shape), plus `fmt_time`/`parse_time` for its time format."""

    name = "base"
    default_api_key = "emulator-key"

    def __init__(
        self,
        *,
        port: int = 0,
        rows: int = 250,
        seed: int = 1,
        api_key: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("emulators listen on loopback only")
        self.host, self.port, self.rows, self.seed = "127.0.0.1", port, rows, seed
        self.api_key = api_key or self.default_api_key
        self.requests: list[RecordedRequest] = []
        self.faults = FaultPlan()
        self.store: dict[str, list[dict]] = {}
        # (child resource, child row id) -> the parent's path value
        self.parent_of: dict[tuple[str, str], str] = {}
        self.lock = threading.RLock()
        self.now = EPOCH_BASE + (rows + 2) * STEP  # logical clock for add()/touch()
        self._last: dict[str, Response] = {}
        self.connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.resources: dict[str, ResourceDef] = {
            d.key: d for d in self.resource_defs()
        }
        self.populate()

    # ----- vendor hooks -------------------------------------------------------------
    def resource_defs(self) -> list[ResourceDef]:
        return []

    def fmt_time(self, epoch: int) -> Any:
        return epoch

    def parse_time(self, value: Any) -> float:
        return float(value)

    def check_auth(self, req: Request) -> Response | None:
        """None when the credentials are good, else the vendor's 401."""
        return None

    def handle(self, req: Request) -> Response:
        return self.error(404, "not found")

    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(status, {"error": message})

    def wrong_shape(self, body: Any) -> Any:
        """A 200 body without the row list where the client expects it."""
        if isinstance(body, list):
            return {"items": body}
        if isinstance(body, dict):
            out = {k: v for k, v in body.items() if not isinstance(v, list)}
            out["unexpected"] = True
            return out
        return {"unexpected": True}

    @property
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    # ----- data ---------------------------------------------------------------------
    def rng(self, key: str) -> random.Random:
        return random.Random(f"{self.name}:{self.seed}:{key}")

    def populate(self) -> None:
        """Fill the store: top-level resources first, then children per parent row."""
        for d in self.resources.values():
            rng = self.rng(d.key)
            if d.parent is None:
                n = self.rows if d.count is None else d.count
                self.store[d.key] = [
                    d.make(
                        i, EPOCH_BASE + i * STEP + rng.randrange(STEP // 2), rng, None
                    )
                    for i in range(n)
                ]
                continue
            rows: list[dict] = []
            pd = self.resources[d.parent]
            for p_index, parent in enumerate(self.store[d.parent]):
                pid = str(dig(parent, pd.path_field or pd.id_field))
                start = EPOCH_BASE + p_index * STEP
                for _ in range(rng.randint(*d.per_parent)):
                    row = d.make(len(rows), start + 60 * (len(rows) % 50 + 1), rng, pid)
                    self.parent_of[(d.key, str(dig(row, d.id_field)))] = pid
                    rows.append(row)
            self.store[d.key] = rows

    def tick(self) -> int:
        with self.lock:
            # A whole STEP: generated rows put their other times (updated, ended...)
            # less than STEP after their created time, so the clock stays ahead.
            self.now += STEP
            return self.now

    def children(self, key: str, parent_id: str) -> list[dict]:
        id_field = self.resources[key].id_field
        return [
            r
            for r in self.store[key]
            if self.parent_of.get((key, str(dig(r, id_field)))) == parent_id
        ]

    def find(self, key: str, row_id: Any) -> dict:
        id_field = self.resources[key].id_field
        for row in self.store[key]:
            if str(dig(row, id_field)) == str(row_id):
                return row
        raise KeyError(f"{self.name}: no {key} row with {id_field}={row_id!r}")

    def add(self, key: str, n: int = 1, *, parent: str | None = None) -> list[dict]:
        """Create `n` rows newer than everything served so far (fan-out children
        need `parent`, the parent row's id)."""
        d = self.resources[key]
        if d.parent and parent is None:
            raise ValueError(f"{self.name}: {key} rows need parent=<{d.parent} id>")
        rng = self.rng(f"{key}:add:{len(self.store[key])}")
        out = []
        with self.lock:
            for _ in range(n):
                row = d.make(len(self.store[key]), self.tick(), rng, parent)
                if parent is not None:
                    self.parent_of[(key, str(dig(row, d.id_field)))] = parent
                self.store[key].append(row)
                out.append(row)
        return out

    def touch(self, key: str, row_id: Any) -> dict:
        """Update a row: bump its updated time (when the resource has one) to a time
        later than anything served so far, and change a field so the update shows."""
        d = self.resources[key]
        if not (d.updated_field or d.mutate):
            raise ValueError(f"{self.name}: {key} rows are immutable (no updated time)")
        with self.lock:
            row = self.find(key, row_id)
            stamp = self.tick()
            if d.updated_field:
                put(row, d.updated_field, self.fmt_time(stamp))
            if d.mutate:
                d.mutate(row, stamp)
        return row

    def epoch(self, row: dict, dotted: str) -> float:
        value = dig(row, dotted)
        return float("-inf") if value is None else self.parse_time(value)

    # ----- server -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Emulator:
        handler = type(f"{self.name.title()}Handler", (_Handler,), {"emulator": self})
        self._server = _QuietServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns within ~50 ms
            name=f"emulator-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and close open keep-alive connections, so a client's pool
        can never reach this emulator's data through a port reused later."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            conns, self.connections = list(self.connections), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def paths_requested(self, prefix: str = "") -> Iterator[RecordedRequest]:
        return (r for r in self.requests if r.path.startswith(prefix))

    def serve(self, req: Request) -> tuple[Response, Fault | None]:
        """Apply the fault plan around the vendor's normal answer."""
        fault = self.faults.take(req.path, can_repeat=req.path in self._last)
        kind = fault.kind if fault else None
        if kind == "429":
            resp = self.error(429, "Too many requests")
            if fault.retry_after is not None:
                resp.headers["Retry-After"] = str(fault.retry_after).removesuffix(".0")
            return resp, fault
        if kind == "500":
            return self.error(500, "Internal server error"), fault
        if kind == "slow":
            time.sleep(fault.delay)
        if kind == "repeat_cursor":
            return self._last[req.path], fault
        with self.lock:
            resp = self.check_auth(req) or self.handle(req)
        if kind == "wrong_shape":
            return Response(
                resp.status, self.wrong_shape(resp.body), resp.headers
            ), fault
        if resp.status == 200 and kind is None:
            self._last[req.path] = resp
        return resp, fault


SECRET_HEADERS = ("authorization", "x-api-key", "cookie")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs
    disable_nagle_algorithm = True  # headers and body go out in two writes
    emulator: Emulator
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `emulator.requests` instead."""

    def setup(self) -> None:
        super().setup()
        with self.emulator.lock:
            self.emulator.connections.add(self.connection)

    def finish(self) -> None:
        with self.emulator.lock:
            self.emulator.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def _dispatch(self) -> None:
        emu = self.emulator
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        parts = urlsplit(self.path)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(
            self.command, parts.path, dict(pairs), pairs, headers, emu.base_url
        )
        resp, fault = emu.serve(req)
        kind = fault.kind if fault else None
        masked = {k: ("***" if k in SECRET_HEADERS else v) for k, v in headers.items()}
        emu.requests.append(
            RecordedRequest(req.method, req.path, req.query, masked, resp.status, kind)
        )
        body = resp.encode()
        if kind == "truncated":
            body = body[: len(body) // 2]
        self.send_response(resp.status)
        headers = {"Content-Type": "application/json", **resp.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "reset":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            # SO_LINGER 0: close with a TCP reset, as a dropped connection would.
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            self.connection.close()
            self.close_connection = True
            return
        self.wfile.write(body)


class _QuietServer(ThreadingHTTPServer):
    """A client that timed out or was killed mid-response is normal in fault tests: no
    traceback for a broken pipe or a reset connection; anything else is still reported."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)
