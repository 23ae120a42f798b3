"""bench/RESULTS.md: each benchmark rewrites its own section (between HTML comment markers)
and leaves the other's figures as they were."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Written by `python bench/generate.py --results`, `python bench/sync.py --results`"
    " and `python bench/jobs.py --results`"
    " (the latest run of each); how they measure is in each script's docstring.\n"
)


def update_section(name: str, text: str, path: Path = RESULTS) -> None:
    begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    block = f"{begin}\n{text.strip()}\n{end}\n"
    old = path.read_text() if path.is_file() else HEADER
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new)
