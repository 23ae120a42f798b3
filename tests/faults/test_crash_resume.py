"""SIGKILL a sync process (runtime.sync.run_schema in tests/faults/sync_driver.py) and run it
again: no row lost or duplicated, and the watermark never claims rows the table lacks.

Between batches, deterministically: a `slow` fault holds page k+1's request, so the process
is killed right after batch k committed. At arbitrary moments: killed a random few
milliseconds after a page request (possibly mid-commit); the invariants must hold anyway.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from deltalake import DeltaTable

from runtime.state.store import RESUME_KIND, StateStore

from .clitools import ROOT, cli_env
from .conftest import connector_config, write_config

SCHEMA = "customers"
PAGE = 100


class Driver:
    def __init__(self, connector: Path, emu, tmp: Path) -> None:
        self.emu = emu
        self.config = write_config(
            tmp / "config.json", connector_config(connector, emu.api_key, emu.base_url)
        )
        self.args = [
            sys.executable,
            "-m",
            "tests.faults.sync_driver",
            str(connector),
            str(self.config),
            str(tmp / "warehouse"),
            str(tmp / "state.db"),
            SCHEMA,
            str(PAGE),
        ]
        self.table_uri = str(tmp / "warehouse" / connector.name / SCHEMA)
        self.state = tmp / "state.db"
        self.kills = 0

    def start(self) -> subprocess.Popen:
        return subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def kill(self, proc: subprocess.Popen) -> bool:
        """SIGKILL the run; False when it had already finished on its own (a race the
        caller may lose on a loaded machine), which must then have exited cleanly."""
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _, err = proc.communicate(timeout=30)
        if proc.returncode == 0:
            return False
        assert proc.returncode == -signal.SIGKILL, err[-2000:]
        self.kills += 1
        return True

    def ids_and_created(self) -> list[tuple[str, int]]:
        if not DeltaTable.is_deltatable(self.table_uri):
            return []
        t = DeltaTable(self.table_uri).to_pyarrow_table(columns=["id", "created"])
        created = [
            int(c.timestamp()) for c in t.column("created").to_pylist()
        ]  # epoch s
        return list(zip(t.column("id").to_pylist(), created, strict=True))

    def state_now(self):
        with StateStore(self.state) as store:
            return store.get("stripe", SCHEMA, RESUME_KIND), store.get_watermark(
                "stripe", SCHEMA
            )


def listing(emu) -> list[str]:
    rows = sorted(
        emu.store[SCHEMA], key=lambda r: (r["created"], r["id"]), reverse=True
    )
    return [r["id"] for r in rows]


def check(driver: Driver, expected: list[str] | None = None) -> int:
    """No duplicates; the rows are a prefix of the newest-first listing (nothing skipped);
    the watermark covers no row outside the table. Returns how many rows are in."""
    rows = driver.ids_and_created()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "duplicated rows after a crash"
    order = listing(driver.emu)
    assert set(ids) == set(order[: len(ids)]), "a row was skipped"
    if expected is not None:
        assert set(ids) == set(expected)
    _, mark = driver.state_now()
    if rows:
        created = [r[1] for r in rows]
        assert mark.earliest is None or mark.earliest >= min(created)
        assert all(
            v is None or v <= max(created) for v in (mark.last, mark.pending_last)
        )
    else:
        assert mark.earliest is None and mark.last is None
    return len(ids)


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_sigkill_between_batches_resumes_with_every_row_once(
    stripe_connector, stripe_emulator, tmp_path
):
    driver = Driver(stripe_connector, stripe_emulator, tmp_path)
    order = listing(stripe_emulator)
    committed = 0
    for pages in (2, 1):  # kill after page 2, then (resumed) after one more page
        fault = stripe_emulator.faults.inject(
            "slow", 1, after=pages, delay=10, path=f"/v1/{SCHEMA}"
        )
        proc = driver.start()
        wait_for(lambda f=fault: f.fired == 1)  # page k+1 requested: batch k committed
        assert driver.kill(proc), "the run ended although page k+1 was held"
        committed += pages * PAGE
        assert check(driver, order[:committed]) == committed
        resume, mark = driver.state_now()
        assert resume["params"]["starting_after"] == order[committed - 1]
        assert mark.earliest == min(c for _, c in driver.ids_and_created())
    stripe_emulator.faults.clear()
    proc = driver.start()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert "resumed=True" in out
    assert check(driver, order) == len(order)
    print(
        f"\ncrash/resume between batches: {driver.kills} SIGKILLs, {len(order)} rows, 0 lost, 0 duplicated"
    )


def test_sigkill_at_arbitrary_moments_loses_and_duplicates_nothing(
    stripe_connector, stripe_emulator, tmp_path
):
    driver = Driver(stripe_connector, stripe_emulator, tmp_path)
    rng = random.Random(11)
    order = listing(stripe_emulator)
    # Every page answers after 100 ms, so a run spans ~0.6 s of pages and commits to aim into.
    stripe_emulator.faults.inject("slow", 10_000, delay=0.1, path=f"/v1/{SCHEMA}")
    for _ in range(3):
        seen = len(stripe_emulator.faults.fired)
        proc = driver.start()
        wait_for(
            lambda s=seen, p=proc: (
                len(stripe_emulator.faults.fired) > s or p.poll() is not None
            )
        )
        time.sleep(
            rng.uniform(0.03, 0.3)
        )  # anywhere: between batches, mid-page, mid-commit
        finished = not driver.kill(
            proc
        )  # a loaded machine may let the run finish first
        check(driver)
        if finished:
            break
    assert driver.kills >= 1
    proc = driver.start()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    assert check(driver, order) == len(order)
    print(
        f"\ncrash/resume at random moments: {driver.kills} SIGKILLs, {len(order)} rows, 0 lost, 0 duplicated"
    )
