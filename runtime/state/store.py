"""Where a sync remembers things between runs: resumable read positions and watermarks.

Both are only ever written after the rows they describe are committed to the Delta table, so
after a crash a source re-reads at most one page and never skips one. The store is a SQLite
file in WAL mode (one short transaction per write, `synchronous=FULL`, so a committed write
survives process death and other processes can read meanwhile), or Redis for `redis://` URLs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self

from runtime.errors import UserError
from runtime.state import sqlite

RESUME_KIND = "resume"
WATERMARK_KIND = "watermark"
RUN_INPUTS_KIND = "run_inputs"  # the watermark a resumable run started from
STAGED_KIND = "staged_replace"  # a replace's uncommitted files, the position after them
RUN_PAGES_KIND = "run_pages"  # pages a resumable run has committed (its report says so)


class StateStoreError(UserError, RuntimeError):
    """The state store cannot be opened or used (one line)."""


@dataclass
class Watermark:
    """How far an incremental schema has been synced.

    `last`: newest value of `field` covered by committed rows (the next run asks for newer).
    `earliest`: oldest value reached by a newest-first backfill (a restart asks for older).
    `pending_last`: newest value seen by a newest-first run that has not finished yet; it
    becomes `last` only when that run succeeds, because older rows are still missing."""

    last: Any = None
    earliest: Any = None
    backfill_complete: bool = False
    field: str | None = None
    pending_last: Any = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Watermark:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS state (source TEXT NOT NULL, schema TEXT NOT NULL,"
    " kind TEXT NOT NULL, value TEXT NOT NULL, updated_at REAL NOT NULL,"
    " PRIMARY KEY (source, schema, kind))"
)


class _SqliteBackend:
    def __init__(self, path: Path) -> None:
        try:
            self._conn = sqlite.connect(path, _SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StateStoreError(f"state store {path}: {exc}") from None
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> str | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM state WHERE source=? AND schema=? AND kind=?", key
            ).fetchone()
        return row[0] if row else None

    def put(self, key: tuple[str, str, str], value: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO state (source, schema, kind, value, updated_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (source, schema, kind) DO UPDATE SET value=excluded.value,"
                " updated_at=excluded.updated_at",
                (*key, value, time.time()),
            )

    def delete(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._conn.execute(
                "DELETE FROM state WHERE source=? AND schema=? AND kind=?", key
            )

    def close(self) -> None:
        self._conn.close()


class _RedisBackend:
    def __init__(self, url: str) -> None:
        # Imported here: redis is the optional [redis] extra (only redis:// needs it)
        try:
            import redis  # type: ignore[import-not-found]
        except ImportError:
            raise StateStoreError(
                "a redis:// state store needs the 'redis' package (pip install redis);"
                " or pass a file path to use SQLite"
            ) from None
        self._client = redis.Redis.from_url(url)

    @staticmethod
    def _key(key: tuple[str, str, str]) -> str:
        return "gen-source:state:" + _dumps(list(key))

    def get(self, key: tuple[str, str, str]) -> str | None:
        raw = self._client.get(self._key(key))
        return raw.decode() if isinstance(raw, bytes) else raw

    def put(self, key: tuple[str, str, str], value: str) -> None:
        self._client.set(self._key(key), value)

    def delete(self, key: tuple[str, str, str]) -> None:
        self._client.delete(self._key(key))

    def close(self) -> None:
        self._client.close()


class StateStore:
    """Key/value state keyed by (source, schema, kind); values are JSON."""

    def __init__(self, location: str | os.PathLike[str]) -> None:
        text = os.fspath(location)
        if text.startswith(("redis://", "rediss://", "unix://")):
            self._backend: _SqliteBackend | _RedisBackend = _RedisBackend(text)
        else:
            self._backend = _SqliteBackend(Path(text))

    def get(self, source: str, schema: str, kind: str) -> Any:
        raw = self._backend.get((source, schema, kind))
        return None if raw is None else json.loads(raw)

    def put(self, source: str, schema: str, kind: str, value: Any) -> None:
        self._backend.put((source, schema, kind), _dumps(value))

    def delete(self, source: str, schema: str, kind: str) -> None:
        self._backend.delete((source, schema, kind))

    def get_watermark(self, source: str, schema: str) -> Watermark:
        """The saved watermark, or an empty one (nothing synced yet)."""
        data = self.get(source, schema, WATERMARK_KIND)
        return Watermark.from_json(data) if data else Watermark()

    def set_watermark(self, source: str, schema: str, watermark: Watermark) -> None:
        """Call only after the rows the watermark covers are committed."""
        self.put(source, schema, WATERMARK_KIND, watermark.to_json())

    def clear_watermark(self, source: str, schema: str) -> None:
        self.delete(source, schema, WATERMARK_KIND)

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ResumableSourceManager:
    """A source's read position for one schema.

    The source calls `save_state` as it reads (kept in memory, PENDING); the pipeline calls
    `commit` right after a batch lands in Delta, which persists the pending state. So the
    stored position never runs ahead of committed rows. `on_commit` callbacks run after each
    commit with the committed state (a long-running activity heartbeats from there)."""

    def __init__(self, store: StateStore, source: str, schema: str) -> None:
        self.store = store
        self.source = source
        self.schema = schema
        self.on_commit: list[Callable[[dict | None], None]] = []
        self._pending: dict | None = None

    def can_resume(self) -> bool:
        return self.load_state() is not None

    def load_state(self) -> dict | None:
        """The last committed state (never the pending one)."""
        return self.store.get(self.source, self.schema, RESUME_KIND)

    def save_state(self, state: dict) -> None:
        """Remember `state` until the next `commit`. Fails now if it is not JSON."""
        if not isinstance(state, dict):
            raise TypeError(f"resume state must be a dict, got {type(state).__name__}")
        try:
            self._pending = json.loads(_dumps(state))
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"schema {self.schema!r}: resume state is not JSON: {exc}"
            ) from None

    @property
    def pending_state(self) -> dict | None:
        return self._pending

    def commit(self) -> dict | None:
        """Persist the pending state (if any), then run callbacks. Returns the stored state."""
        if self._pending is not None:
            self.store.put(self.source, self.schema, RESUME_KIND, self._pending)
            committed: dict | None = self._pending
            self._pending = None
        else:
            committed = self.load_state()
        for callback in list(self.on_commit):
            callback(committed)
        return committed

    def clear(self) -> None:
        """Forget the position: the sync finished, the next run starts fresh."""
        self._pending = None
        self.store.delete(self.source, self.schema, RESUME_KIND)
