"""Syncs on a real Temporal dev server with an in-process worker, against the loopback Stripe
emulator, writing real Delta tables (local folders, and S3 on moto)."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from deltalake import DeltaTable

from runtime.delta.writer import read_table
from runtime.temporal.client import (
    SyncFailed,
    connect,
    follow,
    make_request,
    run_temporal_sync,
    start_sync,
)
from runtime.temporal.schedules import delete_schedule, upsert_schedule
from runtime.temporal.types import ConfigRef, SyncOutcome
from runtime.temporal.worker import run_worker
from tests.emulators import start_emulator

from .conftest import BUCKET, TOKEN, free_port


@pytest.fixture
def emulator():
    emu = start_emulator("stripe", rows=300, api_key=TOKEN)
    yield emu
    emu.stop()


def request(connector, emu, dest, schemas=("customers",), **kwargs):
    kwargs.setdefault("batch_rows", 100)
    kwargs.setdefault("retry_initial_s", 0.2)
    kwargs.setdefault("max_attempts", 3)
    kwargs.setdefault("table_poll_s", 0.2)
    return make_request(
        source="stripe",
        connector=connector,
        schemas=list(schemas),
        dest=str(dest),
        base_url=emu.base_url,
        allow_private_hosts=True,
        **kwargs,
    )


async def sync(address, queue, req, lines=None):
    client = await connect(address)
    handle = await start_sync(client, req, task_queue=queue)
    return await follow(
        client,
        handle,
        on_line=lines.append if lines is not None else None,
        interval=0.1,
    )


def ids(uri, options=None) -> list[str]:
    return sorted(
        DeltaTable(uri, storage_options=options)
        .to_pyarrow_table()
        .column("id")
        .to_pylist()
    )


def emulated_ids(emu, resource) -> list[str]:
    return sorted(row["id"] for row in emu.store[resource])


def table_requests(emu, path):
    return [r for r in emu.requests if r.path == path]


def test_sync_writes_each_table_and_the_next_run_reads_only_new_rows(
    temporal_address, worker_queue, stripe_connector, stripe_env, emulator, tmp_path
):
    req = request(stripe_connector, emulator, tmp_path / "wh", ("customers", "charges"))
    lines: list[str] = []
    outcome = asyncio.run(sync(temporal_address, worker_queue, req, lines))
    assert outcome.ok and [r.schema for r in outcome.results] == [
        "customers",
        "charges",
    ]
    for result in outcome.results:
        assert (result.status, result.mode, result.rows, result.attempts) == (
            "ok",
            "merge",
            300,
            1,
        )
        assert result.workflow_id.startswith(
            f"gen-source-table/stripe/{result.schema}/"
        )
        assert ids(result.table_uri) == emulated_ids(emulator, result.schema)
    assert "customers: done, 300 rows" in lines

    added = emulator.add("customers", 5)
    again = asyncio.run(
        sync(
            temporal_address,
            worker_queue,
            request(stripe_connector, emulator, tmp_path / "wh"),
        )
    )
    assert (
        again.results[0].rows == 5
    )  # incremental: only rows created since the last run
    customers = str(tmp_path / "wh" / "stripe" / "customers")
    assert ids(customers) == emulated_ids(emulator, "customers")
    assert {r["id"] for r in added} <= set(ids(customers))


def test_a_fan_out_table_reads_its_children_concurrently_on_a_worker(
    temporal_address, worker_queue, stripe_connector, stripe_env, emulator, tmp_path
):
    """`concurrency` in the request reaches the worker's reader: child reads overlap
    (counted where the emulator answers, each held 50 ms), and every row lands once."""
    child, store = "customer_balance_transactions", "customers/balance_transactions"
    serve, lock, now, peak = emulator.serve, threading.Lock(), [0], [0]

    def counted(req):
        if not req.path.endswith("/balance_transactions"):
            return serve(req)
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            time.sleep(0.05)
            return serve(req)
        finally:
            with lock:
                now[0] -= 1

    emulator.serve = counted
    req = request(stripe_connector, emulator, tmp_path / "wh", (child,), concurrency=4)
    outcome = asyncio.run(sync(temporal_address, worker_queue, req))
    assert outcome.ok, outcome
    (result,) = outcome.results
    assert ids(result.table_uri) == emulated_ids(emulator, store)
    assert 2 <= peak[0] <= 4


def test_bad_credentials_fail_once_without_retries_and_without_the_secret(
    temporal_address, worker_queue, stripe_connector, emulator, tmp_path, monkeypatch
):
    wrong = "sk_test_wrong_key_123"
    monkeypatch.setenv("GEN_SOURCE_STRIPE_TOKEN", wrong)
    monkeypatch.setenv("GEN_SOURCE_STRIPE_ACCOUNT", "acct_x")
    req = request(stripe_connector, emulator, tmp_path / "wh", max_attempts=4)
    with pytest.raises(SyncFailed) as info:
        asyncio.run(sync(temporal_address, worker_queue, req))
    [result] = info.value.outcome.results
    assert (result.status, result.non_retryable, result.attempts) == ("failed", True, 1)
    assert "credentials were rejected" in result.error
    assert wrong not in result.error and wrong not in str(info.value)
    assert len(table_requests(emulator, "/v1/customers")) == 1  # Temporal did not retry


def test_missing_config_on_the_worker_is_permanent_and_named(
    temporal_address, worker_queue, stripe_connector, emulator, tmp_path, monkeypatch
):
    monkeypatch.delenv("GEN_SOURCE_STRIPE_TOKEN", raising=False)
    monkeypatch.setenv("GEN_SOURCE_STRIPE_ACCOUNT", "acct_x")
    req = request(
        stripe_connector,
        emulator,
        tmp_path / "wh",
        config_env={"token": "STRIPE_KEY_NOT_SET"},
    )
    with pytest.raises(SyncFailed) as info:
        asyncio.run(sync(temporal_address, worker_queue, req))
    [result] = info.value.outcome.results
    assert result.non_retryable and result.attempts == 1
    assert (
        "environment variable STRIPE_KEY_NOT_SET is not set on this worker"
        in result.error
    )
    assert emulator.requests == []


def test_config_is_passed_by_reference_and_never_enters_history(
    temporal_address, worker_queue, stripe_connector, emulator, tmp_path, monkeypatch
):
    monkeypatch.delenv("GEN_SOURCE_STRIPE_TOKEN", raising=False)
    monkeypatch.setenv("VAULT_STRIPE_KEY", TOKEN)
    config = tmp_path / "stripe.json"
    config.write_text(
        json.dumps({"base_url": emulator.base_url})
    )  # read on the worker only
    req = replace(
        request(
            stripe_connector,
            emulator,
            tmp_path / "wh",
            config_file=config,
            config_env={"token": "VAULT_STRIPE_KEY"},
        ),
        config=ConfigRef(file=str(config), env={"token": "VAULT_STRIPE_KEY"}),
    )

    async def run_and_read_history():
        client = await connect(temporal_address)
        handle = await start_sync(client, req, task_queue=worker_queue)
        outcome = await follow(client, handle)
        child = client.get_workflow_handle(
            outcome.results[0].workflow_id, run_id=outcome.results[0].run_id
        )
        histories = [await h.fetch_history() for h in (handle, child)]
        # raw event bytes: payloads appear as the JSON the converter wrote, not base64
        return outcome, [
            b"".join(e.SerializeToString() for e in h.events) for h in histories
        ]

    outcome, histories = asyncio.run(run_and_read_history())
    assert outcome.results[0].rows == 300
    for history in histories:  # the references are recorded, the values are not
        assert b"VAULT_STRIPE_KEY" in history and str(config).encode() in history
        assert (
            TOKEN.encode() not in history and emulator.base_url.encode() not in history
        )


def test_two_syncs_of_one_table_take_turns_while_other_tables_run_alongside(
    temporal_address, worker_queue, stripe_connector, stripe_env, emulator, tmp_path
):
    # Slow pages make each customers run last ~1.5 s, so the charges run surely overlaps
    # the first one even when a loaded machine starts the workflows some time apart.
    for path in ("/v1/customers", "/v1/charges"):
        emulator.faults.inject("slow", 40, path=path, delay=0.3)
    dest = tmp_path / "wh"
    lines: list[str] = []

    async def three():
        return await asyncio.gather(
            sync(
                temporal_address,
                worker_queue,
                request(stripe_connector, emulator, dest),
            ),
            sync(
                temporal_address,
                worker_queue,
                request(stripe_connector, emulator, dest),
                lines,
            ),
            sync(
                temporal_address,
                worker_queue,
                request(stripe_connector, emulator, dest, ("charges",)),
            ),
        )

    first, second, other = asyncio.run(three())
    a, b, c = first.results[0], second.results[0], other.results[0]
    assert a.workflow_id == b.workflow_id != c.workflow_id  # one lock per table
    before, after = sorted([a, b], key=lambda r: r.started_at)
    assert before.finished_at <= after.started_at  # never both writing customers
    assert c.started_at < before.finished_at and before.started_at < c.finished_at
    if after is b:
        assert any(
            line.startswith("customers: waiting for gen-source-table/")
            for line in lines
        )
    assert before.rows == 300 and after.rows == 0  # the second run found nothing new
    assert ids(str(dest / "stripe" / "customers")) == emulated_ids(
        emulator, "customers"
    )


def test_schedule_is_created_triggered_and_updated(
    temporal_address, worker_queue, stripe_connector, stripe_env, emulator, tmp_path
):
    req = request(stripe_connector, emulator, tmp_path / "wh")
    schedule_id = f"gen-source-test-{tmp_path.name}"

    async def scenario():
        client = await connect(temporal_address)
        handle = await upsert_schedule(
            client, schedule_id, req, task_queue=worker_queue, every=timedelta(hours=1)
        )
        await handle.trigger()
        workflow_id = None
        for _ in range(200):
            actions = (await handle.describe()).info.recent_actions
            if actions:
                workflow_id = actions[0].action.workflow_id
                break
            await asyncio.sleep(0.05)
        assert workflow_id is not None, "the triggered schedule started no workflow"
        outcome = await client.get_workflow_handle(
            workflow_id, result_type=SyncOutcome
        ).result()
        await upsert_schedule(
            client,
            schedule_id,
            req,
            task_queue=worker_queue,
            every=timedelta(hours=2),
            paused=True,
        )
        described = await handle.describe()
        await delete_schedule(client, schedule_id)
        return workflow_id, outcome, described

    workflow_id, outcome, described = asyncio.run(scenario())
    assert workflow_id.startswith(
        f"gen-source-scheduled/gen-source-test-{tmp_path.name}"
    )
    assert outcome.results[0].rows == 300
    assert [i.every for i in described.schedule.spec.intervals] == [timedelta(hours=2)]
    assert described.schedule.state.paused
    assert len(read_table(str(tmp_path / "wh" / "stripe" / "customers"))) == 300


def test_sync_to_s3_merges_and_writes_tables_side_by_side(
    temporal_address, worker_queue, stripe_connector, stripe_env, emulator, s3, tmp_path
):
    dest = f"s3://{BUCKET}/{tmp_path.name}/raw"
    req = request(
        stripe_connector,
        emulator,
        dest,
        ("customers", "charges"),
        state=str(tmp_path / "state.db"),
    )
    outcome = asyncio.run(sync(temporal_address, worker_queue, req))
    assert [r.table_uri for r in outcome.results] == [
        f"{dest}/stripe/customers",
        f"{dest}/stripe/charges",
    ]
    for result in outcome.results:
        assert ids(result.table_uri, s3) == emulated_ids(emulator, result.schema)
    emulator.add("customers", 3)
    again = asyncio.run(
        sync(
            temporal_address,
            worker_queue,
            request(stripe_connector, emulator, dest, state=str(tmp_path / "state.db")),
        )
    )
    assert (again.results[0].mode, again.results[0].rows) == ("merge", 3)
    assert ids(f"{dest}/stripe/customers", s3) == emulated_ids(emulator, "customers")


def test_cli_entry_points_print_progress_and_summary_and_exit_codes(
    temporal_address, worker_queue, stripe_connector, stripe_env, emulator, tmp_path
):
    req = request(stripe_connector, emulator, tmp_path / "wh", ("customers", "charges"))
    err, out = io.StringIO(), io.StringIO()
    assert (
        run_temporal_sync(
            temporal_address, req, task_queue=worker_queue, stream=err, out=out
        )
        == 0
    )
    assert "submitted workflow gen-source-sync/stripe/" in err.getvalue()
    assert "customers: done, 300 rows" in err.getvalue()
    table = out.getvalue().splitlines()
    assert table[0].split()[:3] == ["schema", "mode", "rows"]
    assert {line.split()[0] for line in table[2:]} == {"customers", "charges"}

    bad = replace(req, schemas=["customers", "no_such_table"])
    err, out = io.StringIO(), io.StringIO()
    assert (
        run_temporal_sync(
            temporal_address, bad, task_queue=worker_queue, stream=err, out=out
        )
        == 1
    )
    assert (
        "gen-source: stripe/no_such_table: KeyError: unknown schema 'no_such_table'"
        in (err.getvalue())
    )
    assert "customers" in out.getvalue() and "failed" in out.getvalue()


def test_unreachable_server_is_one_line_and_a_nonzero_exit(
    stripe_connector, tmp_path, capsys
):
    req = make_request(
        source="stripe",
        connector=stripe_connector,
        schemas=["customers"],
        dest=str(tmp_path / "wh"),
    )
    err = io.StringIO()
    port = free_port()
    assert run_temporal_sync(f"127.0.0.1:{port}", req, stream=err) == 2
    assert err.getvalue().startswith(
        f"gen-source: Temporal at 127.0.0.1:{port} (default): "
    )
    assert err.getvalue().count("\n") == 1
    assert run_worker(f"127.0.0.1:{port}", "q") == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_buffered_webhook_events_are_applied_after_the_pull_once(
    temporal_address, worker_queue, stripe_connector, stripe_env, emulator, tmp_path
):
    """The activity pulls, then applies the events `webhooks serve --dest <dest>` buffered in
    `<dest>/.webhooks.db`, exactly as a plain sync does; applied events are not applied again."""
    import copy
    import time

    from runtime.source.connector import load_connector
    from runtime.webhooks.store import EventStore

    dest = tmp_path / "wh"
    req = request(stripe_connector, emulator, dest)
    assert req.events == str((dest / ".webhooks.db").resolve())
    first = asyncio.run(sync(temporal_address, worker_queue, req))
    assert (
        first.ok
        and first.results[0].rows == 300
        and first.results[0].events_applied == 0
    )

    webhooks = importlib.import_module(
        f"{load_connector(stripe_connector).__name__}.webhooks"
    )
    customers = emulator.store["customers"]
    edited, gone = copy.deepcopy(customers[0]), copy.deepcopy(customers[1])
    new = {**copy.deepcopy(customers[2]), "id": "cus_from_event"}
    now = int(time.time()) + 60  # after the initial pull began: not superseded by it
    events = [
        ("customer.updated", {**edited, "name": "edited by event"}),
        ("customer.deleted", {**gone, "deleted": True}),
        ("customer.created", new),
    ]
    with EventStore(dest / ".webhooks.db") as store:
        for n, (kind, obj) in enumerate(events):
            payload = {
                "id": f"evt_{n}",
                "object": "event",
                "type": kind,
                "created": now + n,
                "data": {"object": obj},
            }
            body = json.dumps(payload).encode()
            stored = store.record(
                "stripe",
                webhooks.WEBHOOKS.parse(payload),
                body,
                replay_key=None,
                now=time.time(),
                replay_window=300,
            )
            assert stored.status == "stored"

    second = asyncio.run(
        sync(temporal_address, worker_queue, request(stripe_connector, emulator, dest))
    )
    [result] = second.results
    assert result.status == "ok", result.error
    assert (result.events_applied, result.rows) == (
        3,
        3,
    )  # nothing new to pull; 2 upserts, 1 delete
    rows = {
        r["id"]: r for r in DeltaTable(result.table_uri).to_pyarrow_table().to_pylist()
    }
    assert rows[edited["id"]]["name"] == "edited by event"
    assert gone["id"] not in rows and "cus_from_event" in rows
    assert len(rows) == 300
    with EventStore(dest / ".webhooks.db") as store:
        assert store.count("stripe", applied=True) == 3

    third = asyncio.run(
        sync(temporal_address, worker_queue, request(stripe_connector, emulator, dest))
    )
    assert (third.results[0].events_applied, third.results[0].rows) == (0, 0)


def test_a_local_table_a_plain_sync_is_writing_is_retried_until_it_is_free(
    temporal_address, worker_queue, stripe_connector, stripe_env, emulator, tmp_path
):
    """A plain `gen-source sync` holding the table's lock makes the activity fail retryably
    (TableBusyError); once the lock is released the next attempt writes the table."""
    import threading

    from runtime.state.locks import table_lock

    dest = tmp_path / "wh"
    held, release = threading.Event(), threading.Event()

    def plain_sync() -> None:
        with table_lock(str(dest), "stripe", "customers"):
            held.set()
            release.wait(60)

    holder = threading.Thread(target=plain_sync)
    holder.start()
    held.wait(10)
    lines: list[str] = []

    async def scenario():
        client = await connect(temporal_address)
        handle = await start_sync(
            client,
            request(stripe_connector, emulator, dest, max_attempts=20),
            task_queue=worker_queue,
        )
        following = asyncio.ensure_future(
            follow(client, handle, on_line=lines.append, interval=0.1)
        )
        while not any("TableBusyError" in line for line in lines):
            assert not following.done(), lines
            await asyncio.sleep(0.05)
        release.set()
        return await following

    try:
        outcome = asyncio.run(scenario())
    finally:
        release.set()
        holder.join(10)
    [result] = outcome.results
    assert result.status == "ok" and result.attempts >= 2 and result.rows == 300
    assert ids(result.table_uri) == emulated_ids(emulator, "customers")
