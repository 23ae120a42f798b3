"""Black-compatible formatting with `ruff format` (same bytes as black, ~150x faster)."""

from __future__ import annotations

import subprocess
from functools import lru_cache

from ruff.__main__ import find_ruff_bin

from generator.errors import GenSourceError


@lru_cache(maxsize=1)
def ruff_binary() -> str:
    return find_ruff_bin()


@lru_cache(maxsize=1)
def ruff_version() -> str:
    out = subprocess.run(
        [ruff_binary(), "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.split()[-1]


def format_many(sources: dict[str, str]) -> dict[str, str]:
    """Format several Python files with one ruff process per file (ruff reads stdin)."""
    out: dict[str, str] = {}
    procs = {}
    for name in sources:
        procs[name] = subprocess.Popen(
            [
                ruff_binary(),
                "format",
                "--isolated",
                "--line-length",
                "88",
                "--target-version",
                "py311",
                "--stdin-filename",
                name,
                "-",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    failed: list[tuple[str, str]] = []
    for (
        name,
        proc,
    ) in procs.items():  # every process is waited for, so no pipe is left open
        stdout, stderr = proc.communicate(sources[name].encode())
        if proc.returncode != 0:
            first = stderr.decode(errors="replace").strip().splitlines()[:1]
            failed.append((name, first[0] if first else "ruff failed"))
        out[name] = stdout.decode()
    if failed:
        name, message = failed[0]
        raise GenSourceError(f"generated code does not format: {message}", where=name)
    return out
