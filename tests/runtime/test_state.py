"""Resumable state and watermarks: pending vs committed, persistence, process death."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import types
from pathlib import Path

import pytest

from runtime.state.store import (
    ResumableSourceManager,
    StateStore,
    StateStoreError,
    Watermark,
)
from runtime.webhooks.store import EventStore

ROOT = Path(__file__).resolve().parents[2]


def test_pending_state_is_invisible_until_commit(tmp_path):
    store = StateStore(tmp_path / "state.db")
    manager = ResumableSourceManager(store, "src", "things")
    assert not manager.can_resume() and manager.load_state() is None
    manager.save_state({"cursor": "a"})
    manager.save_state({"cursor": "b"})
    assert manager.pending_state == {"cursor": "b"}
    assert manager.load_state() is None and not manager.can_resume()
    assert manager.commit() == {"cursor": "b"}
    assert manager.load_state() == {"cursor": "b"} and manager.pending_state is None
    # Saved state is a copy: mutating the caller's dict later changes nothing.
    state = {"cursor": "c"}
    manager.save_state(state)
    state["cursor"] = "zzz"
    manager.commit()
    assert manager.load_state() == {"cursor": "c"}
    manager.clear()
    assert manager.load_state() is None and not manager.can_resume()


def test_commit_runs_callbacks_with_the_committed_state(tmp_path):
    manager = ResumableSourceManager(StateStore(tmp_path / "s.db"), "src", "things")
    seen = []
    manager.on_commit.append(seen.append)
    manager.commit()  # nothing pending: the callback still runs (a heartbeat)
    manager.save_state({"page": 2})
    manager.commit()
    manager.commit()
    assert seen == [None, {"page": 2}, {"page": 2}]


def test_save_state_rejects_what_cannot_be_stored(tmp_path):
    manager = ResumableSourceManager(StateStore(tmp_path / "s.db"), "src", "things")
    with pytest.raises(TypeError, match="'things': resume state is not JSON"):
        manager.save_state({"when": object()})
    with pytest.raises(TypeError, match="must be a dict"):
        manager.save_state(["page", 1])  # type: ignore[arg-type]
    assert manager.pending_state is None


def test_state_and_watermarks_persist_across_store_instances(tmp_path):
    path = tmp_path / "nested" / "state.db"
    first = StateStore(path)
    ResumableSourceManager(first, "src", "a").save_state({"offset": 40})
    manager = ResumableSourceManager(first, "src", "a")
    manager.save_state({"offset": 40})
    manager.commit()
    first.set_watermark(
        "src", "a", Watermark(last=17, earliest=3, backfill_complete=True, field="n")
    )
    first.close()

    second = StateStore(path)
    assert ResumableSourceManager(second, "src", "a").load_state() == {"offset": 40}
    assert ResumableSourceManager(second, "src", "b").load_state() is None
    assert ResumableSourceManager(second, "other", "a").load_state() is None
    mark = second.get_watermark("src", "a")
    assert (mark.last, mark.earliest, mark.backfill_complete, mark.field) == (
        17,
        3,
        True,
        "n",
    )
    assert second.get_watermark("src", "b") == Watermark()
    second.clear_watermark("src", "a")
    assert second.get_watermark("src", "a") == Watermark()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def _writer(path: str, worker: int, count: int) -> None:
    store = StateStore(path)
    for i in range(count):
        manager = ResumableSourceManager(store, "src", f"schema-{worker}")
        manager.save_state({"i": i})
        manager.commit()
        store.set_watermark("src", f"schema-{worker}", Watermark(last=i))


def test_concurrent_processes_do_not_lose_writes(tmp_path):
    path = str(tmp_path / "state.db")
    StateStore(path).close()  # create the file (and WAL mode) once
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 30)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    store = StateStore(path)
    for w in range(3):
        assert ResumableSourceManager(store, "src", f"schema-{w}").load_state() == {
            "i": 29
        }
        assert store.get_watermark("src", f"schema-{w}").last == 29


def test_committed_state_survives_sigkill_and_pending_does_not(tmp_path):
    path = tmp_path / "state.db"
    script = textwrap.dedent(
        f"""
        import os, signal
        from runtime.state.store import ResumableSourceManager, StateStore, Watermark
        store = StateStore({str(path)!r})
        m = ResumableSourceManager(store, "src", "things")
        m.save_state({{"page": 7}})
        m.commit()
        store.set_watermark("src", "things", Watermark(last="2024-01-02"))
        m.save_state({{"page": 8}})  # pending only: dies with the process
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == -signal.SIGKILL
    store = StateStore(path)
    assert ResumableSourceManager(store, "src", "things").load_state() == {"page": 7}
    assert store.get_watermark("src", "things").last == "2024-01-02"


def test_watermark_json_ignores_unknown_keys():
    assert Watermark.from_json({"last": 5, "future_key": 1}) == Watermark(last=5)
    assert Watermark(pending_last="x").to_json()["pending_last"] == "x"


def test_redis_url_without_the_package_is_one_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis -> ImportError
    with pytest.raises(StateStoreError, match=r"needs the 'redis' package"):
        StateStore("redis://127.0.0.1:6379/0")


def test_redis_backend_key_layout_with_an_in_memory_client(monkeypatch):
    """The redis package is not installed here; a dict-backed client with the same three
    calls checks that keys never collide and values round-trip."""

    stored: dict[str, bytes] = {}

    class FakeRedis:
        data = stored

        @classmethod
        def from_url(cls, url):
            assert url == "redis://127.0.0.1:6379/0"
            return cls()

        def get(self, key):
            return self.data.get(key)

        def set(self, key, value):
            self.data[key] = value.encode()

        def delete(self, key):
            self.data.pop(key, None)

        def close(self):
            pass

    monkeypatch.setitem(sys.modules, "redis", types.SimpleNamespace(Redis=FakeRedis))
    store = StateStore("redis://127.0.0.1:6379/0")
    manager = ResumableSourceManager(store, "a:b", "c")
    manager.save_state({"cursor": "x"})
    manager.commit()
    ResumableSourceManager(store, "a", "b:c").save_state({"cursor": "y"})
    assert ResumableSourceManager(store, "a", "b:c").load_state() is None
    assert manager.load_state() == {"cursor": "x"}
    store.set_watermark("a:b", "c", Watermark(last=3))
    assert store.get_watermark("a:b", "c").last == 3
    manager.clear()
    assert manager.load_state() is None
    assert all(k.startswith("gen-source:state:") for k in stored)


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateStoreError, match="state store"):
        StateStore(blocker / "state.db")


@pytest.mark.parametrize("store_class", ["state", "events"])
def test_many_openers_of_one_fresh_file_all_succeed(tmp_path, store_class):
    """Parallel syncs open the same store at once; SQLite skips its busy handler while a fresh
    file switches to WAL, so without the opener's retry some of them fail 'database is locked'."""
    opener = StateStore if store_class == "state" else EventStore
    errors: list[str] = []
    for trial in range(40):
        path = tmp_path / f"t{trial}" / "store.db"
        start = threading.Barrier(6)

        def open_and_close(path=path, start=start):
            start.wait()
            try:
                opener(path).close()
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(str(exc))

        threads = [threading.Thread(target=open_and_close) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
