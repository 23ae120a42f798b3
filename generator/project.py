"""The user's project: its root, `gen-source init` (the layout) and `gen-source pin` (a
spec's pin in `specs/<name>.toml`)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import generator
from generator.errors import GenSourceError
from generator.render.writer import write_file
from generator.spec.loader import (
    check_name,
    download,
    load_path,
    mirror_root,
    read_pin,
    source_name,
    spec_from_bytes,
)
from generator.spec.validate import cache_dir
from runtime.project import LAYOUT, ROOT_VARIABLE, find_root

TEMPLATES = Path(generator.__file__).parent / "templates" / "project"


def project_root() -> Path:
    """The project `gen-source` works in (runtime.project.find_root); outside one, a
    one-line error naming `gen-source init`."""
    root = find_root()
    if root is None:
        raise GenSourceError(
            "not in a gen-source project (no folder here or above holds "
            f"{', '.join(n + '/' for n in LAYOUT)}); "
            "create one with `gen-source init`, or pass --root DIR",
            where=str(Path.cwd()),
        )
    if not root.is_dir():
        raise GenSourceError(
            f"project root {root} is not a folder", where=ROOT_VARIABLE
        )
    return root


# -- gen-source init ----------------------------------------------------------------


def init_files() -> dict[str, str]:
    """Path in the new project -> text."""
    return {
        "README.md": (TEMPLATES / "README.md").read_text(),
        "specs/.gitkeep": "",
        "overrides/README.md": (TEMPLATES / "overrides-README.md").read_text(),
        "generated/.gitkeep": "",
        "ci/check": (TEMPLATES / "check").read_text(),
        ".github/workflows/gen-source.yml": (TEMPLATES / "workflow.yml")
        .read_text()
        .replace("{version}", generator.__version__),
        ".gitignore": "warehouse/\n__pycache__/\n",
    }


def init_project(folder: Path) -> list[str]:
    """Create the layout in `folder`; refuse (writing nothing) if any file exists."""
    files = init_files()
    if folder.exists() and not folder.is_dir():
        raise GenSourceError("exists and is not a folder", where=str(folder))
    taken = [rel for rel in files if (folder / rel).exists()]
    taken += [
        name + "/"
        for name in LAYOUT
        if (folder / name).exists() and not (folder / name).is_dir()
    ]
    if taken:
        raise GenSourceError(
            f"{taken[0]} already exists; init writes only new files (nothing written)",
            where=str(folder),
        )
    for rel, text in files.items():
        write_file(folder / rel, text)
    check = folder / "ci" / "check"
    check.chmod(check.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return sorted(files)


# -- gen-source pin -----------------------------------------------------------------


def pin_spec(arg: str, root: Path, name: str | None = None) -> tuple[Path, str]:
    """Write `specs/<name>.toml` for a spec file or URL; returns (pin file, what
    happened)."""
    if arg.startswith(("http://", "https://")):
        fields, sha, stem = _pin_url(arg, name)
    else:
        fields, sha, stem = _pin_file(Path(arg), root)
    name = check_name(name or source_name(stem))
    if fields.get("mirror_path") is None:
        fields["mirror_path"] = f"{name}/{Path(arg.split('?')[0]).name or 'spec'}"
    text = "".join(
        f"{k} = {json.dumps(v)}\n"
        for k, v in [
            ("name", name),
            *((k, fields[k]) for k in ("url", "path") if fields.get(k)),
            ("sha256", sha),
            ("mirror_path", fields["mirror_path"]),
        ]
    )
    target = root / "specs" / f"{name}.toml"
    state = "written"
    if target.is_file():
        old = read_pin(target)
        if target.read_text() == text:
            state = "unchanged"
        elif old.sha256 != sha:
            state = f"updated: sha256 {old.sha256[:12]}… -> {sha[:12]}…"
        else:
            state = "updated"
    if state != "unchanged":
        write_file(target, text)
    return target, state


def _pin_url(url: str, name: str | None) -> tuple[dict, str, str]:
    data = download(url)
    # A spec at all: the same one-line errors as generating it.
    spec_from_bytes(data, None, url, False, False, False)
    sha = hashlib.sha256(data).hexdigest()
    base = Path(url.split("?")[0]).name or "spec"
    cached = cache_dir() / "specs" / sha / base  # where loading the pin looks first
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f".{base}.{os.getpid()}.part")
    tmp.write_bytes(data)
    os.replace(tmp, cached)
    return {"url": url}, sha, Path(base).stem


def _pin_file(path: Path, root: Path) -> tuple[dict, str, str]:
    spec = load_path(
        path, validate_spec=False
    )  # one-line errors for a bad or missing file
    resolved = path.resolve()
    mirror = mirror_root()
    if mirror is not None and resolved.is_relative_to(mirror):
        fields = {"mirror_path": resolved.relative_to(mirror).as_posix()}
    elif resolved.is_relative_to(root):
        fields = {"path": resolved.relative_to(root).as_posix()}
    else:
        fields = {"path": str(resolved)}
    return fields, spec.sha256, path.stem


def pinned_sha256(root: Path, name: str) -> str | None:
    file = root / "specs" / f"{name}.toml"
    return read_pin(file).sha256 if file.is_file() else None
