"""Generation benchmark: wall time and peak memory of `gen-source <pin>` as a child process.

    python bench/generate.py [--runs 3] [--sources stripe,github,cloudflare] [--results]

cold: an empty GEN_SOURCE_CACHE; warm: the cache the cold run left (generation does not run
openapi-spec-validator unless asked with --validate or --strict, so they are close).
Same run, for every source with a pin: datamodel-code-generator on the same spec file
(`datamodel-codegen --input <spec> --input-file-type openapi --output-model-type
pydantic_v2.BaseModel`, models only), and the ratio of our cold wall time to its.
Each run writes into a fresh folder, so file rendering and writing are always measured.
Peak memory (bench/measure.py): the largest process's peak RSS (VmHWM, or `os.wait4`) and the
process tree's summed RSS sampled every 10 ms (validation runs in a child process); medians of `--runs`.
Needs the spec mirror: GEN_SOURCE_SPECS, or ../shared/specs beside the checkout.
Not part of CI: it prints figures (and the issue's targets) for a human to read.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import measure
from results import RESULTS, update_section

ROOT = Path(__file__).resolve().parents[1]

# An earlier issue's bar for Stripe, cold.
TARGET_SECONDS, TARGET_MB = 3.0, 400.0

# /work/shared/docs/peer-figures.md: (tool, wall s, peak MB or None, what it produced).
PEERS = {
    "stripe": [
        (
            "dlt-init-openapi 0.1.0",
            155.6,
            3117,
            "dlt rest_api source, every list one page",
        ),
        ("openapi-python-client 0.29.1", 32.9, 624, "typed httpx client, 2,785 files"),
        ("datamodel-codegen 0.89.0", 9.7, 272, "pydantic models only"),
    ],
    "github": [
        ("dlt-init-openapi 0.1.0", 16.6, 315, "dlt rest_api source"),
        ("openapi-python-client 0.29.1", 8.2, None, "fails"),
        ("datamodel-codegen 0.89.0", 7.0, 208, "pydantic models only"),
    ],
}


@dataclass
class Run:
    source: str
    mode: str  # cold | warm
    seconds: float
    peak_mb: float  # the largest single process
    tree_mb: float  # the process tree's sampled sum (the validator runs in a child)
    lines: int  # lines of generated Python


def specs_dir() -> Path:
    env = os.environ.get("GEN_SOURCE_SPECS")
    path = Path(env) if env else ROOT.parent / "shared" / "specs"
    if not path.is_dir():
        sys.exit("bench/generate.py: no spec mirror; set GEN_SOURCE_SPECS")
    return path.resolve()


def run_once(source: str, cache: Path, out: Path) -> measure.Measured:
    """One `gen-source <source> --out <out>` child, measured."""
    env = {
        **os.environ,
        "GEN_SOURCE_CACHE": str(cache),
        "GEN_SOURCE_SPECS": str(specs_dir()),
    }
    argv = [sys.executable, "-m", "generator.cli", source, "--out", str(out)]
    got = measure.run(argv, env=env, cwd=ROOT)
    if got.returncode != 0:
        sys.exit(
            f"gen-source {source} failed ({got.returncode}):\n{got.stdout}{got.stderr}"
        )
    return got


def peer_seconds(source: str, runs: int) -> list[float]:
    """datamodel-codegen's wall time on the pinned spec file, `runs` times."""
    pin = tomllib.loads((ROOT / "specs" / f"{source}.toml").read_text())
    spec = specs_dir() / pin["mirror_path"]
    out = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="dmcg-bench-") as tmp:
            argv = [
                str(Path(sys.executable).with_name("datamodel-codegen")),
                "--input", str(spec),
                "--input-file-type", "openapi",
                "--output-model-type", "pydantic_v2.BaseModel",
                "--output", str(Path(tmp) / "models"),
            ]  # fmt: skip
            got = measure.run(argv, env=dict(os.environ), cwd=ROOT)
            if got.returncode != 0:
                sys.exit(f"datamodel-codegen on {spec} failed:\n{got.stderr[-2000:]}")
            out.append(got.seconds)
    return out


def generated_lines(folder: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in folder.rglob("*.py"))


