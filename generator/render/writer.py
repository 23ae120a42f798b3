"""Write a source's files atomically: everything goes to a sibling temp folder first, then
the folders are swapped, so a failed generation leaves the old `generated/<source>/` as it was."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from generator.errors import GenSourceError


def safe_child(root: Path, name: str) -> Path:
    """`root/name`, refusing names that would escape `root` (`../x`, absolute paths)."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or os.path.isabs(name)
    ):
        raise GenSourceError(
            f"refused: {name!r} would write outside {root}", where="source name"
        )
    target = (root / name).resolve()
    if target.parent != root.resolve():
        raise GenSourceError(
            f"refused: {name!r} would write outside {root}", where="source name"
        )
    return target


def write_tree(target: Path, files: dict[str, str]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for rel, text in sorted(files.items()):
            path = (staging / rel).resolve()
            if not path.is_relative_to(staging.resolve()):
                raise GenSourceError(
                    f"refused to write outside the source folder: {rel}",
                    where=str(target),
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_tree(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            out[path.relative_to(folder).as_posix()] = path.read_text(
                encoding="utf-8", errors="replace"
            )
    return out
