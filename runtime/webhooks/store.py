"""The durable buffer between the receiver and the merge: accepted events in SQLite.

Why SQLite in WAL mode with `synchronous=FULL`: the receiver answers 2xx only after `record`
returns, and a committed transaction then survives the process being killed (the vendor will
not resend an acknowledged event, so losing one would lose a change). The receiver and a sync
may be different processes; WAL lets one write while the other reads.

- `events`: one row per accepted event, unique by (source, event id), in arrival order `seq`.
  Its target table, created time, operation and object are kept beside the raw body.
- `signatures`: digests of recently seen timestamped signatures, to refuse exact replays.
- `objects`: per row key, the (created, seq) of the last event applied to it, so an event
  that arrives after a newer one was applied cannot roll the row back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

from runtime.errors import UserError
from runtime.state import sqlite
from runtime.webhooks.config import ParsedEvent

DEFAULT_FILE = ".webhooks.db"  # `webhooks serve` keeps events here, under its --dest


def default_location(connector: str | Path, dest_uri: str) -> Path | None:
    """The event store a sync applies by default: `<dest>/.webhooks.db` when the connector has
    a generated `webhooks.py` and the destination is a local folder; otherwise None."""
    if "://" in dest_uri or not (Path(connector) / "webhooks.py").is_file():
        return None
    return Path(dest_uri) / DEFAULT_FILE


_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
  table_name TEXT, created REAL NOT NULL, received_at REAL NOT NULL,
  op TEXT NOT NULL, mode TEXT NOT NULL, object TEXT, payload BLOB NOT NULL,
  applied_at REAL, outcome TEXT,
  UNIQUE (source, event_id));
CREATE INDEX IF NOT EXISTS events_pending ON events (source, table_name, applied_at, seq);
CREATE TABLE IF NOT EXISTS signatures (
  source TEXT NOT NULL, replay_key TEXT NOT NULL, seen_at REAL NOT NULL,
  PRIMARY KEY (source, replay_key));
CREATE INDEX IF NOT EXISTS signatures_seen ON signatures (seen_at);
CREATE TABLE IF NOT EXISTS objects (
  source TEXT NOT NULL, table_name TEXT NOT NULL, object_key TEXT NOT NULL,
  created REAL NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (source, table_name, object_key));
"""


class EventStoreError(UserError, RuntimeError):
    """The event store cannot be opened or written (one line)."""


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    event_id: str
    event_type: str
    created: float
    op: str
    mode: str
    object: dict | None


@dataclass(frozen=True)
class RecordResult:
    status: Literal["stored", "duplicate", "replayed"]
    seq: int | None = None


class EventStore:
    """Accepted webhook events, durable once `record` returns."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._conn = sqlite.connect(self.path, _SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EventStoreError(f"event store {self.path}: {exc}") from None
        self._lock = threading.Lock()

    # -- receiving -----------------------------------------------------------------------
    def record(
        self,
        source: str,
        event: ParsedEvent,
        payload: bytes,
        *,
        replay_key: str | None,
        now: float,
        replay_window: float,
    ) -> RecordResult:
        """Store one verified event in one committed transaction. An exact replay of a signed
        delivery (same replay key) is `replayed`; an event id seen before is `duplicate`."""
        created = event.created if event.created is not None else now
        obj = (
            json.dumps(event.object, separators=(",", ":"), ensure_ascii=False)
            if event.object
            else None
        )
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                if replay_key is not None:
                    self._conn.execute(
                        "DELETE FROM signatures WHERE seen_at < ?",
                        (now - replay_window,),
                    )
                    hit = self._conn.execute(
                        "INSERT OR IGNORE INTO signatures VALUES (?,?,?)",
                        (source, replay_key, now),
                    )
                    if hit.rowcount == 0:
                        self._conn.execute("ROLLBACK")
                        return RecordResult("replayed")
                cur = self._conn.execute(
                    "INSERT OR IGNORE INTO events (source, event_id, event_type, table_name, created,"
                    " received_at, op, mode, object, payload) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        source,
                        event.event_id,
                        event.event_type,
                        event.table,
                        created,
                        now,
                        event.op,
                        event.mode,
                        obj,
                        payload,
                    ),
                )
                status = "stored" if cur.rowcount else "duplicate"
                seq = cur.lastrowid if cur.rowcount else None
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise EventStoreError(f"event store {self.path}: {exc}") from None
        return RecordResult(status, seq)

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    # -- merging -------------------------------------------------------------------------
    def pending(
        self, source: str, table: str, *, limit: int = 1000
    ) -> list[StoredEvent]:
        """Unapplied events for one table, oldest arrival first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, event_id, event_type, created, op, mode, object FROM events"
                " WHERE source=? AND table_name=? AND applied_at IS NULL ORDER BY seq LIMIT ?",
                (source, table, limit),
            ).fetchall()
        return [
            StoredEvent(
                r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]) if r[6] else None
            )
            for r in rows
        ]

    def versions(
        self, source: str, table: str, keys: Iterable[str]
    ) -> dict[str, tuple[float, int]]:
        """(created, seq) of the last event applied to each row key (absent: none yet)."""
        wanted = sorted(set(keys))
        out: dict[str, tuple[float, int]] = {}
        with self._lock:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, created, seq in self._conn.execute(
                    f"SELECT object_key, created, seq FROM objects WHERE source=? AND table_name=?"
                    f" AND object_key IN ({marks})",
                    (source, table, *chunk),
                ):
                    out[key] = (created, seq)
        return out

    def mark_applied(
        self,
        source: str,
        table: str,
        outcomes: dict[int, str],
        versions: dict[str, tuple[float, int]],
        *,
        now: float | None = None,
    ) -> None:
        """Record, in one transaction, that these events are in the table (call only after the
        table commit) and the newest event now reflected in each row."""
        stamp = time.time() if now is None else now
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(
                    "UPDATE events SET applied_at=?, outcome=? WHERE seq=? AND applied_at IS NULL",
                    [
                        (stamp, outcome, seq)
                        for seq, outcome in sorted(outcomes.items())
                    ],
                )
                self._conn.executemany(
                    "INSERT INTO objects VALUES (?,?,?,?,?) ON CONFLICT (source, table_name, object_key)"
                    " DO UPDATE SET created=excluded.created, seq=excluded.seq",
                    [
                        (source, table, key, c, s)
                        for key, (c, s) in sorted(versions.items())
                    ],
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise EventStoreError(f"event store {self.path}: {exc}") from None

    # -- inspection ----------------------------------------------------------------------
    def count(
        self, source: str, *, table: str | None = None, applied: bool | None = None
    ) -> int:
        sql = "SELECT COUNT(*) FROM events WHERE source=?"
        args: list = [source]
        if table is not None:
            sql += " AND table_name=?"
            args.append(table)
        if applied is not None:
            sql += (
                " AND applied_at IS NOT NULL" if applied else " AND applied_at IS NULL"
            )
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    def event_ids(self, source: str) -> list[str]:
        with self._lock:
            return [
                r[0]
                for r in self._conn.execute(
                    "SELECT event_id FROM events WHERE source=? ORDER BY seq", (source,)
                )
            ]

    def outcomes(self, source: str) -> dict[str, str | None]:
        with self._lock:
            return dict(
                self._conn.execute(
                    "SELECT event_id, outcome FROM events WHERE source=? ORDER BY seq",
                    (source,),
                ).fetchall()
            )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
