"""apply_events on real Delta tables: order, deletes, partial payloads, supersession, crash recovery."""

from __future__ import annotations

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from runtime.catalog import Column
from runtime.webhooks.apply import app_id, apply_events
from runtime.webhooks.config import ParsedEvent
from runtime.webhooks.store import EventStore

SRC = "shop"


@pytest.fixture
def store(tmp_path):
    with EventStore(tmp_path / "events.db") as s:
        yield s


@pytest.fixture
def table(tmp_path):
    uri = str(tmp_path / "customers")
    write_deltalake(
        uri,
        pa.table(
            {
                "id": ["c1", "c2", "c3"],
                "name": ["one", "two", "three"],
                "balance": pa.array([1, 2, 3], pa.int64()),
                "address": ['{"city":"A"}', None, None],
            }
        ),
    )
    return uri


def put(store, n, obj, *, created, op="upsert", mode="full", table="customers"):
    event = ParsedEvent(f"evt_{n}", "customer.x", float(created), table, op, obj, mode)
    return store.record(
        SRC, event, b"{}", replay_key=None, now=1000.0 + n, replay_window=600
    )


def rows(uri) -> dict:
    return {r["id"]: r for r in DeltaTable(uri).to_pyarrow_table().to_pylist()}


def test_upserts_in_created_order_and_deletes_in_one_commit(store, table):
    put(store, 1, {"id": "c1", "name": "newest", "balance": 10}, created=300)
    put(
        store, 2, {"id": "c1", "name": "older", "balance": 5}, created=200
    )  # arrived later, happened earlier
    put(store, 3, {"id": "c2"}, created=100, op="delete")
    put(
        store,
        4,
        {
            "id": "c4",
            "name": "four",
            "balance": "7",
            "address": {"city": "B", "zip": "1"},
        },
        created=50,
    )
    before = DeltaTable(table).version()
    result = apply_events(
        store, SRC, "customers", table, ["id"], columns=[Column("address", "json")]
    )
    got = rows(table)
    assert set(got) == {"c1", "c3", "c4"}
    assert got["c1"]["name"] == "newest" and got["c1"]["balance"] == 10
    assert (
        got["c4"]["balance"] == 7 and got["c4"]["address"] == '{"city":"B","zip":"1"}'
    )
    assert (result.events, result.upserted, result.deleted) == (4, 2, 1)
    assert DeltaTable(table).version() == before + 1  # one commit for the whole batch
    assert DeltaTable(table).transaction_version(app_id(SRC, "customers")) == 4
    assert store.count(SRC, applied=False) == 0
    again = apply_events(store, SRC, "customers", table, ["id"])
    assert again.events == 0 and DeltaTable(table).version() == before + 1


def test_a_late_older_event_never_rolls_a_row_back(store, table):
    put(store, 1, {"id": "c1", "name": "v2"}, created=200)
    apply_events(store, SRC, "customers", table, ["id"])
    put(
        store, 2, {"id": "c1", "name": "v1"}, created=100
    )  # delivered after v2 was applied
    put(store, 3, {"id": "c3", "name": "gone"}, created=100, op="delete")
    put(
        store, 4, {"id": "c3", "name": "stale update"}, created=50
    )  # older than the delete
    result = apply_events(store, SRC, "customers", table, ["id"])
    got = rows(table)
    assert got["c1"]["name"] == "v2" and "c3" not in got
    assert result.superseded == 1 and result.deleted == 1
    assert store.outcomes(SRC) == {
        "evt_1": "applied",
        "evt_2": "superseded",
        "evt_3": "applied",
        "evt_4": "applied",
    }


def test_partial_payloads_keep_the_columns_they_do_not_carry(store, table):
    put(store, 1, {"id": "c1", "balance": 99}, created=10, mode="partial")
    put(store, 2, {"id": "c9"}, created=11, mode="partial")  # a new id-only row
    put(
        store, 3, {"id": "c2", "name": "full"}, created=12
    )  # a full payload replaces the row
    apply_events(store, SRC, "customers", table, ["id"])
    got = rows(table)
    assert got["c1"] == {
        "id": "c1",
        "name": "one",
        "balance": 99,
        "address": '{"city":"A"}',
    }
    assert got["c9"] == {"id": "c9", "name": None, "balance": None, "address": None}
    assert got["c2"] == {"id": "c2", "name": "full", "balance": None, "address": None}


