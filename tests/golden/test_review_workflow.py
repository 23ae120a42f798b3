"""The review workflow: after an override changes, `--check` fails naming the files that
would change, `diff` shows exactly the change, and a failed generation leaves the old files."""

import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.render.writer import read_tree

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, specs, monkeypatch):
    for folder in ("specs", "overrides", "tests/cassettes", "generated"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    monkeypatch.setenv("GEN_SOURCE_ROOT", str(tmp_path))
    return tmp_path


def test_check_and_diff_show_an_override_change_and_nothing_else(project, capsys):
    assert main(["--check"]) == 0
    overrides = project / "overrides" / "stripe.yaml"
    overrides.write_text(
        overrides.read_text().replace(
            "  GET /v1/customers: {selected: true}",
            "  GET /v1/customers: {selected: true, page_size: 25}",
        )
    )
    before = read_tree(project / "generated" / "stripe")
    capsys.readouterr()

    assert main(["--check"]) == 1
    err = capsys.readouterr().err
    assert (
        "generated/stripe/settings.py" in err
        and "api_inventory.md" in err
        and "klaviyo" not in err
    )

    assert main(["diff", "stripe"]) == 0
    out = capsys.readouterr().out
    changed = [
        line
        for line in out.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert any(line.startswith("-") and "page_size=100" in line for line in changed)
    assert any(line.startswith("+") and "page_size=25" in line for line in changed)
    # settings.py: customers leaves the shared pagination object for one of its own
    assert "-        pagination=CURSOR_STARTING_AFTER," in changed
    assert "+        pagination=CursorPagination(" in changed
    own = (
        "cursor_param=",
        "cursor_path=",
        "has_more_path=",
        "limit_param=",
        "page_size=",
        "),",
    )
    assert all(
        "customers" in line
        or line.lstrip("+- ").startswith(own)
        or "pagination=" in line
        for line in changed
    ), changed
    assert read_tree(project / "generated" / "stripe") == before  # diff writes nothing


def test_a_failed_generation_leaves_the_previous_files(project, capsys):
    before = read_tree(project / "generated" / "stripe")
    (project / "overrides" / "stripe.yaml").write_text(
        "endpoints:\n  GET /v1/nothing: {selected: true}\n"
    )
    assert main(["stripe"]) == 2
    assert "matches no endpoint" in capsys.readouterr().err
    assert read_tree(project / "generated" / "stripe") == before
