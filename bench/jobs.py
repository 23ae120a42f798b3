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


def one_sync(emu, jobs: int, work: Path, run: int) -> float:
    dest = work / f"jobs{jobs}-{run}"
    argv = [sys.executable, "-m", "generator.cli", "sync", "stripe"]
    for table in TABLES:
        argv += ["--schema", table]
    argv += ["--dest", str(dest), "--base-url", emu.base_url]
    argv += ["--allow-private-hosts", "--jobs", str(jobs)]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GEN_SOURCE_STRIPE_TOKEN": TOKEN,
        "GEN_SOURCE_STRIPE_ACCOUNT": "acct_bench",
    }
    got = measure.run(argv, env=env, cwd=ROOT)
    if got.returncode != 0:
        sys.exit(f"--jobs {jobs} failed ({got.returncode}):\n{got.stderr[-3000:]}")
    for table in TABLES:
        ids = DeltaTable(str(dest / "stripe" / table)).to_pyarrow_table(columns=["id"])
        ids = ids.column("id").to_pylist()
        expected = {r["id"] for r in emu.store[table]}
        if len(ids) != len(expected) or set(ids) != expected:
            sys.exit(f"--jobs {jobs}: {table} does not hold each row exactly once")
    return got.seconds


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
    lines = []
    for latency in (int(ms) for ms in args.latency.split(",")):
        emu = start_emulator("stripe", rows=args.rows, api_key=TOKEN)
        if latency:
            delay_answers(emu, latency / 1000)
        walls: dict[int, list[float]] = {1: [], 4: []}
        with tempfile.TemporaryDirectory() as tmp, emu:
            for run in range(args.repeat):  # interleaved: load drifts hit both
                for jobs in walls:
                    walls[jobs].append(one_sync(emu, jobs, Path(tmp), run))
        one, four = (statistics.median(walls[j]) for j in (1, 4))
        lines.append(
            f"| {latency} ms | {one:.2f} s | {four:.2f} s | {one / four:.2f}x |"
        )
        print(lines[-1], flush=True)
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
