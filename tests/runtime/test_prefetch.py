"""Read-ahead (runtime/read/prefetch.py): pages arrive in order, the producer runs at most
a bounded distance ahead, its errors arrive after the pages read before them, and a
consumer that stops early stops (and closes) the producer."""

from __future__ import annotations

import threading
import time

import pytest

from runtime.read.prefetch import prefetched


def counting(n: int, fetched: list[int], fail_at: int | None = None, closed=None):
    try:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError(f"page {i} failed")
            fetched.append(i)
            yield i
    finally:
        if closed is not None:
            closed.set()


def wait_for(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_pages_in_order_read_ahead_a_bounded_distance():
    fetched: list[int] = []
    out = prefetched(counting(50, fetched), depth=2)
    assert next(out) == 0
    wait_for(lambda: len(fetched) >= 4)
    time.sleep(0.2)
    # one handed over, two queued, one waiting to be queued: never the whole listing
    assert len(fetched) == 4
    assert list(out) == list(range(1, 50))
    assert all(t.name != "gen-source-prefetch" for t in threading.enumerate())


def test_an_error_arrives_after_the_pages_read_before_it():
    got = []
    with pytest.raises(RuntimeError, match="page 3 failed"):
        for page in prefetched(counting(10, [], fail_at=3)):
            got.append(page)
    assert got == [0, 1, 2]


def test_a_consumer_that_stops_stops_and_closes_the_producer():
    closed = threading.Event()
    fetched: list[int] = []
    out = prefetched(counting(10_000, fetched, closed=closed), depth=2)
    assert [next(out), next(out)] == [0, 1]
    out.close()
    assert closed.is_set()  # the reader's `finally` ran before the caller goes on
    assert len(fetched) < 10
    assert all(t.name != "gen-source-prefetch" for t in threading.enumerate())
