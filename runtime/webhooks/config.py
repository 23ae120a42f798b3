"""What a generated `webhooks.py` declares, and how one event payload is read with it.

The generator decides (from the spec's `webhooks`/`callbacks` or `overrides/<source>.yaml`)
which event types change which table, where the changed object sits in the payload and how
deletes look; this module only applies those decisions, so the receiver and the merge read
events the same way. Event-type patterns use `.`-separated segments: `*` matches exactly one
segment, `**` one or more (so `customer.*` is `customer.updated` but not
`customer.subscription.updated`, whose object is a subscription).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

SCHEMES = ("timestamped_hmac", "hmac_sha256_hex", "standard_webhooks")
DEFAULT_TOLERANCE = 300
DEFAULT_MAX_BODY = 1 << 20


@dataclass(frozen=True)
class SignatureConfig:
    """How the vendor signs a delivery.

    timestamped_hmac: one header `t=<unix>,v1=<hex hmac-sha256 of "t.body">` (several v1 allowed).
    hmac_sha256_hex: one header `sha256=<hex hmac-sha256 of body>`; no timestamp, so replays are
    caught by event id only; `id_header` names the delivery-id header when the body has no id.
    standard_webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over
    `id.timestamp.body`, secret `whsec_<base64 key>`."""

    scheme: Literal["timestamped_hmac", "hmac_sha256_hex", "standard_webhooks"]
    header: str = ""
    id_header: str = ""
    tolerance_seconds: int = DEFAULT_TOLERANCE

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"signature scheme {self.scheme!r} not in {SCHEMES}")

    @property
    def signature_header(self) -> str:
        defaults = {
            "timestamped_hmac": "signature",
            "hmac_sha256_hex": "x-hub-signature-256",
            "standard_webhooks": "webhook-signature",
        }
        return (self.header or defaults[self.scheme]).lower()


@dataclass(frozen=True)
class EventRoute:
    """Events whose type matches `pattern` change rows of `table` (None: kept, never applied).
    `object_mode` "partial": the payload carries only some fields (often just the id), so an
    update keeps the other columns; `fetch_path` (one `{param}`, filled from the object's id)
    reads the whole object instead when a fetcher is given."""

    pattern: str
    table: str | None
    object_type: str = ""
    object_mode: Literal["full", "partial"] = "full"
    fetch_path: str | None = None


@dataclass(frozen=True)
class DeleteRule:
    """An event deletes its object when its type matches one of `event_types`, or when the
    object's `field` is true (e.g. `{"id": "x", "deleted": true}`)."""

    event_types: tuple[str, ...] = ()
    field: str | None = None


@dataclass(frozen=True)
class ParsedEvent:
    event_id: str
    event_type: str
    created: float | None  # epoch seconds
    table: str | None
    op: Literal["upsert", "delete"]
    object: dict | None
    mode: str = "full"
    why_unrouted: str = ""


class EventError(ValueError):
    """A signed payload that cannot be read as an event (one line, names the path)."""


@dataclass(frozen=True)
class WebhookConfig:
    source: str
    signature: SignatureConfig
    routes: tuple[EventRoute, ...] = ()
    event_id_path: str = "id"
    event_type_path: str = "type"
    created_path: str | None = "created"
    object_path: str = "data.object"
    object_type_field: str | None = None
    deletes: DeleteRule = DeleteRule()
    max_body_bytes: int = DEFAULT_MAX_BODY

    def route(self, event_type: str) -> EventRoute | None:
        """The most specific route for an event type (exact beats patterns; fewer wildcards,
        then more segments, win)."""
        best: tuple[tuple, EventRoute] | None = None
        for r in self.routes:
            if not matches(r.pattern, event_type):
                continue
            rank = (r.pattern.count("*"), -r.pattern.count("."))
            if best is None or rank < best[0]:
                best = (rank, r)
        return best[1] if best else None

    def tables(self) -> list[str]:
        return sorted({r.table for r in self.routes if r.table})

    def parse(
        self, payload: Any, headers: Mapping[str, str] | None = None
    ) -> ParsedEvent:
        """Read id, type, created time, target table, operation and object from a payload."""
        if not isinstance(payload, dict):
            raise EventError("the body is not a JSON object")
        event_id = dig(payload, self.event_id_path)
        if event_id in (None, "") and self.signature.id_header and headers is not None:
            event_id = headers.get(self.signature.id_header.lower())
        if event_id in (None, "") or isinstance(event_id, dict | list):
            raise EventError(f"no event id at {self.event_id_path!r}")
        event_type = dig(payload, self.event_type_path)
        if not isinstance(event_type, str) or not event_type:
            raise EventError(f"no event type at {self.event_type_path!r}")
        created = (
            epoch_seconds(dig(payload, self.created_path))
            if self.created_path
            else None
        )
        obj = dig(payload, self.object_path)
        obj = obj if isinstance(obj, dict) else None
        route = self.route(event_type)
        table, why = (
            (route.table, "") if route else (None, "no route for this event type")
        )
        if route is not None and table is None:
            why = "this event type is routed to no table"
        if table and obj is None:
            table, why = None, f"no object at {self.object_path!r}"
        if table and route and route.object_type and self.object_type_field:
            kind = obj.get(self.object_type_field) if obj else None
            if kind is not None and kind != route.object_type:
                table, why = (
                    None,
                    f"object {self.object_type_field}={kind!r} is not {route.object_type!r}",
                )
        deleting = any(matches(p, event_type) for p in self.deletes.event_types)
        if (
            obj is not None
            and self.deletes.field
            and obj.get(self.deletes.field) is True
        ):
            deleting = True
        return ParsedEvent(
            event_id=str(event_id),
            event_type=event_type,
            created=created,
            table=table,
            op="delete" if deleting else "upsert",
            object=obj,
            mode=route.object_mode if route and table else "full",
            why_unrouted=why,
        )


_SEGMENT_CACHE: dict[str, re.Pattern[str]] = {}


def matches(pattern: str, event_type: str) -> bool:
    """`*` is one dot-free segment, `**` one or more segments; everything else is literal."""
    rx = _SEGMENT_CACHE.get(pattern)
    if rx is None:
        parts = []
        for seg in pattern.split("."):
            parts.append(
                {"*": r"[^.]+", "**": r"[^.]+(?:\.[^.]+)*"}.get(seg, re.escape(seg))
            )
        rx = _SEGMENT_CACHE.setdefault(pattern, re.compile(r"\.".join(parts) + r"\Z"))
    return rx.match(event_type) is not None


def dig(data: Any, path: str | None) -> Any:
    """`a.b.c` inside nested dicts; `$` or empty is the whole value."""
    if path in (None, "", "$"):
        return data
    for key in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def epoch_seconds(value: Any) -> float | None:
    """Epoch seconds from an epoch number (s, ms or µs) or an ISO-8601 string."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        v = float(value)
        return v / 1e6 if abs(v) >= 1e14 else v / 1e3 if abs(v) >= 1e11 else v
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
            return epoch_seconds(float(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return None
