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
import sys
from datetime import UTC, datetime
from pathlib import Path

from jobs import one_vs_four, timed_sync
from results import update_section


TABLE = "customer_balance_transactions"
STORE = "customers/balance_transactions"


def one_sync(emu, n: int, work: Path, run: int) -> float:
    options = ["--concurrency", str(n)]
    return timed_sync(emu, work / f"c{n}-{run}", options, {TABLE: STORE})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="customers (parents)")
    parser.add_argument("--latency", default="0,50", help="ms added to each answer")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args(argv)
    lines, store = one_vs_four(args.rows, args.latency, args.repeat, one_sync)
    children = len(store[STORE])
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
