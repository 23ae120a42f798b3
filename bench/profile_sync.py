"""Where a sync's time goes: `gen-source sync stripe --schema customers` against
bench/customers_server.py, profiled with cProfile in one thread, split into stages.

    python bench/profile_sync.py [--rows 100000] [--top 25] [--stats FILE]

The sync runs in a child process with the read-ahead thread turned off, so cProfile
(which sees one thread) sees every stage: `read` (fetch, decode, paginate: the source's
next page), `convert` (rows -> Arrow), `commit` (dedupe, Parquet, Delta, resume state),
and the garbage collector's time (gc.callbacks, a part of the others). Then the functions
with the most time of their own. cProfile slows many small calls more than a few large
ones, so read the shares, not the seconds; `bench/sync.py` times the real thing.
`--stats FILE` keeps the raw profile (`python -m pstats FILE`, or snakeviz for a flame
graph). Not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from sync import ROOT, TOKEN, Server, connector_root

# Runs in the child: the CLI's sync with the pipeline profiled and the GC timed.
CHILD = """
import cProfile, gc, json, sys, time
import runtime.read.prefetch as prefetch
import runtime.delta.writer as writer

prefetch.ReadAhead.read_ahead = lambda self: None  # one thread: cProfile sees all
gc_seconds = [0.0]
started = [0.0]

def on_gc(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        gc_seconds[0] += time.perf_counter() - started[0]

run = writer.DeltaPipeline.run

def profiled(self):
    profile = cProfile.Profile()
    gc.callbacks.append(on_gc)
    t = time.perf_counter()
    profile.enable()
    try:
        return run(self)
    finally:
        profile.disable()
        gc.callbacks.remove(on_gc)
        profile.dump_stats(sys.argv[1])
        with open(sys.argv[1] + ".json", "w") as out:
            json.dump({"run": time.perf_counter() - t, "gc": gc_seconds[0]}, out)

writer.DeltaPipeline.run = profiled
from generator.cli import main
sys.exit(main(sys.argv[2:]))
"""

STAGES = {
    "read": ("runtime/read/prefetch.py", "__next__"),
    "convert": ("runtime/delta/writer.py", "_convert"),
    "commit": ("runtime/delta/writer.py", "_commit"),
}


def stage_seconds(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds of each stage's function (summed over its call sites)."""
    out = dict.fromkeys(STAGES, 0.0)
    for (file, _, func), (_, _, _, cumulative, _) in stats.stats.items():
        for stage, (suffix, name) in STAGES.items():
            if func == name and file.endswith(suffix):
                out[stage] += cumulative
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--stats", help="keep the raw cProfile output here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gen-source-profile-") as tmp:
        work = Path(tmp)
        stats_file = args.stats or str(work / "sync.prof")
        server = Server(args.rows)
        try:
            env = {
                **os.environ,
                "GEN_SOURCE_STRIPE_TOKEN": TOKEN,
                "GEN_SOURCE_STRIPE_ACCOUNT": "acct_bench",
                "PYTHONPATH": str(ROOT),
            }
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            argv = [
                sys.executable,
                "-c",
                CHILD,
                stats_file,
                "sync",
                "stripe",
                "--out",
                str(connector_root(work)),
                "--schema",
                "customers",
                "--dest",
                str(work / "dest"),
                "--base-url",
                server.url,
                "--allow-private-hosts",
            ]
            done = subprocess.run(
                argv, cwd=ROOT, env=env, capture_output=True, text=True
            )
        finally:
            server.stop()
        if done.returncode != 0:
            sys.exit(
                f"the profiled sync failed ({done.returncode}):\n{done.stderr[-3000:]}"
            )
        print(report(stats_file, args.rows, args.top))
    return 0


def report(stats_file: str, rows: int, top: int) -> str:
    totals = json.loads(Path(stats_file + ".json").read_text())
    stats = pstats.Stats(stats_file)
    run = totals["run"]
    lines = [
        f"{rows:,} rows, profiled run {run:.1f} s (cProfile's overhead included)",
        "",
    ]
    for stage, seconds in stage_seconds(stats).items():
        lines.append(f"  {stage:<8} {seconds:6.2f} s  {100 * seconds / run:5.1f}%")
    gc_share = 100 * totals["gc"] / run
    lines.append(
        f"  {'gc':<8} {totals['gc']:6.2f} s  {gc_share:5.1f}%  (within the others)"
    )
    lines += ["", f"top {top} by own time:"]
    own = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for (file, line, func), (_, calls, tottime, cumulative, _) in own:
        where = file.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        lines.append(
            f"  {tottime:6.2f} s own  {cumulative:6.2f} s cum  {calls:>9,}  {where}:{line}({func})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
