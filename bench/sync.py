"""Sync benchmark: rows/s and peak memory of `gen-source sync stripe --schema customers`
from a loopback Stripe-style server into Delta, against dlt's `rest_api` on the same server.

    python bench/sync.py [--rows 100000,1000000] [--dlt-python /tmp/dltvenv/bin/python]
                         [--dlt-defaults] [--no-dlt] [--repeat N] [--baseline DIR]
                         [--results bench/RESULTS.md]

Per row count: start bench/customers_server.py (every page pre-serialised) in its own
process; measure its raw serving speed (an httpx client that decodes nothing, then one that
decodes each page with orjson); run our sync and dlt's in child processes, timing wall clock
and peak memory (bench/measure.py: the largest process's peak RSS, and the sampled
sum over the process tree); check each Delta table holds every id exactly once.
`--repeat N` runs each tool N times, alternating, and reports medians. `--baseline DIR`
also syncs with the gen-source checkout in DIR (e.g. `git worktree add DIR <commit>`; it
uses its own committed generated/stripe and this Python) against the same server, so a
change is measured against the code before it in one run.

dlt runs in its own virtualenv (its pins clash with ours):
    python -m venv /tmp/dltvenv && /tmp/dltvenv/bin/pip install 'dlt[filesystem,deltalake]==1.31.0'
Its tuned settings (the harder bar) come from /work/shared/docs/peer-figures.md.
Not part of CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

import measure
from results import RESULTS, update_section

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
TOKEN = "sk_bench"
DLT_TUNED = {
    "DATA_WRITER__DISABLE_COMPRESSION": "true",
    "NORMALIZE__WORKERS": "2",
    "DATA_WRITER__FILE_MAX_ITEMS": "25000",
}
QUIET_DLT = {"RUNTIME__DLTHUB_TELEMETRY": "false", "RUNTIME__LOG_LEVEL": "WARNING"}


@dataclass
class Result:
    what: str
    rows: int
    seconds: float
    peak_mb: float | None = None  # the largest single process
    tree_mb: float | None = None  # the process tree's sampled sum

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class Server:
    """bench/customers_server.py in a child process."""

    def __init__(self, rows: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "customers_server.py"), "--rows", str(rows)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.stop()
            sys.exit(f"bench server did not start: {line!r}")
        self.url = line.split()[2]
        self.banner = line.strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def raw_speed(url: str, rows: int, decode: bool) -> Result:
    """Walk every page as fast as one client can; `decode` parses each page with orjson."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    got, after = 0, None
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        while True:
            params = {"limit": 100, **({"starting_after": after} if after else {})}
            body = client.get("/v1/customers", params=params).content
            if decode:
                page = orjson.loads(body)
                got += len(page["data"])
                if not page["has_more"]:
                    break
                after = page["data"][-1]["id"]
            else:  # the cursor without parsing: the last `"id":"cus_...` of the page
                at = body.rfind(b'"id":"cus_')
                after = body[at + 6 : body.index(b'"', at + 6)].decode()
                got += 100
                if body.endswith(b'"has_more":false,"url":"/v1/customers"}'):
                    break
    seconds = time.perf_counter() - started
    label = (
        "server, client decodes with orjson"
        if decode
        else "server, client decodes nothing"
    )
    return Result(label, min(got, rows), seconds)


def timed_child(argv: list[str], env: dict, cwd: Path) -> measure.Measured:
    got = measure.run(argv, env=env, cwd=cwd)
    if got.returncode != 0:
        sys.exit(
            f"{' '.join(argv[:4])} ... failed ({got.returncode}):\n{got.stdout}\n{got.stderr[-3000:]}"
        )
    return got


