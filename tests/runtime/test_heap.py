"""runtime/heap.py: a sync runs with the objects alive before it frozen out of the
collector's passes, and unfreezes them when the last concurrent run ends; its Arrow
buffers come from the system allocator unless the user chose a pool."""

from __future__ import annotations

import gc

import pyarrow as pa
import pytest

from runtime.delta.writer import CommitInfo, DeltaPipeline
from runtime.heap import frozen_heap, system_arrow_pool
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


@pytest.fixture
def arrow_pool():
    """Puts back the pool a test found (Arrow's default pool is process-wide)."""
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def _one_run(tmp_path) -> list[str]:
    """A pipeline run; the backend of the pool its batches were built from."""
    backends: list[str] = []

    def on_commit(info: CommitInfo) -> None:
        backends.append(pa.default_memory_pool().backend_name)

    def items():
        yield [{"id": f"r{i}", "n": i} for i in range(3)]

    response = SourceResponse(name="t", items=items, primary_keys=["id"])
    DeltaPipeline(
        str(tmp_path / "t"), response, mode="merge", on_commit=on_commit
    ).run()
    return backends


def test_a_pipeline_run_builds_arrow_buffers_from_the_system_allocator(
    tmp_path, monkeypatch, arrow_pool
):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    assert _one_run(tmp_path) == ["system"]


def test_a_pool_the_user_chose_is_kept(tmp_path, monkeypatch, arrow_pool):
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    assert _one_run(tmp_path) == ["mimalloc"]
    system_arrow_pool()
    assert pa.default_memory_pool().backend_name == "mimalloc"
