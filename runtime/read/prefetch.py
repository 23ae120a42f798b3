"""Read ahead: fetch the next pages on a thread while the caller converts and writes
the current one.

Why a thread is safe for resume: the producer only *reads* (requests, decodes, selects
rows). The consumer takes pages in order and does everything with side effects itself,
such as saving a page's resume state just before handing the page on; so a later page's
state is never saved before the earlier page has been taken, exactly as without
read-ahead. An error in the producer is raised to the consumer where the failing page
would have been, after the pages read before it. Closing the consumer early (an error
while writing, a stopped run) stops the producer before the caller's HTTP client closes.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()
_POLL = 0.1  # seconds between checks that the consumer is still there
# How long a stopped consumer waits for the request in flight (a retry may be sleeping);
# past it the thread is left to fail on the closed client, its result unused.
_JOIN = 10.0


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """`items` in order, produced up to `depth` ahead on a daemon thread."""
    if depth < 1:
        yield from items
        return
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(value, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(_Failed(exc))
            return
        put(_END)

    worker = threading.Thread(target=produce, name="gen-source-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            value = ready.get()
            if value is _END:
                return
            if isinstance(value, _Failed):
                raise value.error
            yield value
    finally:
        stop.set()
        worker.join(_JOIN)
        close = getattr(items, "close", None)
        if close is not None and not worker.is_alive():
            close()
