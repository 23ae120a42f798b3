"""Fan-out children read at once: wall time of `gen-source sync stripe --schema
customer_balance_transactions` (one child read per customer) with `--concurrency 1`
against `--concurrency 4`, same loopback Stripe emulator, same run.

    python bench/fanout.py [--rows 300] [--latency 0,50] [--repeat 3] [--results]

The emulator (tests/emulators) runs in this process with `--rows` customers;
`--latency MS` holds every answer that long (bench/jobs.py's `delay_answers`). Each sync
is a child process into a fresh destination; the child table is checked to hold every
row exactly once. Prints medians of `--repeat` runs and the ratio (higher: --concurrency
4 is faster). Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import measure
from jobs import ROOT, TOKEN, delay_answers
from results import update_section

from deltalake import DeltaTable  # noqa: E402 - after jobs put the project on sys.path

from tests.emulators import start_emulator  # noqa: E402

TABLE = "customer_balance_transactions"
STORE = "customers/balance_transactions"


def one_sync(emu, concurrency: int, work: Path, run: int) -> float:
    dest = work / f"c{concurrency}-{run}"
    argv = [sys.executable, "-m", "generator.cli", "sync", "stripe", "--schema", TABLE]
    argv += ["--dest", str(dest), "--base-url", emu.base_url, "--allow-private-hosts"]
    argv += ["--concurrency", str(concurrency)]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GEN_SOURCE_STRIPE_TOKEN": TOKEN,
        "GEN_SOURCE_STRIPE_ACCOUNT": "acct_bench",
    }
    got = measure.run(argv, env=env, cwd=ROOT)
    if got.returncode != 0:
        sys.exit(f"--concurrency {concurrency} failed:\n{got.stderr[-3000:]}")
    ids = DeltaTable(str(dest / "stripe" / TABLE)).to_pyarrow_table(columns=["id"])
    ids = ids.column("id").to_pylist()
    expected = {r["id"] for r in emu.store[STORE]}
    if len(ids) != len(expected) or set(ids) != expected:
        sys.exit(f"--concurrency {concurrency}: {TABLE} does not hold each row once")
    return got.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="customers (parents)")
    parser.add_argument("--latency", default="0,50", help="ms added to each answer")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args(argv)
    lines = []
    children = 0
    for latency in (int(ms) for ms in args.latency.split(",")):
        emu = start_emulator("stripe", rows=args.rows, api_key=TOKEN)
        children = len(emu.store[STORE])
        if latency:
            delay_answers(emu, latency / 1000)
        walls: dict[int, list[float]] = {1: [], 4: []}
        with tempfile.TemporaryDirectory() as tmp, emu:
            for run in range(args.repeat):  # interleaved: load drifts hit both
                for n in walls:
                    walls[n].append(one_sync(emu, n, Path(tmp), run))
        one, four = (statistics.median(walls[n]) for n in (1, 4))
        lines.append(
            f"| {latency} ms | {one:.2f} s | {four:.2f} s | {one / four:.2f}x |"
        )
        print(lines[-1], flush=True)
    text = "\n".join(
        [
            "## Fan-out children: `sync --concurrency 1` vs `--concurrency 4`",
            "",
            f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, Python"
            f" {platform.python_version()}, {platform.system()}; load average at the"
            f" end {os.getloadavg()[0]:.1f}. Stripe emulator in the bench process,"
            f" {args.rows:,} customers, one `{TABLE}` read per customer"
            f" ({children:,} child rows), each sync a child process; medians of"
            f" {args.repeat}; the table checked: each id once.",
            "",
            "| latency per answer | --concurrency 1 | --concurrency 4 | ratio |",
            "|---|---|---|---|",
            *lines,
        ]
    )
    print()
    print(text)
    if args.results:
        update_section("fanout", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
