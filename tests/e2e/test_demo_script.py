"""`scripts/demo-sync stripe customers`, the README's first command: a table appears under
./warehouse, DuckDB prints it, and the emulator it started is gone afterwards."""

from __future__ import annotations

import os
import re
import socket
import subprocess

from deltalake import DeltaTable

from .support import ROOT


def test_demo_sync_writes_and_queries_the_table_then_stops_its_emulator(
    connector, tmp_path
):
    connector("stripe")  # the specs (or a committed generated/stripe) are at hand
    env = {**os.environ, "ROWS": "120"}
    done = subprocess.run(
        [str(ROOT / "scripts" / "demo-sync"), "stripe", "customers"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    table = DeltaTable(str(tmp_path / "warehouse" / "stripe" / "customers"))
    assert table.to_pyarrow_table().num_rows == 120
    assert "SELECT count(*) AS rows FROM customers" in done.stdout
    assert re.search(r"│\s+120\s+│", done.stdout)
    port = int(re.search(r"emulator at http://127\.0\.0\.1:(\d+)", done.stderr)[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "the emulator still listens"
