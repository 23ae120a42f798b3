"""Loopback HTTP server fixtures for the runtime transport tests.

`server` is a real threaded HTTP/1.1 server on 127.0.0.1 with scripted routes: a route is a
function `(Seen) -> Reply` or a list of `Reply`s served in order (the last one repeats).
A `Reply` can cut the connection part-way through its body, to provoke a reset mid-body.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from runtime.http.client import make_client


@dataclass
class Reply:
    status: int = 200
    body: object = None  # JSON-serialisable, or bytes sent as they are
    headers: dict = field(default_factory=dict)
    cut_after: int | None = (
        None  # send only this many body bytes, then drop the connection
    )
    delay: float = 0.0  # seconds before answering

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    raw_query: str


Route = Callable[[Seen], Reply] | list[Reply]


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else each response waits ~40 ms for an ACK

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    method=self.command,
                    path=parts.path,
                    query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    raw_query=parts.query,
                )
                reply = outer._reply(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self._send(reply)
                except (
                    BrokenPipeError,
                    ConnectionResetError,
                ):  # the client gave up (timeout)
                    self.close_connection = True

            def _send(self, reply: Reply) -> None:
                data = reply.payload()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if reply.cut_after is not None:
                    self.wfile.write(data[: reply.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def _reply(self, seen: Seen) -> Reply:
        with self._lock:
            self.requests.append(seen)
            route = self.routes.get(seen.path)
            if route is None:
                return Reply(404, {"error": f"no route {seen.path}"})
            if callable(route):
                return route(seen)
            index = self._served.get(seen.path, 0)
            self._served[seen.path] = index + 1
            return route[min(index, len(route) - 1)]

    def route(self, path: str, route: Route) -> None:
        self.routes[path] = route

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = LoopbackServer()
    srv.start()
    yield srv
    srv.stop()


class WaitRecorder:
    """Stands in for `time.sleep`: records each requested wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def waits() -> WaitRecorder:
    return WaitRecorder()


CONTEXT = {"source": "testsrc", "schema": "things", "job_id": "job-42"}


@pytest.fixture
def client_for(waits):
    """`client_for(base_url, **overrides)`: a loopback-allowed client that records its waits."""
    made = []

    def build(base_url: str, **kwargs):
        options = {
            "auth": None,
            "credentials": {},
            "context": CONTEXT,
            "allow_private_hosts": True,
            "sleep": waits,
            "timeout": 5.0,
        }
        options.update(kwargs)
        client = make_client(base_url, **options)
        made.append(client)
        return client

    yield build
    for client in made:
        client.close()
