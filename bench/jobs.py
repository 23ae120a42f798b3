"""Parallel tables: wall time of `gen-source sync stripe --schema ... --jobs 1` against
`--jobs 4`, same tables, same loopback Stripe emulator, same run.

    python bench/jobs.py [--rows 2000] [--latency 0,50] [--repeat 3] [--results]

The emulator (tests/emulators, the one the tests use) runs in this process and serves
`--rows` rows per table; `--latency MS` holds every answer that long before it is
computed (a round trip to a real API; the emulator's own work stays serialised as it is).
Each sync is a child process into a fresh destination; each table is checked to hold
every row exactly once. Prints the median wall time of `--repeat` runs per setting and
the ratio jobs 1 / jobs 4 (higher: --jobs 4 is faster). Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import measure
from results import update_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deltalake import DeltaTable  # noqa: E402

from tests.emulators import start_emulator  # noqa: E402

TOKEN = "sk_test_bench"
TABLES = [
    "customers",
    "charges",
    "invoices",
    "products",
    "prices",
    "subscriptions",
    "refunds",
    "payouts",
]


def delay_answers(emu, seconds: float) -> None:
    """Every request waits `seconds` before the emulator answers it."""
    serve = emu.serve

    def slow(req):
        time.sleep(seconds)
        return serve(req)

    emu.serve = slow


def timed_sync(emu, dest: Path, options: list[str], tables: dict[str, str]) -> float:
    """`gen-source sync stripe` of `tables` (table -> the emulator store it serves) with
    `options`, as a child process; each table checked to hold every row exactly once."""
    argv = [sys.executable, "-m", "generator.cli", "sync", "stripe"]
    for table in tables:
        argv += ["--schema", table]
    argv += ["--dest", str(dest), "--base-url", emu.base_url, "--allow-private-hosts"]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GEN_SOURCE_STRIPE_TOKEN": TOKEN,
        "GEN_SOURCE_STRIPE_ACCOUNT": "acct_bench",
    }
    got = measure.run([*argv, *options], env=env, cwd=ROOT)
    if got.returncode != 0:
        sys.exit(
            f"{' '.join(options)} failed ({got.returncode}):\n{got.stderr[-3000:]}"
        )
    for table, store in tables.items():
        ids = DeltaTable(str(dest / "stripe" / table)).to_pyarrow_table(columns=["id"])
        ids = ids.column("id").to_pylist()
        expected = {r["id"] for r in emu.store[store]}
        if len(ids) != len(expected) or set(ids) != expected:
            sys.exit(
                f"{' '.join(options)}: {table} does not hold each row exactly once"
            )
    return got.seconds


def one_sync(emu, jobs: int, work: Path, run: int) -> float:
    tables = {table: table for table in TABLES}
    return timed_sync(emu, work / f"jobs{jobs}-{run}", ["--jobs", str(jobs)], tables)


def one_vs_four(
    rows: int, latencies: str, repeat: int, sync: Callable
) -> tuple[list[str], dict]:
    """`sync(emu, n, work, run)` with n = 1 and 4, `repeat` times each (interleaved, so
    load drifts hit both), against a Stripe emulator of `rows` rows per table for each
    latency in `latencies` (ms, comma-separated). Returns a markdown table row per
    latency (median walls and their ratio) and the emulator's store (seeded: the same for
    every latency)."""
    lines, store = [], {}
    for latency in (int(ms) for ms in latencies.split(",")):
        emu = start_emulator("stripe", rows=rows, api_key=TOKEN)
        store = emu.store
        if latency:
            delay_answers(emu, latency / 1000)
        walls: dict[int, list[float]] = {1: [], 4: []}
        with tempfile.TemporaryDirectory() as tmp, emu:
            for run in range(repeat):
                for n in walls:
                    walls[n].append(sync(emu, n, Path(tmp), run))
        one, four = (statistics.median(walls[n]) for n in (1, 4))
        lines.append(
            f"| {latency} ms | {one:.2f} s | {four:.2f} s | {one / four:.2f}x |"
        )
        print(lines[-1], flush=True)
    return lines, store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows per table")
    parser.add_argument(
        "--latency", default="0,50", help="ms added to each answer (comma-separated)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args(argv)
    if not (ROOT / "generated" / "stripe" / "source.py").is_file():
        sys.exit("bench: no generated/stripe; run `gen-source stripe` first")
    lines, _ = one_vs_four(args.rows, args.latency, args.repeat, one_sync)
    load = os.getloadavg()[0]
    text = "\n".join(
        [
            "## Parallel tables: `sync --jobs 1` vs `--jobs 4`",
            "",
            f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, Python"
            f" {platform.python_version()}, {platform.system()}; load average at the"
            f" end {load:.1f}. Stripe emulator in the bench process, {len(TABLES)}"
            f" tables x {args.rows:,} rows (limit 100), each sync a child process;"
            f" medians of {args.repeat}; every table checked: each id once.",
            "",
            "| latency per answer | --jobs 1 | --jobs 4 | ratio |",
            "|---|---|---|---|",
            *lines,
        ]
    )
    print()
    print(text)
    if args.results:
        update_section("jobs", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
