"""runtime/heap.py: a sync runs with the objects alive before it frozen out of the
collector's passes, and unfreezes them when the last concurrent run ends."""

from __future__ import annotations

import gc

from runtime.delta.writer import CommitInfo, DeltaPipeline
from runtime.heap import frozen_heap
from runtime.source.sources import SourceResponse


def test_a_pipeline_run_freezes_what_was_alive_and_unfreezes_after(tmp_path):
    assert gc.get_freeze_count() == 0
    frozen_during: list[int] = []

    def on_commit(info: CommitInfo) -> None:
        frozen_during.append(gc.get_freeze_count())

    def items():
        yield [{"id": f"r{i}"} for i in range(3)]

    response = SourceResponse(name="t", items=items, primary_keys=["id"])
    DeltaPipeline(
        str(tmp_path / "t"), response, mode="merge", on_commit=on_commit
    ).run()
    assert frozen_during and frozen_during[0] > 0
    assert gc.get_freeze_count() == 0


def test_concurrent_runs_share_one_freeze():
    assert gc.get_freeze_count() == 0
    with frozen_heap():
        first = gc.get_freeze_count()
        assert first > 0
        young = [[] for _ in range(1000)]  # allocated after the freeze
        with frozen_heap():  # a second table on another thread: no second freeze
            # (frozen objects can still die, so the count may only fall)
            assert gc.get_freeze_count() < first + len(young)
        assert gc.get_freeze_count() > 0  # the first run still holds the freeze
    assert gc.get_freeze_count() == 0


def test_an_error_in_the_run_still_unfreezes():
    try:
        with frozen_heap():
            raise RuntimeError("source failed")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0
