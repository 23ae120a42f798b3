"""The receiver as its own process (`python -m runtime.webhooks`), SIGKILLed while events stream in:
every event it acknowledged is in the store; after a restart and the vendor's retries the table
holds each object's newest state, and no event is applied twice."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from deltalake import DeltaTable

from runtime.webhooks.apply import apply_events
from runtime.webhooks.store import EventStore

from .conftest import ROOT, STRIPE_SECRET, Sender, environ_without_secrets, stripe_event

N_EVENTS, N_OBJECTS = 240, 12
DELETES = {i for i in range(N_EVENTS) if i % 37 == 36}


def start_receiver(generated: Path, db: Path) -> tuple[subprocess.Popen, str]:
    env = {
        **environ_without_secrets(),
        "GEN_SOURCE_STRIPE_WEBHOOK_SIGNING_SECRET": STRIPE_SECRET,
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.webhooks",
            "stripe",
            "--port",
            "0",
            "--generated",
            str(generated),
            "--db",
            str(db),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        pytest.fail(f"receiver did not start: {line!r} {proc.stderr.read()[-500:]}")
    url = line.split("listening on ", 1)[1].split(" ->", 1)[0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the socket is bound before uvicorn serves it
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url + "/webhooks/stripe"
        except httpx.TransportError:
            time.sleep(0.02)
    proc.kill()
    pytest.fail("receiver never became healthy")


def make_event(i: int, base: int) -> dict:
    obj = {
        "id": f"cus_{i % N_OBJECTS:02d}",
        "object": "customer",
        "name": f"v{i}",
        "balance": i,
    }
    if i in DELETES:
        return stripe_event(i, "customer.deleted", {**obj, "deleted": True}, base + i)
    return stripe_event(i, "customer.updated", obj, base + i)


def test_sigkill_mid_stream_loses_no_acknowledged_event(
    stripe_build, stripe_plan_module, tmp_path
):
    _, _, folder = stripe_build
    db = tmp_path / "events.db"
    base = int(time.time()) - 100
    events = [make_event(i, base) for i in range(N_EVENTS)]
    order = list(range(N_EVENTS))
    random.Random(7).shuffle(order)  # deliveries arrive out of created order
    proc, url = start_receiver(folder.parent, db)
    acked: set[str] = set()
    lock = threading.Lock()

    def deliver(indices: list[int]) -> None:
        sender = Sender(url, stripe_plan_module.WEBHOOKS, STRIPE_SECRET)
        for i in indices:
            try:
                r = sender.post(events[i])
            except httpx.TransportError:
                continue  # not acknowledged: the vendor will retry it
            if r.status_code == 200:
                with lock:
                    acked.add(events[i]["id"])

    threads = [threading.Thread(target=deliver, args=(order[k::3],)) for k in range(3)]
    for t in threads:
        t.start()
    while len(acked) < N_EVENTS // 3 and proc.poll() is None:
        time.sleep(0.005)
    proc.kill()  # SIGKILL: no shutdown, no flush
    proc.wait(timeout=10)
    for t in threads:
        t.join(timeout=30)
    acknowledged = set(acked)
    assert len(acknowledged) < N_EVENTS  # killed mid-stream
    with EventStore(db) as store:
        assert acknowledged <= set(
            store.event_ids("stripe")
        )  # nothing acknowledged was lost

    # Restart; the vendor retries everything it has no 2xx for, and a few it has (duplicates).
    proc, url = start_receiver(folder.parent, db)
    try:
        sender = Sender(url, stripe_plan_module.WEBHOOKS, STRIPE_SECRET)
        retried = [i for i in order if events[i]["id"] not in acknowledged] + order[:10]
        # A vendor signs each attempt anew; a later second keeps these from being exact replays.
        answers = [sender.post(events[i], ts=time.time() + 1) for i in retried]
        assert all(a.status_code == 200 for a in answers)
    finally:
        proc.kill()
        proc.wait(timeout=10)

    uri = str(tmp_path / "customers")
    with EventStore(db) as store:
        ids = store.event_ids("stripe")
        assert len(ids) == len(set(ids)) == N_EVENTS
        result = apply_events(store, "stripe", "customers", uri, ["id"], batch_size=50)
        assert result.events == N_EVENTS and store.count("stripe", applied=False) == 0
        assert apply_events(store, "stripe", "customers", uri, ["id"]).events == 0
        outcomes = store.outcomes("stripe")
    assert set(outcomes.values()) <= {"applied", "superseded"}
    newest = {}
    for e in events:  # created order is index order
        newest[e["data"]["object"]["id"]] = e
    expected = {
        k: e["data"]["object"]["name"]
        for k, e in newest.items()
        if e["type"] != "customer.deleted"
    }
    got = {r["id"]: r["name"] for r in DeltaTable(uri).to_pyarrow_table().to_pylist()}
    assert got == expected


@pytest.fixture(scope="module")
def stripe_plan_module(stripe_build):
    from runtime.webhooks.serve import load_webhooks

    return load_webhooks(stripe_build[2])


def test_serve_refuses_to_start_without_a_secret(stripe_build, tmp_path):
    env = {**environ_without_secrets(), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime.webhooks",
            "stripe",
            "--port",
            "0",
            "--generated",
            str(stripe_build[2].parent),
            "--db",
            str(tmp_path / "e.db"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "gen-source webhooks: stripe: no webhook signing secret: set GEN_SOURCE_STRIPE_WEBHOOK_SIGNING_SECRET "
        "or 'webhook_signing_secret' in --config"
    ]
