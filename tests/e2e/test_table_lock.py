"""One writer per local table: a second `gen-source sync` of a table that another sync is writing
leaves it alone with a one-line error and syncs its other tables; the lock dies with its holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from runtime.state.locks import TableBusyError, lock_path, table_lock

from .support import (
    ROOT,
    assert_exactly_once,
    cli_command,
    column,
    requests_to,
    table_rows,
)
from .test_stripe_sync import CUSTOMERS, newest_first


def test_second_sync_of_a_busy_table_leaves_it_alone_and_syncs_the_rest(
    connector, emulator, tmp_path
):
    conn = connector("stripe")
    customers, charges = conn.table_at(CUSTOMERS), conn.table_at("/v1/charges")
    emu = emulator("stripe", rows=300)
    emu.faults.inject(
        "slow", count=10**6, delay=2.5, path=CUSTOMERS
    )  # 2.5 s a page: the first sync stays busy
    dest = tmp_path / "wh"
    argv, env = cli_command(conn, emu, [customers], dest)
    first = subprocess.Popen(
        argv,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not requests_to(emu, CUSTOMERS):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first sync never asked for a page"
            time.sleep(0.01)
        argv2, env2 = cli_command(conn, emu, [customers, charges], dest)
        second = subprocess.run(
            argv2, env=env2, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert first.poll() is None, "the first sync ended before the second one ran"
    finally:
        emu.faults.clear()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-2000:]
    assert second.returncode == 1 and "Traceback" not in second.stderr
    [line] = [x for x in second.stderr.splitlines() if x.startswith("gen-source:")]
    lock = lock_path(str(dest), "stripe", customers)
    assert line == (
        f"gen-source: stripe/{customers}: TableBusyError: another sync (pid {first.pid}) is writing"
        f" this table; it was left alone (lock {lock})"
    )
    assert sorted(column(table_rows(dest, conn, charges), "id")) == sorted(
        r["id"] for r in emu.store["charges"]
    )
    # The busy table was never read by the second sync, and the first one wrote every row once.
    assert_exactly_once(
        column(table_rows(dest, conn, customers), "id"), newest_first(emu), "customers"
    )
    assert lock.is_file()


def test_the_lock_is_released_when_its_holder_dies_and_object_stores_take_none(
    tmp_path,
):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from runtime.state.locks import table_lock\n"
            f"with table_lock({str(tmp_path)!r}, 'src', 'tbl'):\n    print('held', flush=True); sys.stdin.read()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(TableBusyError, match=f"pid {holder.pid}"),
            table_lock(str(tmp_path), "src", "tbl"),
        ):
            pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    with table_lock(
        str(tmp_path), "src", "tbl"
    ) as path:  # no stale lock after a SIGKILL
        assert path == tmp_path / ".locks" / "src" / "tbl.lock"
        assert path.read_text().strip() == str(os.getpid())
    with table_lock("s3://bucket/prefix", "src", "tbl") as path:
        assert path is None
