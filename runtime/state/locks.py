"""One writer per table in a local warehouse: an advisory lock file per table.

Two syncs of one table at once (an overlapping cron run, a plain `gen-source sync` beside a
Temporal worker on the same disk) would interleave commits and resume positions. Each sync of a
table holds `<dest>/.locks/<source>/<table>.lock` (`flock`, released by the kernel when the
process ends, however it ends) from before its first read until after its last commit. A second
sync of the same table fails at once with a one-line error naming the holder; other tables go on.

Object stores have no such lock here: Temporal serialises syncs of a table by workflow id, and
deltalake's conditional writes keep concurrent commits from overwriting each other
(docs/scaling.md).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runtime.errors import UserError

LOCK_FOLDER = ".locks"


class TableBusyError(UserError, RuntimeError):
    """Another sync is writing the table (one line)."""


def lock_path(dest: str, source: str, schema: str) -> Path | None:
    """The lock file of a local table; None for an object store destination."""
    if "://" in dest:
        return None
    return Path(dest) / LOCK_FOLDER / source / f"{schema}.lock"


@contextmanager
def table_lock(dest: str, source: str, schema: str) -> Iterator[Path | None]:
    """Hold the table's lock for the block, or raise `TableBusyError` if another sync holds it.
    Names must already be safe path segments (`runtime.sync` checks them)."""
    path = lock_path(dest, source, schema)
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise TableBusyError(
                f"another sync (pid {holder}) is writing this table; it was left alone (lock {path})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(
            fd
        )  # closing the descriptor releases the lock; the file stays (no unlink race)
