"""Stripe end to end: the generated connector, run by `gen-source sync` in a child process,
against the Stripe emulator (newest first, `limit`/`starting_after`/`has_more`, `created[...]`
filters), into Delta tables checked row by row against the emulator's store."""

from __future__ import annotations

import pytest

import inspect
import signal
import subprocess
import time

from runtime.sync import run_schema

from .support import (
    ROOT,
    assert_exactly_once,
    cli_command,
    cli_sync,
    column,
    requests_to,
    table_rows,
)

CUSTOMERS = "/v1/customers"


def newest_first(emu, key: str = "customers") -> list[str]:
    """Stripe lists newest first (created, then id, descending)."""
    rows = sorted(emu.store[key], key=lambda r: (r["created"], r["id"]), reverse=True)
    return [r["id"] for r in rows]


@pytest.mark.parametrize("extra", [(), ("--concurrency", "4")], ids=["one", "four"])
def test_customers_and_a_fanout_child_land_every_row_exactly_once(
    connector, emulator, tmp_path, extra
):
    conn = connector("stripe")
    table = conn.table_at(CUSTOMERS)
    child = conn.table_at("/v1/customers/{customer}/balance_transactions")
    assert conn.catalog[child].parent.endpoint == table
    emu = emulator("stripe", rows=250)
    page = conn.catalog[table].page_size

    done = cli_sync(conn, emu, [table, child], tmp_path, extra)

    order = newest_first(emu)
    lists = requests_to(emu, CUSTOMERS)
    pages = -(-len(order) // page)
    # Each page continues after the last id of the one before; the last said has_more=false.
    assert [r.query.get("starting_after") for r in lists[:pages]] == [None] + [
        order[page * i - 1] for i in range(1, pages)
    ]
    assert {r.query.get("limit") for r in lists} == {str(page)}
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(rows, "id"), order, table)
    stored = {r["id"]: r for r in emu.store["customers"]}
    assert all(
        int(r["created"].timestamp())
        == stored[r["id"]]["created"]  # a timestamp column
        and r["email"] == stored[r["id"]]["email"]
        for r in rows
    )

    kids = table_rows(tmp_path, conn, child)
    store = emu.store["customers/balance_transactions"]
    assert_exactly_once(column(kids, "id"), [r["id"] for r in store], child)
    # Each child row carries its parent's id, as the emulator filed it.
    parent_of = emu.parent_of
    link = f"_{table}_id"
    assert all(
        r[link] == parent_of[("customers/balance_transactions", r["id"])] for r in kids
    )
    child_paths = {
        r.path for r in emu.requests if r.path.endswith("/balance_transactions")
    }
    assert child_paths == {f"/v1/customers/{c}/balance_transactions" for c in order}
    assert table in done.stdout and child in done.stdout


def test_second_sync_asks_only_for_newer_rows_and_merges_them(
    connector, emulator, tmp_path
):
    conn = connector("stripe")
    table = conn.table_at(CUSTOMERS)
    field = conn.catalog[table].incremental_fields[0]
    assert field.field == "created" and field.filter_param in (
        "created[gt]",
        "created[gte]",
    )
    emu = emulator("stripe", rows=250)

    cli_sync(conn, emu, [table], tmp_path)
    first = table_rows(tmp_path, conn, table)
    top = max(column(first, "created"))
    assert not any(
        k.startswith("created") for r in requests_to(emu, CUSTOMERS) for k in r.query
    )

    added = emu.add("customers", 5)
    before = len(emu.requests)
    cli_sync(conn, emu, [table], tmp_path)

    second = requests_to(emu, CUSTOMERS, before)
    assert [r.query.get(field.filter_param) for r in second] == [
        str(int(top.timestamp()))
    ]
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(
        column(rows, "id"), newest_first(emu), "customers after 2 syncs"
    )
    assert {r["id"] for r in rows if r["created"] > top} == {r["id"] for r in added}


def test_killed_sync_resumes_after_its_last_commit_and_keeps_every_row_once(
    connector, emulator, tmp_path
):
    """SIGKILL `gen-source sync` a few pages after its first commit; the rerun must continue
    from the saved cursor (not from the top), and the watermark must survive the crash."""
    conn = connector("stripe")
    table = conn.table_at(CUSTOMERS)
    page = conn.catalog[table].page_size
    # The CLI has no batch-size option, so the commit boundary is run_schema's default.
    batch = inspect.signature(run_schema).parameters["batch_rows"].default
    committed_pages = batch // page
    kill_at = committed_pages + 3  # past the first commit, far from the second
    total = batch + 10 * page
    emu = emulator("stripe", rows=50)
    emu.add("customers", total - 50)
    order = newest_first(emu)
    # The first kill_at pages are served at once, then every page takes 3 s: the kill
    # lands while pages (committed_pages, 2 * committed_pages) are in flight.
    emu.faults.inject("slow", count=kill_at, delay=0, path=CUSTOMERS)
    emu.faults.inject("slow", count=10**6, delay=3.0, path=CUSTOMERS)

    argv, env = cli_command(conn, emu, [table], tmp_path)
    proc = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while len(requests_to(emu, CUSTOMERS)) < kill_at:
            assert proc.poll() is None, f"sync ended early: {proc.communicate()}"
            assert time.monotonic() < deadline, "sync never reached the kill page"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    emu.faults.clear()

    kept = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(kept, "id"), order[:batch], "customers after the kill")

    before = len(emu.requests)
    cli_sync(conn, emu, [table], tmp_path)
    # (the request that was sleeping when the child died is logged late, marked slow)
    rerun = [r for r in requests_to(emu, CUSTOMERS, before) if r.fault is None]
    assert rerun[0].query.get("starting_after") == order[batch - 1]
    assert len(rerun) == (total - batch) // page
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(rows, "id"), order, "customers after the rerun")

    # The newest value was committed before the crash: the next run starts after it.
    top = max(column(rows, "created"))
    emu.add("customers", 3)
    before = len(emu.requests)
    cli_sync(conn, emu, [table], tmp_path)
    field = conn.catalog[table].incremental_fields[0]
    third = [r for r in requests_to(emu, CUSTOMERS, before) if r.fault is None]
    assert [r.query.get(field.filter_param) for r in third] == [
        str(int(top.timestamp()))
    ]
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(
        column(rows, "id"), newest_first(emu), "customers after 3 syncs"
    )
