"""Read ahead on request: fetch the next item of an iterator on a thread while the
caller still works on the current one.

Why "on request": a source's iterator has side effects as it advances (a generated
source saves the resume state of a page just before yielding it, and the pipeline
persists the saved state when it commits a batch). So the next item may be fetched
early only when the caller knows no commit comes before it takes that item; the
caller says so with `read_ahead()`. Without it, `next()` reads on demand, exactly as
the plain iterator would. At most one item is fetched ahead. An error while fetching is
raised by the `next()` that takes the item's place; `close()` stops the thread (waiting
for a fetch in flight) and closes the iterator.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_END = object()
_POLL = 0.1  # seconds between checks that the caller is still there
# How long `close()` waits for a fetch in flight (a retry may be sleeping); past it the
# thread is left to finish on its own, its item unused.
_JOIN = 10.0


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ReadAhead(Generic[T]):
    """`items` in order; `read_ahead()` starts fetching the next one now."""

    def __init__(self, items: Iterable[T]) -> None:
        self._items: Iterator[T] = iter(items)
        self._wanted: queue.Queue = queue.Queue(maxsize=1)
        self._ready: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._asked = False  # a fetch was requested and its result not yet taken
        self._done = False
        self._thread: threading.Thread | None = None

    @property
    def ahead(self) -> bool:
        """Whether an item is being (or has been) fetched ahead of `next()`."""
        return self._asked

    def read_ahead(self) -> None:
        if self._asked or self._done:
            return
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._produce, name="gen-source-read-ahead", daemon=True
            )
            self._thread.start()
        self._asked = True
        self._wanted.put(True)

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        if not self._asked:
            if self._thread is None:  # never asked to read ahead: read here
                try:
                    return next(self._items)
                except StopIteration:
                    self._done = True
                    raise
            self.read_ahead()
        value = self._ready.get()
        self._asked = False
        if value is _END:
            self._done = True
            raise StopIteration
        if isinstance(value, _Failed):
            self._done = True
            raise value.error
        return value

    def _produce(self) -> None:
        while not self._stop.is_set():
            try:
                self._wanted.get(timeout=_POLL)
            except queue.Empty:
                continue
            try:
                value = next(self._items)
            except StopIteration:
                self._ready.put(_END)
                return
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                self._ready.put(_Failed(exc))
                return
            self._ready.put(value)

    def close(self) -> None:
        self._done = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join(_JOIN)
            if self._thread.is_alive():
                return  # still fetching: closing the iterator under it would fail
        close = getattr(self._items, "close", None)
        if close is not None:
            close()
