"""The webhook receiver: a plain ASGI app (served by uvicorn) in front of the event store.

Order of checks, each answering at once: method and path (404/405), declared size (413 before
reading), body size while reading (413), signature and timestamp (400, nothing stored), JSON and
event id (400), then `EventStore.record` — committed and synced — and only then 2xx. An exact
replay of a signed delivery gets 409; an event id already stored gets 200 `duplicate` (the vendor
retried; answering 2xx stops it). A store failure answers 503 so the vendor retries later.
Logs carry the source, event id/type and reason: never a header value, the body or a secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from runtime.webhooks.config import EventError, WebhookConfig
from runtime.webhooks.signatures import SignatureError, verify
from runtime.webhooks.store import EventStore, EventStoreError

log = logging.getLogger("gen_source.webhooks")

Scope = dict[str, Any]


class WebhookReceiver:
    """`POST /` or `POST /webhooks/<source>` takes deliveries; `GET /healthz` answers ok."""

    def __init__(
        self,
        config: WebhookConfig,
        secrets: Sequence[str],
        store: EventStore,
        *,
        max_body_bytes: int | None = None,
        tolerance_seconds: int | None = None,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        if not any(secrets):
            raise ValueError(f"{config.source}: no webhook signing secret configured")
        self.config = config
        self._secrets = tuple(s for s in secrets if s)
        self.store = store
        self.max_body = max_body_bytes or config.max_body_bytes
        self.tolerance = (
            tolerance_seconds
            if tolerance_seconds is not None
            else config.signature.tolerance_seconds
        )
        self.clock = clock
        self.log = logger or log
        self._signature = replace(config.signature, tolerance_seconds=self.tolerance)
        self.paths = {"/", f"/webhooks/{config.source}", f"/webhooks/{config.source}/"}

    def __repr__(self) -> str:  # never show the secrets
        return f"WebhookReceiver(source={self.config.source!r}, store={str(self.store.path)!r})"

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope.get("path", ""), scope.get("method", "")
        if path == "/healthz":
            await _answer(send, 200, {"ok": True})
            return
        if path not in self.paths:
            await _answer(send, 404, {"error": "not found"})
            return
        if method != "POST":
            await _answer(send, 405, {"error": "use POST"}, [(b"allow", b"POST")])
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in scope.get("headers", [])
        }
        status, body = await self._handle(headers, receive)
        await _answer(send, status, body)

    async def _handle(
        self, headers: dict[str, str], receive: Callable
    ) -> tuple[int, dict]:
        source = self.config.source
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            self.log.warning(
                "webhook %s: refused a %s-byte body (limit %d)",
                source,
                declared,
                self.max_body,
            )
            return 413, {"error": f"body larger than {self.max_body} bytes"}
        body = await _read_body(receive, self.max_body)
        if body is None:
            self.log.warning(
                "webhook %s: refused a body over %d bytes", source, self.max_body
            )
            return 413, {"error": f"body larger than {self.max_body} bytes"}
        now = self.clock()
        try:
            verified = verify(self._signature, headers, body, self._secrets, now=now)
        except SignatureError as exc:
            self.log.warning("webhook %s: rejected delivery: %s", source, exc)
            return 400, {"error": f"signature rejected: {exc}"}
        try:
            payload = json.loads(body)
            event = self.config.parse(payload, headers)
        except (ValueError, EventError) as exc:
            reason = str(exc) if isinstance(exc, EventError) else "body is not JSON"
            self.log.warning(
                "webhook %s: signed delivery unreadable: %s", source, reason
            )
            return 400, {"error": reason}
        try:
            result = await asyncio.to_thread(
                self.store.record,
                source,
                event,
                body,
                replay_key=verified.replay_key,
                now=now,
                replay_window=2 * self.tolerance,
            )
        except EventStoreError as exc:
            self.log.error(
                "webhook %s: event %s not stored: %s", source, event.event_id, exc
            )
            return 503, {"error": "event store unavailable; retry later"}
        if result.status == "replayed":
            self.log.warning(
                "webhook %s: replayed delivery of %s refused", source, event.event_id
            )
            return 409, {"error": "replayed delivery", "event_id": event.event_id}
        self.log.info(
            "webhook %s: %s %s (%s) -> %s",
            source,
            result.status,
            event.event_id,
            event.event_type,
            event.table or f"no table: {event.why_unrouted}",
        )
        return 200, {
            "status": result.status,
            "event_id": event.event_id,
            "table": event.table,
        }


async def _read_body(receive: Callable, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _answer(
    send: Callable, status: int, body: dict, extra: list | None = None
) -> None:
    data = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": headers + (extra or []),
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _lifespan(receive: Callable, send: Callable) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
