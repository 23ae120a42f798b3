"""Apply a table's buffered webhook events after its pull: `apply_events`.

Order: events are taken in arrival batches, sorted by (created time, arrival seq) and folded
per row key into one net change (later upserts win, a delete removes, a partial payload updates
only the fields it carries). An event older than what the row already reflects — the last
applied event of that key, or the pull when `not_before` is given — is skipped as superseded,
so a late delivery never rolls a row back. The table commit comes first; the events are marked
applied only after it, and the commit's Delta application transaction lets a rerun after a
crash recognise events that are already in the table instead of applying them twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from deltalake import DeltaTable

from runtime.catalog import Column
from runtime.webhooks.merge import Change, write_changes
from runtime.webhooks.store import EventStore, StoredEvent

log = logging.getLogger("gen_source.webhooks")

# (table, partial object) -> the whole object, or None to keep the partial one
Fetch = Callable[[str, dict], dict | None]


@dataclass
class ApplyResult:
    schema: str
    table_uri: str
    events: int = 0  # events taken from the store (all now marked applied)
    upserted: int = 0  # rows inserted or updated
    deleted: int = 0  # rows removed
    superseded: int = 0  # older than what the row (or the pull) already holds
    unusable: int = 0  # no object or no primary-key value
    recovered: int = 0  # found committed by an earlier, interrupted apply
    commits: int = 0
    version: int | None = None


def app_id(source: str, schema: str) -> str:
    """The Delta application-transaction id under which a table's webhook commits are tagged."""
    return f"gen-source.webhooks.{source}.{schema}"


def row_key(obj: dict | None, primary_key: Sequence[str]) -> str | None:
    if not obj:
        return None
    values = [obj.get(k) for k in primary_key]
    if any(v is None or isinstance(v, dict | list) for v in values):
        return None
    return json.dumps(values, separators=(",", ":"), default=str)


def fold(
    events: Sequence[StoredEvent],
    primary_key: Sequence[str],
    applied: dict[str, tuple[float, int]],
    not_before: float | None = None,
) -> tuple[dict[str, Change], dict[int, str]]:
    """Net change per row key and each event's outcome (applied | superseded | before_pull | no_key)."""
    changes: dict[str, Change] = {}
    outcomes: dict[int, str] = {}
    for e in sorted(events, key=lambda e: (e.created, e.seq)):
        key = row_key(e.object, primary_key)
        version = (e.created, e.seq)
        if key is None:
            outcomes[e.seq] = "no_key"
            continue
        if not_before is not None and e.created < not_before:
            outcomes[e.seq] = "before_pull"
            continue
        if key in applied and version < applied[key]:
            outcomes[e.seq] = "superseded"
            continue
        outcomes[e.seq] = "applied"
        current = changes.get(key)
        if e.op == "delete":
            keys = {k: e.object[k] for k in primary_key}
            changes[key] = Change("delete", keys, True, version, seqs=[e.seq])
        elif e.mode == "partial" and current is not None and current.op == "upsert":
            current.fields.update(e.object)
            current.version = version
            current.seqs.append(e.seq)
        elif e.mode == "partial":
            # After a delete in this batch the row is gone: the partial payload is all there is.
            replaced = current is not None and current.op == "delete"
            changes[key] = Change(
                "upsert",
                dict(e.object),
                replaced,
                version,
                partial_source=True,
                seqs=[e.seq],
            )
        else:
            changes[key] = Change("upsert", dict(e.object), True, version, seqs=[e.seq])
    return changes, outcomes


def apply_events(
    store: EventStore,
    source: str,
    schema: str,
    table_uri: str,
    primary_key: Sequence[str],
    *,
    columns: Sequence[Column] = (),
    partition_key: str | None = None,
    partition_format: str = "month",
    storage_options: dict | None = None,
    fetch: Fetch | None = None,
    not_before: float | None = None,
    batch_size: int = 1000,
    logger: logging.Logger | None = None,
) -> ApplyResult:
    """Apply every unapplied event routed to `schema` into `table_uri`, merging on `primary_key`.

    `columns`: the table's declared columns (json ones are stored as JSON text, as the pull does).
    `fetch`: completes partial payloads (e.g. an event carrying only an id) by reading the object.
    `not_before`: epoch seconds; events created earlier are already reflected by the pull that
    just ran, and are skipped. Raises on failure; what was committed stays marked."""
    if not primary_key:
        raise ValueError(f"{table_uri}: webhook events need a primary key to merge on")
    logger = logger or log
    result = ApplyResult(schema=schema, table_uri=table_uri)
    tag = app_id(source, schema)
    while True:
        batch = store.pending(source, schema, limit=batch_size)
        if not batch:
            break
        dt = (
            DeltaTable(table_uri, storage_options=storage_options)
            if DeltaTable.is_deltatable(table_uri, storage_options=storage_options)
            else None
        )
        committed = dt.transaction_version(tag) if dt is not None else None
        done = [e for e in batch if committed is not None and e.seq <= committed]
        applied = store.versions(
            source,
            schema,
            filter(None, (row_key(e.object, primary_key) for e in batch)),
        )
        if done:  # an earlier apply committed these, then stopped before marking them
            changes, outcomes = fold(done, primary_key, applied, not_before)
            store.mark_applied(
                source, schema, outcomes, {k: c.version for k, c in changes.items()}
            )
            result.recovered += len(done)
            result.events += len(done)
            _count(result, outcomes)
            logger.warning(
                "webhooks %s/%s: %d events were already in the table; marked applied",
                source,
                schema,
                len(done),
            )
            continue
        changes, outcomes = fold(batch, primary_key, applied, not_before)
        if fetch is not None:
            _complete(changes, schema, fetch)
        if changes:
            outcome = write_changes(
                table_uri,
                dt,
                changes,
                primary_key,
                app_id=tag,
                last_seq=batch[-1].seq,
                columns=columns,
                partition_key=partition_key,
                partition_format=partition_format,
                storage_options=storage_options,
            )
            result.upserted += outcome.upserted
            result.deleted += outcome.deleted
            result.commits += 1 if outcome.version is not None else 0
            result.version = (
                outcome.version if outcome.version is not None else result.version
            )
        store.mark_applied(
            source,
            schema,
            outcomes,
            {k: c.version for k, c in changes.items()},
            now=time.time(),
        )
        result.events += len(batch)
        _count(result, outcomes)
        if len(batch) < batch_size:
            break
    if result.events:
        logger.info(
            "webhooks %s/%s: %d events, %d rows upserted, %d deleted, %d superseded",
            source,
            schema,
            result.events,
            result.upserted,
            result.deleted,
            result.superseded,
        )
    return result


def _complete(changes: dict[str, Change], schema: str, fetch: Fetch) -> None:
    for change in changes.values():
        if change.op == "upsert" and change.partial_source:
            whole = fetch(schema, dict(change.fields))
            if isinstance(whole, dict):
                change.fields = {**change.fields, **whole}
                change.full = True


def _count(result: ApplyResult, outcomes: dict[int, str]) -> None:
    values = list(outcomes.values())
    result.superseded += values.count("superseded") + values.count("before_pull")
    result.unusable += values.count("no_key")
