"""Checkpoints without Temporal: an attempt dies, the next one continues from the newest
checkpoint (state store or heartbeat) and every row lands once, even in a keyless append table
where a repeated batch would show up as duplicate rows."""

from __future__ import annotations

import json
import threading
from urllib.parse import quote, quote_plus

import pytest

from runtime.delta.writer import read_table
from runtime.state.store import RESUME_KIND, StateStore
from runtime.delta.storage import parse_destination
from runtime.temporal import checkpoint as cp
from runtime.temporal.activities import Heartbeat, sync_with_checkpoints

from .fakes import Died, PagedSource, rows

OWNER = "wf-1/run-1/1"


class Beats:
    """What the Temporal server would hold: every heartbeat, in order."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, *details) -> None:
        if details:
            with self.lock:
                self.sent.append(details[0])

    def checkpoints(self) -> list[dict]:
        with self.lock:
            return [d for d in self.sent if d.get("started")]


def attempt(
    source, tmp_path, store, *, details=None, beats=None, owner=OWNER, **kwargs
):
    return sync_with_checkpoints(
        source,
        {"page_size": 2},
        "events",
        source_name="paged",
        dest=parse_destination(tmp_path / "wh"),
        store=store,
        owner=owner,
        heartbeat_details=details,
        send=beats or Beats(),
        heartbeat_interval=5.0,
        batch_rows=2,
        **kwargs,
    )


def ids(tmp_path) -> list[int]:
    return sorted(
        r["id"]
        for r in read_table(str(tmp_path / "wh" / "paged" / "events")).to_pylist()
    )


def table(tmp_path) -> str:
    return str(tmp_path / "wh" / "paged" / "events")


def test_retry_from_a_lagging_heartbeat_rewinds_the_table_and_lands_each_row_once(
    tmp_path,
):
    source = PagedSource(rows(10))
    source.die_at = 3
    beats = Beats()
    with pytest.raises(Died):
        attempt(source, tmp_path, StateStore(tmp_path / "a.db"), beats=beats)
    sent = beats.checkpoints()
    assert [c["batches"] for c in sent] == [1, 2, 3]
    assert [c["version"] for c in sent] == [0, 1, 2]
    # The newest heartbeat never reached the server; the new worker has its own store.
    source.die_at = None
    source.served.clear()
    done = attempt(source, tmp_path, StateStore(tmp_path / "b.db"), details=[sent[1]])
    assert done.resumed_from == "heartbeat"
    assert done.rewound_from == 2  # the commit of page 2 came after that checkpoint
    assert source.served == [2, 3, 4]
    assert ids(tmp_path) == list(range(1, 11))
    assert done.base.rows + done.result.rows == 10


def test_a_shared_store_is_newer_than_the_heartbeat_and_nothing_is_undone(tmp_path):
    source = PagedSource(rows(10))
    source.die_at = 3
    beats = Beats()
    store = StateStore(tmp_path / "shared.db")
    with pytest.raises(Died):
        attempt(source, tmp_path, store, beats=beats)
    source.die_at = None
    source.served.clear()
    done = attempt(source, tmp_path, store, details=[beats.checkpoints()[0]])
    assert (done.resumed_from, done.rewound_from, done.base.version) == (
        "state",
        None,
        2,
    )
    assert source.served == [3, 4]
    assert ids(tmp_path) == list(range(1, 11))
    assert (
        store.get("paged", "events", cp.CHECKPOINT_KIND) is None
    )  # cleared on success


class LosesCheckpoint(StateStore):
    """Dies writing the checkpoint of batch `n`: that batch is in the table and its resume
    position is saved, but the checkpoint is the previous one."""

    def __init__(self, path, n: int) -> None:
        super().__init__(path)
        self.n = n

    def put(self, source, schema, kind, value):
        if kind == cp.CHECKPOINT_KIND and value.get("batches") == self.n:
            raise Died("killed between the Delta commit and the checkpoint")
        super().put(source, schema, kind, value)


def test_a_commit_without_its_checkpoint_is_undone_and_read_again(tmp_path):
    source = PagedSource(rows(8))
    store = LosesCheckpoint(tmp_path / "s.db", n=2)
    with pytest.raises(Died):
        attempt(source, tmp_path, store)
    assert store.get("paged", "events", RESUME_KIND) == {
        "page": 2
    }  # ahead of the checkpoint
    store.n = -1
    source.served.clear()
    done = attempt(source, tmp_path, store)
    assert (done.resumed_from, done.base.batches, done.rewound_from) == ("state", 1, 1)
    assert source.served == [1, 2, 3]
    assert ids(tmp_path) == list(range(1, 9))


def test_a_table_created_by_a_dead_attempt_before_any_checkpoint_is_emptied(tmp_path):
    source = PagedSource(rows(6))
    store = LosesCheckpoint(tmp_path / "s.db", n=1)
    with pytest.raises(Died):
        attempt(source, tmp_path, store)
    assert ids(tmp_path) == [1, 2]
    store.n = -1
    done = attempt(source, tmp_path, store)
    assert done.resumed_from is None  # the start checkpoint: nothing to continue
    assert done.rewound_from == 0
    assert ids(tmp_path) == list(range(1, 7))


def test_another_executions_checkpoint_is_ignored(tmp_path):
    source = PagedSource(rows(6))
    source.die_at = 2
    beats = Beats()
    store = StateStore(tmp_path / "s.db")
    with pytest.raises(Died):
        attempt(source, tmp_path, store, beats=beats)
    source.die_at = None
    source.served.clear()
    # A later sync (new owner): resumes from the store's position like run_schema, no rewind.
    done = attempt(
        source, tmp_path, store, details=[beats.checkpoints()[0]], owner="wf-2/run/1"
    )
    assert (done.resumed_from, done.rewound_from) == (None, None)
    assert done.result.resumed and source.served == [2]
    assert ids(tmp_path) == list(range(1, 7))


def test_a_full_refresh_retry_continues_instead_of_overwriting_again(tmp_path):
    source = PagedSource(rows(4))
    store = StateStore(tmp_path / "s.db")
    attempt(source, tmp_path, store)  # an earlier sync: ids 1..4
    source.rows = [{"id": i, "updated": i} for i in range(11, 19)]
    source.die_at = 2
    with pytest.raises(Died):
        attempt(source, tmp_path, store, full_refresh=True)
    assert ids(tmp_path) == [
        1,
        2,
        3,
        4,
    ]  # the replace is staged: readers see the old table
    source.die_at = None
    source.served.clear()
    done = attempt(source, tmp_path, store, full_refresh=True)
    assert done.resumed_from == "state" and source.served == [2, 3]
    assert ids(tmp_path) == list(range(11, 19))


def test_newest_prefers_the_higher_version_then_more_batches():
    a = cp.Checkpoint(OWNER, version=3, batches=2)
    b = cp.Checkpoint(OWNER, version=4, batches=1)
    start = cp.Checkpoint(OWNER, version=None)
    assert cp.newest(a, b) is b and cp.newest(b, a) is b
    assert cp.newest(start, None) is start and cp.newest(None, None) is None
    assert (
        cp.newest(a, cp.Checkpoint(OWNER, version=3, batches=2)) is a
    )  # tie: first wins
    assert cp.from_heartbeat([{"owner": "other", "version": 9}], OWNER) is None
    assert cp.from_heartbeat([{"not": "a checkpoint"}], OWNER) is None
    assert cp.from_heartbeat([a.to_json()], OWNER) == a


def test_heartbeat_thread_repeats_the_latest_details():
    seen = threading.Event()
    sent: list = []

    def send(*details):
        sent.append((threading.current_thread().name, details))
        if threading.current_thread().name == "gen-source-heartbeat" and details:
            seen.set()

    with Heartbeat(send, 0.05) as heartbeat:
        heartbeat.beat({"rows": 1})
        assert seen.wait(10)
    assert sent[0] == (threading.current_thread().name, ({"rows": 1},))
    assert any(
        name == "gen-source-heartbeat" and d == ({"rows": 1},) for name, d in sent
    )


def test_secrets_in_a_saved_position_are_sealed_out_of_heartbeats_and_back_in_on_resume(
    tmp_path,
):
    key = "sk_live/a+b&c=42"
    link = f"https://api.example.test/v1/events?page=2&api_key={quote(key, safe='')}"
    source = PagedSource(rows(6))
    source.state_extra = {"next_url": link, "token_echo": key}
    source.die_at = 2
    beats = Beats()
    with pytest.raises(Died):
        attempt(
            source,
            tmp_path,
            StateStore(tmp_path / "a.db"),
            beats=beats,
            secrets={"token": key},
        )
    sent = json.dumps(beats.sent)
    for shape in (key, quote(key, safe=""), quote_plus(key), json.dumps(key)[1:-1]):
        assert shape not in sent
    assert (
        "<<gen-source-secret:token:1>>" in sent
        and "<<gen-source-secret:token:0>>" in sent
    )
    source.die_at = None
    done = attempt(
        source,
        tmp_path,
        StateStore(tmp_path / "b.db"),
        details=[beats.checkpoints()[-1]],
        secrets={"token": key},
    )
    assert done.resumed_from == "heartbeat"
    assert source.loaded[-1] == {"page": 2, "next_url": link, "token_echo": key}
    assert ids(tmp_path) == list(range(1, 7))
