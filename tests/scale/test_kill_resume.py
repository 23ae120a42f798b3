"""A worker is SIGKILLed mid-sync; a second worker finishes the table from the dead one's
last checkpoint, and every row of the emulator's store is in the Delta table exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from dataclasses import replace

import pytest
from deltalake import DeltaTable

from runtime.temporal.client import (
    _checkpoint,
    connect,
    follow,
    make_request,
    start_sync,
)
from runtime.temporal.workflows import SyncWorkflow
from tests.emulators import start_emulator

from .conftest import ACCOUNT, BUCKET, TOKEN, s3_env, spawn_worker, stop_process

ROWS = 1000  # 10 pages of 100, one commit each


@pytest.fixture(scope="module")
def emu():
    emulator = start_emulator("stripe", rows=ROWS, api_key=TOKEN)
    yield emulator
    emulator.stop()


async def wait_for_committed_rows(
    client, handle, at_least: int, timeout: float = 60.0
) -> int:
    """Rows in the table activity's last heartbeat *as the server holds it*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            progress = await handle.query(SyncWorkflow.progress)
            state = progress.get("customers", {})
            if state.get("state") == "running":
                live = await _checkpoint(
                    client, state["workflow_id"], state.get("run_id")
                )
                if live and live.get("rows", 0) >= at_least:
                    return live["rows"]
        except Exception:  # the workflow is not picked up yet
            pass
        await asyncio.sleep(0.05)
    pytest.fail(f"no heartbeat with {at_least} committed rows within {timeout:.0f}s")


@pytest.mark.parametrize(
    ("where", "shared_state"),
    [("s3", False), ("local", True)],
    ids=["s3-own-state-per-worker", "local-shared-state"],
)
def test_second_worker_finishes_a_killed_workers_sync_exactly_once(
    where, shared_state, temporal_address, stripe_connector, s3_endpoint, emu, tmp_path
):
    emu.requests.clear()
    emu.faults.clear()
    emu.faults.inject("slow", 10_000, path="/v1/customers", delay=0.2)
    env = {
        "GEN_SOURCE_STRIPE_TOKEN": TOKEN,
        "GEN_SOURCE_STRIPE_ACCOUNT": ACCOUNT,
        **s3_env(s3_endpoint),
    }
    dest = f"s3://{BUCKET}/{tmp_path.name}" if where == "s3" else str(tmp_path / "wh")
    req = make_request(
        source="stripe",
        connector=stripe_connector,
        schemas=["customers"],
        dest=dest,
        base_url=emu.base_url,
        allow_private_hosts=True,
        batch_rows=100,
        heartbeat_timeout_s=2.0,
        retry_initial_s=0.2,
        max_attempts=5,
    )
    # A relative state path resolves in each worker's own folder: no shared store, so the
    # second worker can only continue from the heartbeat the server kept.
    req = replace(req, state=str(tmp_path / "state.db") if shared_state else "state.db")
    queue = f"kill-{tmp_path.name}"
    folders = [tmp_path / "w1", tmp_path / "w2"]
    for folder in folders:
        folder.mkdir()
    first = spawn_worker(temporal_address, queue, cwd=folders[0], env=env)
    second = None
    try:

        async def scenario():
            nonlocal second
            client = await connect(temporal_address)
            handle = await start_sync(client, req, task_queue=queue)
            seen = await wait_for_committed_rows(client, handle, at_least=300)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            second = spawn_worker(temporal_address, queue, cwd=folders[1], env=env)
            return seen, await follow(client, handle)

        seen, outcome = asyncio.run(scenario())
    finally:
        for proc in (first, second):
            if proc is not None:
                stop_process(proc)
        emu.faults.clear()

    [result] = outcome.results
    assert result.status == "ok" and result.attempts == 2
    assert result.resumed_from == ("state" if shared_state else "heartbeat")
    assert result.resumed_version is not None and result.rows == ROWS
    options = s3_env(s3_endpoint) if where == "s3" else None
    table = DeltaTable(result.table_uri, storage_options=options).to_pyarrow_table()
    counts = Counter(table.column("id").to_pylist())
    assert set(counts) == {row["id"] for row in emu.store["customers"]}
    assert max(counts.values()) == 1 and table.num_rows == ROWS
    listing = [r for r in emu.requests if r.path == "/v1/customers"]
    # Only the first worker read the first page: the second continued, it did not restart.
    assert sum(1 for r in listing if "starting_after" not in r.query) == 1
    assert len(listing) < 2 * (ROWS // 100)
    assert seen >= 300
