"""Read-ahead (runtime/read/prefetch.py and its use in the Delta pipeline): items arrive
in order; the next one is fetched early only when asked, and the pipeline asks only
inside a batch, so a source never advances (saving its next resume state) before the
batch holding its current page is committed; errors arrive after the items read before
them; closing stops the thread and closes the source."""

from __future__ import annotations

import threading

import pytest

from runtime.delta.writer import CommitInfo, DeltaPipeline
from runtime.read.prefetch import ReadAhead
from runtime.source.sources import SourceResponse


def numbers(n: int, log: list, fail_at: int | None = None):
    try:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError(f"page {i} failed")
            log.append((i, threading.current_thread().name))
            yield i
    finally:
        log.append(("closed", None))


def test_reads_on_demand_unless_asked_and_one_ahead_when_asked():
    log: list = []
    items = ReadAhead(numbers(5, log))
    assert next(items) == 0
    assert log == [(0, "MainThread")]  # not asked: nothing runs ahead
    items.read_ahead()
    items.read_ahead()  # at most one ahead
    assert next(items) == 1
    assert log[1] == (1, "gen-source-read-ahead")
    assert list(items) == [2, 3, 4]
    items.close()
    assert log[-1] == ("closed", None)
    assert all(t.name != "gen-source-read-ahead" for t in threading.enumerate())


def test_an_error_arrives_in_the_place_of_its_item():
    items = ReadAhead(numbers(10, [], fail_at=2))
    got = []
    with pytest.raises(RuntimeError, match="page 2 failed"):
        for value in items:
            got.append(value)
            items.read_ahead()
    assert got == [0, 1]
    items.close()


def test_close_stops_the_thread_and_closes_the_source():
    log: list = []
    items = ReadAhead(numbers(1000, log))
    next(items)
    items.read_ahead()
    items.close()
    assert log[-1] == ("closed", None)
    assert len(log) <= 3
    assert all(t.name != "gen-source-read-ahead" for t in threading.enumerate())


def test_the_pipeline_never_lets_the_source_advance_past_an_uncommitted_batch(
    tmp_path,
):
    """Pages of 2 rows, batches of 5 rows: the pages that end a batch (3, 5, 8...) are
    committed before the source is asked for the page after them; inside a batch the
    next page is read ahead on the thread."""
    advanced: list[tuple[int, str]] = []  # (page, thread) as the source yields

    def items():
        for page in range(10):
            advanced.append((page, threading.current_thread().name))
            yield [{"id": f"r{page}-{k}"} for k in range(2)]

    seen_at_commit: list[int] = []

    def on_commit(info: CommitInfo) -> None:
        seen_at_commit.append(advanced[-1][0])

    response = SourceResponse(name="t", items=items, primary_keys=["id"])
    DeltaPipeline(
        str(tmp_path / "t"), response, mode="merge", batch_rows=5, on_commit=on_commit
    ).run()
    # batch ends: after pages 2, 5, 8 (6 rows each time), then the rest
    assert seen_at_commit == [2, 5, 8, 9]
    threads = {thread for _, thread in advanced}
    assert "gen-source-read-ahead" in threads