def connector_root(work: Path) -> Path:
    """Where generated/stripe lives: the project's, else generated now into `work`."""
    if (ROOT / "generated" / "stripe" / "source.py").is_file():
        return ROOT / "generated"
    out = work / "generated"
    if not (out / "stripe" / "source.py").is_file():
        env = dict(os.environ)
        if (
            not env.get("GEN_SOURCE_SPECS")
            and (ROOT.parent / "shared" / "specs").is_dir()
        ):
            env["GEN_SOURCE_SPECS"] = str(ROOT.parent / "shared" / "specs")
        done = subprocess.run(
            [sys.executable, "-m", "generator.cli", "stripe", "--out", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.exit(f"generating stripe failed:\n{done.stderr}")
    return out


def check_table(path: Path, rows: int, who: str) -> None:
    """Every id exactly once: a fast sync that loses or repeats rows is no result."""
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    ids = (
        DeltaTable(str(path)).to_pyarrow_dataset().to_table(columns=["id"]).column("id")
    )
    distinct = len(pc.unique(ids))
    if len(ids) != rows or distinct != rows:
        sys.exit(
            f"{who}: table {path} has {len(ids)} rows, {distinct} distinct ids; expected {rows}"
        )


def ours(
    url: str, rows: int, work: Path, root: Path = ROOT, what: str = "gen-source sync"
) -> Result:
    dest = Path(tempfile.mkdtemp(prefix="ours-", dir=work))
    env = {
        **os.environ,
        "GEN_SOURCE_STRIPE_TOKEN": TOKEN,
        "GEN_SOURCE_STRIPE_ACCOUNT": "acct_bench",
        "PYTHONPATH": str(root),
    }
    connectors = connector_root(work) if root == ROOT else root / "generated"
    argv = [
        sys.executable,
        "-m",
        "generator.cli",
        "sync",
        "stripe",
        "--out",
        str(connectors),
        "--schema",
        "customers",
        "--dest",
        str(dest),
        "--base-url",
        url,
        "--allow-private-hosts",
    ]
    got = timed_child(argv, env, root)
    check_table(dest / "stripe" / "customers", rows, what)
    return Result(what, rows, got.seconds, got.max_rss_mb, got.tree_rss_mb)


def baseline_label(root: Path) -> str:
    sha = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"gen-source at {sha or root.name} (baseline)"


def median_of(results: list[Result]) -> Result:
    """The median wall time and median memory of repeated runs of one tool."""

    def mid(values):
        return statistics.median(values) if None not in values else None

    first = results[0]
    return Result(
        first.what,
        first.rows,
        statistics.median(r.seconds for r in results),
        mid([r.peak_mb for r in results]),
        mid([r.tree_mb for r in results]),
    )


def dlt(url: str, rows: int, work: Path, python: str, tuned: bool) -> Result:
    label = "tuned" if tuned else "defaults"
    dest, pipes = work / f"dlt-{label}-{rows}", work / f"dlt-pipelines-{label}-{rows}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHONPATH", "GEN_SOURCE"))
    }
    env.update(QUIET_DLT)
    if tuned:
        env.update(DLT_TUNED)
    argv = [python, str(BENCH / "dlt_load.py"), url, str(dest), str(pipes)]
    got = timed_child(argv, env, work)
    table = Path(json.loads(got.stdout.strip().splitlines()[-1])["table"])
    check_table(table, rows, f"dlt ({label})")
    return Result(
        f"dlt 1.31.0 rest_api, {label}",
        rows,
        got.seconds,
        got.max_rss_mb,
        got.tree_rss_mb,
    )


