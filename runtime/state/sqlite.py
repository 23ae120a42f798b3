"""Opening the runtime's SQLite files (state store, webhook events) safely from many processes.

Each file is in WAL mode with `synchronous=FULL`. Several syncs (or Temporal activities) may
open the same fresh file at the same moment; SQLite does not call its busy handler while a
file switches to WAL, so the losers of that race fail at once with "database is locked" however
long the timeout. `connect` retries the setup, with backoff, until the same deadline instead.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

TIMEOUT = 30.0
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")


def connect(path: Path, schema: str, *, timeout: float = TIMEOUT) -> sqlite3.Connection:
    """A connection to `path` in WAL mode with `schema` (idempotent DDL) applied.

    Raises OSError or sqlite3.Error; callers turn them into their own one-line errors."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        conn = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(schema)
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            busy = (exc.sqlite_errorname or "").startswith(_BUSY)
            if not busy or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        except BaseException:
            conn.close()
            raise
