"""A reader polling a table from another process during a full-refresh (replace) sync, one
that is SIGKILLed twice and resumed, only ever sees the old complete row set or the new one,
never a partial table and never an error; the resumed run continues its staged files."""

from __future__ import annotations

import subprocess
import sys

from deltalake import DeltaTable

from runtime.state.store import STAGED_KIND, StateStore

from .clitools import ROOT, cli_env
from .table_poller import fingerprint
from .test_crash_resume import PAGE, SCHEMA, Driver, wait_for


def _ids(driver: Driver) -> list[str]:
    return (
        DeltaTable(driver.table_uri)
        .to_pyarrow_table(columns=["id"])
        .column("id")
        .to_pylist()
    )


def test_readers_see_the_old_or_the_new_table_across_sigkill_and_resume(
    stripe_connector, stripe_emulator, tmp_path
):
    driver = Driver(stripe_connector, stripe_emulator, tmp_path)
    first = driver.start()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-2000:]
    old = fingerprint(_ids(driver))
    old_version = DeltaTable(driver.table_uri).version()
    rows = stripe_emulator.store[SCHEMA]
    del rows[:30]  # the new complete row set: 420 of the 450 customers
    new = fingerprint([r["id"] for r in rows])
    assert old != new

    stop = tmp_path / "stop"
    poller = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.faults.table_poller",
            driver.table_uri,
            str(stop),
        ],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        driver.args.append("full-refresh")
        staged_counts = []
        for pages in (
            2,
            1,
        ):  # killed after page 2 was staged, then (resumed) after one more
            fault = stripe_emulator.faults.inject(
                "slow", 1, after=pages, delay=10, path=f"/v1/{SCHEMA}"
            )
            proc = driver.start()
            wait_for(lambda f=fault: f.fired == 1)
            assert driver.kill(proc), "the run ended although a page was held"
            assert fingerprint(_ids(driver)) == old
            with StateStore(driver.state) as store:
                staged = store.get("stripe", SCHEMA, STAGED_KIND)
            staged_counts.append(sum(f["rows"] for f in staged["files"]))
        assert staged_counts == [
            2 * PAGE,
            3 * PAGE,
        ]  # the resumed run kept the first two
        stripe_emulator.faults.clear()
        proc = driver.start()
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        assert "resumed=True" in out
        assert fingerprint(_ids(driver)) == new
        assert DeltaTable(driver.table_uri).version() == old_version + 1
    finally:
        stop.touch()
        seen, poll_err = poller.communicate(timeout=60)
    lines = seen.splitlines()
    assert poller.returncode == 0, poll_err[-2000:]
    reads = int(lines[-1].split()[1])
    observed = lines[:-1]
    assert observed == [old, new], observed  # never partial, never an error
    print(
        f"\natomic replace: {reads} reads by another process, 2 SIGKILLs, only old or new seen"
    )