def run(rows: int, args, work: Path) -> list[Result]:
    print(f"\n== {rows:,} rows: starting the server ...", file=sys.stderr, flush=True)
    server = Server(rows)
    try:
        print(f"   {server.banner}", file=sys.stderr)
        out = [
            raw_speed(server.url, rows, decode=False),
            raw_speed(server.url, rows, decode=True),
        ]
        runs: dict[str, list[Result]] = {}
        for n in range(args.repeat):
            print(
                f"   round {n + 1}/{args.repeat}: gen-source sync ...",
                file=sys.stderr,
                flush=True,
            )
            got = [ours(server.url, rows, work)]
            if args.baseline:
                root = Path(args.baseline).resolve()
                got.append(ours(server.url, rows, work, root, baseline_label(root)))
            if not args.no_dlt:
                for tuned in [True, False] if args.dlt_defaults else [True]:
                    print(
                        f"   dlt ({'tuned' if tuned else 'defaults'}) ...",
                        file=sys.stderr,
                        flush=True,
                    )
                    got.append(dlt(server.url, rows, work, args.dlt_python, tuned))
            for r in got:
                runs.setdefault(r.what, []).append(r)
        out += [median_of(each) for each in runs.values()]
    except SystemExit as exc:
        if server.proc.poll() is not None:
            raise SystemExit(
                f"{exc}\nthe bench server exited ({server.proc.returncode}) mid-run"
            ) from None
        raise
    finally:
        server.stop()
    for r in out:
        peak = f"{r.peak_mb:,.0f} MB (tree {r.tree_mb:,.0f} MB)" if r.peak_mb else "-"
        print(
            f"   {r.what:42} {r.seconds:7.1f} s  {r.rate:9,.0f} rows/s  {peak}",
            file=sys.stderr,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--dlt-python", default="/tmp/dltvenv/bin/python")
    parser.add_argument(
        "--dlt-defaults", action="store_true", help="also run dlt untuned"
    )
    parser.add_argument("--no-dlt", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per tool (medians reported)"
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="also sync with the gen-source checkout in DIR",
    )
    parser.add_argument(
        "--results", action="store_true", help=f"write the figures into {RESULTS}"
    )
    args = parser.parse_args(argv)
    if not args.no_dlt and not Path(args.dlt_python).is_file():
        sys.exit(
            f"no dlt venv at {args.dlt_python}; see this file's docstring (or --no-dlt)"
        )
    counts = [int(n) for n in args.rows.split(",")]
    results: dict[int, list[Result]] = {}
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        for rows in counts:
            results[rows] = run(rows, args, Path(tmp))
    text = report(results, args.repeat)
    print(text)
    if args.results:
        update_section("sync", text)
    return 0


def report(results: dict[int, list[Result]], repeat: int = 1) -> str:
    machine = f"{os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    repeats = (
        f"Each tool ran {repeat} times, alternating; medians. " if repeat > 1 else ""
    )
    lines = [
        "## Sync: Stripe-style `/v1/customers` from loopback into Delta",
        "",
        f"{when}, {machine}. Server: bench/customers_server.py (limit=100, starting_after,"
        " has_more, newest first, ~1.17 KB per customer, every page pre-serialised), in its"
        f" own process. {repeats}Load average at the end: {os.getloadavg()[0]:.1f}. Peak memory: the"
        " largest process's peak RSS (VmHWM or os.wait4, bench/measure.py); tree: the process tree's summed RSS, sampled"
        " every 10 ms. Every table checked: each id exactly once.",
        "",
        "| rows | what | wall | rows/s | peak memory | tree |",
        "|---|---|---|---|---|---|",
    ]
    for rows, out in results.items():
        for r in out:
            peak = (
                f"{r.peak_mb:,.0f} MB | {r.tree_mb:,.0f} MB" if r.peak_mb else "- | -"
            )
            lines.append(
                f"| {rows:,} | {r.what} | {r.seconds:.1f} s | {r.rate:,.0f} | {peak} |"
            )
    lines += [
        "",
        "Ratios (gen-source against each other run; speed: higher is better, memory: lower"
        " is better):",
        "",
    ]
    for rows, out in results.items():
        mine = next(r for r in out if r.what == "gen-source sync")
        peers = (r for r in out if r.what.startswith(("dlt", "gen-source at")))
        for peer in peers:
            lines.append(
                f"- {rows:,} rows vs {peer.what}: {mine.rate / peer.rate:.2f}x the speed,"
                f" {mine.tree_mb / peer.tree_mb:.2f}x the memory (tree)"
            )
    ours = [
        next(r for r in out if r.what == "gen-source sync") for out in results.values()
    ]
    if len(ours) > 1:
        counts = ", ".join(f"{r.rows:,} rows: {r.tree_mb:,.0f} MB" for r in ours)
        lines += ["", f"gen-source peak memory by row count: {counts}."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