def test_a_full_payload_keeps_the_columns_the_connector_adds(store, tmp_path):
    uri = str(tmp_path / "methods")
    write_deltalake(
        uri,
        pa.table(
            {
                "id": ["pm_1"],
                "_customer": ["cus_1"],
                "brand": ["visa"],
                "last4": ["4242"],
            }
        ),
    )
    put(store, 1, {"id": "pm_1", "brand": "amex"}, created=1, table="methods")
    apply_events(store, SRC, "methods", uri, ["id"])
    # Vendor fields the payload lacks are null (as a pull writes them); the parent key stays.
    assert rows(uri)["pm_1"] == {
        "id": "pm_1",
        "_customer": "cus_1",
        "brand": "amex",
        "last4": None,
    }


def test_fetch_completes_partial_payloads(store, table):
    put(store, 1, {"id": "c1"}, created=10, mode="partial")
    seen = []

    def fetch(schema, obj):
        seen.append((schema, obj["id"]))
        return {"id": obj["id"], "name": "fetched", "balance": 42, "status": "live"}

    apply_events(store, SRC, "customers", table, ["id"], fetch=fetch)
    assert seen == [("customers", "c1")]
    assert rows(table)["c1"] == {
        "id": "c1",
        "name": "fetched",
        "balance": 42,
        "address": None,
        "status": "live",
    }


def test_events_before_the_pull_are_skipped(store, table):
    put(store, 1, {"id": "c1", "name": "before pull"}, created=100)
    put(store, 2, {"id": "c2", "name": "after pull"}, created=300)
    result = apply_events(store, SRC, "customers", table, ["id"], not_before=200)
    assert (
        rows(table)["c1"]["name"] == "one" and rows(table)["c2"]["name"] == "after pull"
    )
    assert result.superseded == 1 and store.outcomes(SRC)["evt_1"] == "before_pull"


def test_crash_after_the_table_commit_does_not_apply_events_twice(
    store, table, monkeypatch
):
    put(store, 1, {"id": "c1", "balance": 100}, created=10)
    put(store, 2, {"id": "c5", "name": "five"}, created=11)

    def crash(*a, **kw):
        raise RuntimeError("killed between the table commit and the bookkeeping")

    monkeypatch.setattr(store, "mark_applied", crash)
    with pytest.raises(RuntimeError):
        apply_events(store, SRC, "customers", table, ["id"])
    committed = DeltaTable(table).version()
    assert rows(table)["c1"]["balance"] == 100 and store.count(SRC, applied=False) == 2
    monkeypatch.undo()
    put(store, 3, {"id": "c1", "balance": 200}, created=12)  # arrived meanwhile
    result = apply_events(store, SRC, "customers", table, ["id"])
    assert result.recovered == 2 and result.events == 3
    # Events 1-2 were recognised from the Delta transaction, not written again: one new commit (event 3).
    assert DeltaTable(table).version() == committed + 1
    assert rows(table)["c1"]["balance"] == 200 and store.count(SRC, applied=False) == 0


def test_new_table_new_columns_unusable_events_and_partitions(store, tmp_path):
    uri = str(tmp_path / "orders")
    put(
        store,
        1,
        {"id": 1, "created": 1_704_067_200, "total": 5},
        created=1,
        table="orders",
    )
    put(store, 2, {"total": 9}, created=2, table="orders")  # no key: cannot be applied
    put(
        store, 3, {"id": 7}, created=3, op="delete", table="orders"
    )  # nothing to delete yet
    result = apply_events(store, SRC, "orders", uri, ["id"], partition_key="created")
    t = DeltaTable(uri)
    assert t.metadata().partition_columns == ["_partition"]
    assert t.to_pyarrow_table().to_pylist() == [
        {"id": 1, "created": 1_704_067_200, "total": 5, "_partition": "2024-01"}
    ]
    assert result.unusable == 1
    put(
        store,
        4,
        {"id": 2, "created": 1_706_745_600, "total": 3, "note": "new column"},
        created=4,
        table="orders",
    )
    apply_events(store, SRC, "orders", uri, ["id"], partition_key="created")
    got = sorted(DeltaTable(uri).to_pyarrow_table().to_pylist(), key=lambda r: r["id"])
    assert [(r["id"], r["_partition"], r["note"]) for r in got] == [
        (1, "2024-01", None),
        (2, "2024-02", "new column"),
    ]


def test_a_value_that_does_not_fit_its_column_is_one_clear_error(store, table):
    put(store, 1, {"id": "c1", "balance": "lots"}, created=1)
    with pytest.raises(ValueError, match="column 'balance'"):
        apply_events(store, SRC, "customers", table, ["id"])
    assert store.count(SRC, applied=False) == 1  # nothing marked: the next run retries
