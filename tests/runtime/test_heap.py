"""runtime/heap.py: a sync runs with the objects alive before it frozen out of the
collector's passes, and unfreezes them when the last concurrent run ends; its Arrow
buffers come from the system allocator unless the user chose a pool."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pyarrow as pa
import pytest

from runtime.delta.writer import CommitInfo, DeltaPipeline
from runtime.heap import frozen_heap, system_arrow_pool
from runtime.source.sources import SourceResponse


def _one_run(tmp_path, probe: Callable[[], object]) -> list[object]:
    """A pipeline run of one batch; what `probe` returned when the batch committed."""
    seen: list[object] = []

    def on_commit(info: CommitInfo) -> None:
        seen.append(probe())

    def items():
        yield [{"id": f"r{i}", "n": i} for i in range(3)]

    response = SourceResponse(name="t", items=items, primary_keys=["id"])
    DeltaPipeline(
        str(tmp_path / "t"), response, mode="merge", on_commit=on_commit
    ).run()
    return seen


def test_a_pipeline_run_freezes_what_was_alive_and_unfreezes_after(tmp_path):
    assert gc.get_freeze_count() == 0
    frozen_during = _one_run(tmp_path, gc.get_freeze_count)
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


def _backend() -> str:
    return pa.default_memory_pool().backend_name


@pytest.fixture
def arrow_pool():
    """Puts back the pool a test found (Arrow's default pool is process-wide)."""
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def test_a_pipeline_run_builds_arrow_buffers_from_the_system_allocator(
    tmp_path, monkeypatch, arrow_pool
):
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    assert _one_run(tmp_path, _backend) == ["system"]


def test_a_pool_the_user_chose_is_kept(tmp_path, monkeypatch, arrow_pool):
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    assert _one_run(tmp_path, _backend) == ["mimalloc"]
    system_arrow_pool()
    assert pa.default_memory_pool().backend_name == "mimalloc"
