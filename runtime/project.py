"""The user's gen-source project: the folder that holds `specs/`, `overrides/` and
`generated/` (what `gen-source init` creates). Never the folder gen-source is
installed in."""

from __future__ import annotations

import os
from pathlib import Path

LAYOUT = ("specs", "overrides", "generated")
ROOT_VARIABLE = "GEN_SOURCE_ROOT"


def is_project(folder: Path) -> bool:
    return all((folder / name).is_dir() for name in LAYOUT)


def find_root(start: Path | None = None) -> Path | None:
    """`GEN_SOURCE_ROOT` when set (what `--root` sets), else the nearest folder at or
    above `start` (default: the working directory) holding the project layout, else
    None."""
    explicit = os.environ.get(ROOT_VARIABLE)
    if explicit:
        return Path(explicit).resolve()
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    return None