def bench(source: str, runs: int) -> list[Run]:
    out: list[Run] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="gen-bench-") as tmp:
            cache = Path(tmp) / "cache"
            for mode in (
                "cold",
                "warm",
            ):  # the cold run fills the cache the warm one reads
                target = Path(tmp) / f"out-{mode}"
                got = run_once(source, cache, target)
                folder = next(p for p in target.iterdir() if p.is_dir())
                lines = generated_lines(folder)
                out.append(
                    Run(
                        source,
                        mode,
                        got.seconds,
                        got.max_rss_mb,
                        got.tree_rss_mb,
                        lines,
                    )
                )
                shutil.rmtree(target)
    return out


def median(runs: list[Run], source: str, mode: str, attr: str) -> float:
    return statistics.median(
        getattr(r, attr) for r in runs if (r.source, r.mode) == (source, mode)
    )


def report(runs: list[Run], sources: list[str], peers: dict[str, list[float]]) -> str:
    load = os.getloadavg()[0]
    lines = [
        "## Generation: `gen-source <pin>` as a child process",
        "",
        f"{datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average {load:.1f} at the end; medians of"
        f" {len(runs) // (2 * len(sources))} runs. cold: empty GEN_SOURCE_CACHE; warm: the"
        " cache the cold run left (no openapi-spec-validator by default). Peak memory: the largest"
        " process's peak RSS (VmHWM or os.wait4, bench/measure.py); tree: the process tree's summed RSS, sampled every 10 ms.",
        "",
        "| source | mode | wall (median) | peak memory (median) | tree (median) | generated Python lines |",
        "|---|---|---|---|---|---|",
    ]
    for source in sources:
        for mode in ("cold", "warm"):
            lines.append(
                f"| {source} | {mode} | {median(runs, source, mode, 'seconds'):.2f} s"
                f" | {median(runs, source, mode, 'peak_mb'):.0f} MB"
                f" | {median(runs, source, mode, 'tree_mb'):.0f} MB"
                f" | {int(median(runs, source, mode, 'lines')):,} |"
            )
    if "stripe" in sources:
        s, m = (
            median(runs, "stripe", "cold", "seconds"),
            median(runs, "stripe", "cold", "tree_mb"),
        )
        ok = s < TARGET_SECONDS and m < TARGET_MB
        lines.append("")
        lines.append(
            f"Target (Stripe, cold): < {TARGET_SECONDS:.0f} s and"
            f" < {TARGET_MB:.0f} MB (tree): {s:.2f} s, {m:.0f} MB -> {'MET' if ok else 'MISSED'}"
        )
    for source, seconds in peers.items():
        ours, theirs = (
            median(runs, source, "cold", "seconds"),
            statistics.median(seconds),
        )
        lines.append("")
        lines.append(
            f"{source}, same run: datamodel-codegen {theirs:.2f} s (median of"
            f" {len(seconds)}), gen-source cold {ours:.2f} s -> {ours / theirs:.2f}x its"
            f" time (goal <= 0.10x)"
        )
    for source, peers in PEERS.items():
        if source not in sources:
            continue
        s, m = (
            median(runs, source, "cold", "seconds"),
            median(runs, source, "cold", "tree_mb"),
        )
        lines += ["", f"{source}, against the peers (their wall / ours, cold):", ""]
        lines += [
            "| peer | their wall | ratio | their memory | ratio | produces |",
            "|---|---|---|---|---|---|",
        ]
        for name, wall, mb, what in peers:
            mem = f"{mb:,} MB | {mb / m:.1f}x" if mb else "- | -"
            lines.append(f"| {name} | {wall} s | {wall / s:.1f}x | {mem} | {what} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sources", default="stripe,github,cloudflare")
    parser.add_argument("--json", type=Path, help="also write every run as JSON here")
    parser.add_argument(
        "--results", action="store_true", help=f"write the figures into {RESULTS}"
    )
    args = parser.parse_args(argv)
    sources = args.sources.split(",")
    runs: list[Run] = []
    for source in sources:
        print(
            f"generating {source} x{args.runs} (cold + warm) ...",
            file=sys.stderr,
            flush=True,
        )
        runs += bench(source, args.runs)
    peers = {}
    for source in sources:
        if (ROOT / "specs" / f"{source}.toml").is_file() and source in PEERS:
            print(f"datamodel-codegen on {source} x{args.runs} ...", file=sys.stderr)
            peers[source] = peer_seconds(source, args.runs)
    text = report(runs, sources, peers)
    print(text)
    if args.results:
        update_section("generate", text)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
