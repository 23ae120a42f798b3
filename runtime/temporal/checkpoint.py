"""Checkpoints: how a retried table sync continues exactly where the dead attempt stopped.

After each committed batch the activity takes a checkpoint: the Delta table version that
commit produced plus the state store's resume position, run inputs and watermark at that
moment. It is written to the state store (kind `temporal_checkpoint`) and sent as the
activity's heartbeat details. A retry picks the newer of the two (the store is newer when it
is shared by the workers; the heartbeat is the only copy when each worker has its own store),
puts its state back into the store and, if the table has commits after the checkpoint's
version (written after the last checkpoint that survived), restores the table to that
version. Those rows are read again from the saved position, so every row lands once, even in
tables without a primary key.

Why restoring is safe: only one sync writes a table at a time (the per-table workflow id,
see `runtime.delta.storage.table_lock_id`), and a checkpoint is used only by retries of the same
activity execution (`owner`), never by a later sync: a later sync resumes from the state
store alone, as `runtime.sync.run_schema` always does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote, quote_plus

from deltalake import DeltaTable

from runtime.state.store import (
    RESUME_KIND,
    RUN_INPUTS_KIND,
    STAGED_KIND,
    WATERMARK_KIND,
    StateStore,
)

CHECKPOINT_KIND = "temporal_checkpoint"
log = logging.getLogger("gen_source.temporal")
MIN_SECRET_LENGTH = 4
# The shapes a secret takes in a saved position (a next-page URL may carry it encoded).
_FORMS: tuple[Callable[[str], str], ...] = (
    lambda v: v,
    lambda v: quote(v, safe=""),
    quote_plus,
    quote,
)


@dataclass
class Checkpoint:
    """A committed point of one activity execution. `started` is False for the checkpoint
    taken before the first commit (the table as the attempt found it)."""

    owner: str
    version: int | None  # Delta table version; None: the table did not exist
    rows: int = 0
    batches: int = 0
    started: bool = False
    resume: dict | None = None
    run_inputs: dict | None = None
    watermark: dict | None = None
    staged: dict | None = None  # a replace's staged files (runtime.delta.staging)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint | None:
        """A checkpoint from stored JSON, or None for anything that is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("owner"), str):
            return None
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        try:
            return cls(**known)
        except TypeError:
            return None

    def order(self) -> tuple[int, int]:
        return (-1 if self.version is None else int(self.version), int(self.batches))


def table_version(table_uri: str, storage_options: dict | None) -> int | None:
    """The table's current version, or None when there is no table yet."""
    if not DeltaTable.is_deltatable(table_uri, storage_options=storage_options):
        return None
    return DeltaTable(table_uri, storage_options=storage_options).version()


def take(
    store: StateStore,
    source: str,
    schema: str,
    *,
    owner: str,
    version: int | None,
    rows: int = 0,
    batches: int = 0,
    started: bool = False,
) -> Checkpoint:
    """Read the store's committed state into a checkpoint and save it there."""
    checkpoint = Checkpoint(
        owner=owner,
        version=version,
        rows=rows,
        batches=batches,
        started=started,
        resume=store.get(source, schema, RESUME_KIND),
        run_inputs=store.get(source, schema, RUN_INPUTS_KIND),
        watermark=store.get(source, schema, WATERMARK_KIND),
        staged=store.get(source, schema, STAGED_KIND),
    )
    store.put(source, schema, CHECKPOINT_KIND, checkpoint.to_json())
    return checkpoint


def stored(
    store: StateStore, source: str, schema: str, owner: str
) -> Checkpoint | None:
    """This execution's checkpoint in the store (another execution's is ignored)."""
    found = Checkpoint.from_json(store.get(source, schema, CHECKPOINT_KIND))
    return found if found is not None and found.owner == owner else None


def from_heartbeat(details: Any, owner: str) -> Checkpoint | None:
    """The checkpoint in an earlier attempt's last heartbeat details, if any."""
    if not details:
        return None
    found = Checkpoint.from_json(details[0])
    return found if found is not None and found.owner == owner else None


def newest(*candidates: Checkpoint | None) -> Checkpoint | None:
    """The checkpoint furthest along (higher table version, then more batches); on a tie
    the first candidate wins."""
    best: Checkpoint | None = None
    for candidate in candidates:
        if candidate is not None and (best is None or candidate.order() > best.order()):
            best = candidate
    return best


def restore_state(
    checkpoint: Checkpoint, store: StateStore, source: str, schema: str
) -> None:
    """Put the checkpoint's resume position, run inputs and watermark back in the store."""
    for kind, value in (
        (RESUME_KIND, checkpoint.resume),
        (RUN_INPUTS_KIND, checkpoint.run_inputs),
        (WATERMARK_KIND, checkpoint.watermark),
        (STAGED_KIND, checkpoint.staged),
    ):
        if value is None:
            store.delete(source, schema, kind)
        else:
            store.put(source, schema, kind, value)
    store.put(source, schema, CHECKPOINT_KIND, checkpoint.to_json())


def rewind_table(
    table_uri: str, checkpoint: Checkpoint, storage_options: dict | None
) -> int | None:
    """Undo commits made after the checkpoint. Returns the version the table was at before
    rewinding, or None when there was nothing to undo."""
    current = table_version(table_uri, storage_options)
    if current is None:
        return None
    table = DeltaTable(table_uri, storage_options=storage_options)
    if checkpoint.version is None:  # the attempt created the table: empty it again
        if table.to_pyarrow_dataset().count_rows() == 0:
            return None
        table.delete()
        log.warning(
            "%s: emptied (created by an attempt that left no checkpoint)", table_uri
        )
        return current
    if current <= checkpoint.version:
        if current < checkpoint.version:
            log.warning(
                "%s: at version %d, older than its checkpoint (%d); not rewinding",
                table_uri,
                current,
                checkpoint.version,
            )
        return None
    table.restore(checkpoint.version)
    log.warning(
        "%s: restored to version %d (versions %d..%d came after the last checkpoint)",
        table_uri,
        checkpoint.version,
        checkpoint.version + 1,
        current,
    )
    return current


# ---------------------------------------------------------------- secrets in heartbeats


def _pairs(secrets: Mapping[str, str]) -> list[tuple[str, str]]:
    """(JSON-escaped secret form, marker) pairs, longest secret first."""
    pairs = {}
    for name, value in secrets.items():
        if not value or len(value) < MIN_SECRET_LENGTH:
            continue
        for index, form in enumerate(_FORMS):
            shown = json.dumps(form(value))[1:-1]
            pairs.setdefault(shown, f"<<gen-source-secret:{name}:{index}>>")
    return sorted(pairs.items(), key=lambda p: len(p[0]), reverse=True)


def seal(data: dict, secrets: Mapping[str, str]) -> dict:
    """`data` with every config secret (raw or URL-encoded) replaced by a marker naming
    the config field: heartbeat details are kept in Temporal's history, and a source's
    saved position (a next-page URL) may carry a credential."""
    text = json.dumps(data)
    for shown, marker in _pairs(secrets):
        text = text.replace(shown, marker)
    return json.loads(text)


def unseal(data: Any, secrets: Mapping[str, str]) -> Any:
    """Undo `seal` with this worker's own config values."""
    text = json.dumps(data)
    for shown, marker in _pairs(secrets):
        text = text.replace(marker, shown)
    return json.loads(text)
