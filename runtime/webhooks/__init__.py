"""Webhook ingestion for generated connectors: signatures, the receiver, the event store, the merge.

Flow: the vendor POSTs an event -> `WebhookReceiver` (ASGI, on uvicorn) checks size and signature,
reads the event with the source's `WebhookConfig` and commits it to the `EventStore` (SQLite)
before answering 2xx -> a sync pulls the table as before, then `apply_events` merges the
buffered events into the Delta table (upserts and deletes by primary key, in event order) and
only then marks them applied. A generated `webhooks.py` holds the source's declarations.

Names are imported lazily, so the receiver process never loads pyarrow or deltalake.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ApplyResult": "apply",
    "apply_events": "apply",
    "DeleteRule": "config",
    "EventRoute": "config",
    "ParsedEvent": "config",
    "SignatureConfig": "config",
    "WebhookConfig": "config",
    "WebhookReceiver": "receiver",
    "SignatureError": "signatures",
    "sign": "signatures",
    "verify": "signatures",
    "EventStore": "store",
    "EventStoreError": "store",
    "RecordResult": "store",
    "StoredEvent": "store",
    "SubscriptionConfig": "subscriptions",
    "WebhookInfo": "subscriptions",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'runtime.webhooks' has no attribute {name!r}")
    return getattr(importlib.import_module(f"runtime.webhooks.{module}"), name)
