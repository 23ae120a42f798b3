"""`gen-source --help` lists every command with its one line, each command's own help
says the same line, and the README's command table says it too (so neither drifts)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from generator.cli import COMMANDS, VERBS

ROOT = Path(__file__).resolve().parents[2]


def gen_source(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "generator.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def readme_commands() -> dict[str, str]:
    """README's command table: `{command key: what it does}`, markdown taken out."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| command | what it does |") :]
    table = table[: table.index("\n\n")]
    out = {}
    for row in table.splitlines()[2:]:
        command, what = re.match(
            r"^\| `([^`]+)` \| (.*) \|$", row.replace("\\|", "/")
        ).groups()
        key = command.split()[1]
        what = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", what).replace("`", "")
        out[key] = what
    return out


def test_version_is_the_package_version():
    run = gen_source("--version")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (run.returncode, run.stdout) == (0, f"gen-source {version}\n")


def test_top_level_help_lists_every_command_with_its_line():
    run = gen_source("--help")
    assert run.returncode == 0
    listed = run.stdout[run.stdout.index("commands:\n") :].splitlines()[
        1 : len(COMMANDS) + 1
    ]
    assert [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in listed] == [
        [f"gen-source {key}", line] for key, line in COMMANDS.items()
    ]
    assert set(VERBS) >= {
        "plan",
        "diff",
        "sync",
        "record",
        "tables",
        "status",
        "check-credentials",
        "worker",
        "webhooks",
    }


def test_readme_table_says_what_the_cli_says():
    assert readme_commands() == COMMANDS


@pytest.mark.parametrize("verb", VERBS)
def test_each_command_help_opens_with_its_line(verb):
    run = gen_source(verb, "--help")
    assert run.returncode == 0, run.stderr
    assert f"\n\n{COMMANDS[verb]}\n" in run.stdout
