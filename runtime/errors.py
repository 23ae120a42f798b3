"""`UserError`: the base of every runtime error a user can cause and fix.

Bad config or credentials, an unusable destination or state store, a refused host,
a table another sync is writing, a request that failed for good: each is raised as a
subclass with a one-line message that says where (config field, file, table,
endpoint). A command line catches `UserError` alone and prints `gen-source: <message>`
with no traceback; it does not need to know the subclasses. Anything else reaching it
is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class UserError(Exception):
    """A failure the user can fix. `where` (a flag, a file, a table), when set, heads
    the message: `str(error)` is `where: message`."""

    def __init__(self, message: str = "", *, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@contextmanager
def about(where: str) -> Iterator[None]:
    """Name `where` (the flag or input being used) on a `UserError` raised inside that
    does not name a place of its own."""
    try:
        yield
    except UserError as exc:
        if not exc.where:
            exc.where = where
        raise
