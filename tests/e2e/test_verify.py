"""`gen-source verify` against the loopback emulators: the faithful ones pass, and
variants that behave unlike their spec (tests/emulators/variants.py) fail the matching
check, with the fix in the suggested overrides fragment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from generator.cli import main
from tests.emulators import Emulator
from tests.emulators.variants import (
    GitHubIgnoringDirection,
    GitHubIgnoringPage,
    GitHubRepeatingIssueIds,
    StripeIgnoringCreatedFilter,
    StripeWithUndeclaredFields,
)

from .support import config_for

CHECKS = ["pages", "selector", "key", "incremental", "sort", "columns"]


@pytest.fixture
def started():
    emulators: list[Emulator] = []

    def start(emu: Emulator) -> Emulator:
        emulators.append(emu.start())
        return emu

    yield start
    for emu in emulators:
        emu.stop()


def verify(conn, emu, tmp_path, capsys, *args: str) -> tuple[int, str, str]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(conn, emu)))
    code = main(
        [
            "verify",
            conn.name,
            "--config",
            str(config),
            "--allow-private-hosts",
            "--out",
            str(conn.out),
            *args,
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def table(out: str) -> dict[str, dict[str, str]]:
    """The printed pass/fail table: {table: {check: status}}."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("table "))
    rows = {}
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        name, *cells = line.split()
        rows[name] = dict(zip(CHECKS, cells, strict=True))
    return rows


def fragment(out: str) -> dict:
    text = out[out.index("# Suggested by") :]
    return yaml.safe_load(text)


def test_faithful_stripe_emulator_passes_every_check(
    connector, emulator, tmp_path, capsys
):
    conn = connector("stripe")
    emu = emulator("stripe", rows=250)
    code, out, err = verify(
        conn,
        emu,
        tmp_path,
        capsys,
        "--schema",
        "customers",
        "--schema",
        "customer_payment_methods",
    )
    assert code == 0, out + err
    rows = table(out)
    assert rows["customers"] == dict.fromkeys(CHECKS, "pass")
    # a fan-out child without an incremental filter: nothing to narrow or order
    assert rows["customer_payment_methods"]["incremental"] == "-"
    assert "# Suggested by" not in out
    customers = [r for r in emu.requests if r.path == "/v1/customers"]
    # three pages of 100 (250 rows: the list ends), then the filtered read
    assert [r.query.get("starting_after") is not None for r in customers[:3]] == [
        False,
        True,
        True,
    ]
    assert "created[gt]" in customers[3].query


def test_a_server_that_ignores_the_incremental_filter_fails_and_the_fix_drops_it(
    connector, started, tmp_path, capsys
):
    conn = connector("stripe")
    emu = started(StripeIgnoringCreatedFilter(rows=250))
    code, out, _ = verify(conn, emu, tmp_path, capsys, "--schema", "customers")
    assert code == 1
    assert table(out)["customers"]["incremental"] == "FAIL"
    assert table(out)["customers"]["pages"] == "pass"
    line = next(
        x for x in out.splitlines() if x.startswith("stripe/customers: incremental:")
    )
    assert "created[gt]" in line and "the server ignores the filter" in line
    assert fragment(out) == {
        "endpoints": {"GET /v1/customers": {"incremental_fields": []}}
    }


def test_undeclared_fields_are_listed_as_spec_gaps(
    connector, started, tmp_path, capsys
):
    conn = connector("stripe")
    emu = started(StripeWithUndeclaredFields(rows=30))
    code, out, _ = verify(
        conn, emu, tmp_path, capsys, "--schema", "customers", "--schema", "charges"
    )
    assert code == 1
    rows = table(out)
    assert rows["customers"]["columns"] == "FAIL"
    assert rows["charges"] == dict.fromkeys(CHECKS, "pass")
    assert (
        "stripe/customers: columns: 2 field(s) the catalog does not declare"
        " (spec gaps):"
        " loyalty_tier, risk_score"
    ) in out


def test_rows_in_the_other_order_fail_sort_and_the_fix_names_it(
    connector, started, tmp_path, capsys
):
    conn = connector("github")
    issues = conn.table_at("/repos/{owner}/{repo}/issues")
    assert conn.catalog[issues].sort_mode == "asc"
    emu = started(GitHubIgnoringDirection(rows=250))
    suggest = tmp_path / "suggested.yaml"
    code, out, _ = verify(
        conn, emu, tmp_path, capsys, "--schema", issues, "--suggest", str(suggest)
    )
    assert code == 1
    assert table(out)[issues]["sort"] == "FAIL"
    assert f"github/{issues}: sort: declared asc along updated_at" in out
    written = yaml.safe_load(suggest.read_text())
    assert written == {
        "endpoints": {"GET /repos/{owner}/{repo}/issues": {"sort_mode": "desc"}}
    }


def test_a_server_that_ignores_the_page_parameter_fails_pages(
    connector, started, tmp_path, capsys
):
    conn = connector("github")
    issues = conn.table_at("/repos/{owner}/{repo}/issues")
    emu = started(GitHubIgnoringPage(rows=250))
    code, out, _ = verify(conn, emu, tmp_path, capsys, "--schema", issues)
    assert code == 1
    assert table(out)[issues]["pages"] == "FAIL"
    assert table(out)[issues]["incremental"] == "-"  # not tried on a list that loops
    assert "PaginationLoopError" in out and "already returned" in out
    requests = [r for r in emu.requests if r.path.endswith("/issues")]
    assert (
        len(requests) == 2
    )  # stopped at the repeated next link, not three pages later


def test_keys_that_repeat_across_pages_fail_and_the_fix_names_a_unique_field(
    connector, started, tmp_path, capsys
):
    conn = connector("github")
    issues = conn.table_at("/repos/{owner}/{repo}/issues")
    emu = started(GitHubRepeatingIssueIds(rows=250))
    code, out, _ = verify(conn, emu, tmp_path, capsys, "--schema", issues)
    assert code == 1
    rows = table(out)[issues]
    assert (rows["key"], rows["columns"], rows["pages"]) == ("FAIL", "FAIL", "pass")
    assert f"github/{issues}: key: (id) repeats:" in out
    assert "spec gaps): uuid" in out
    suggested = fragment(out)["endpoints"]["GET /repos/{owner}/{repo}/issues"]
    assert suggested["primary_key"] == ["uuid"]


def test_suggest_refuses_the_overrides_file(connector, emulator, tmp_path, capsys):
    conn = connector("stripe")
    emu = emulator("stripe", rows=5)
    target = Path(__file__).resolve().parents[2] / "overrides" / "stripe.yaml"
    before = target.read_bytes()
    code, _, err = verify(
        conn, emu, tmp_path, capsys, "--schema", "customers", "--suggest", str(target)
    )
    assert code == 2
    assert err.startswith("gen-source: --suggest:") and "never edits" in err
    assert len(err.strip().splitlines()) == 1
    assert target.read_bytes() == before
    assert emu.requests == []  # refused before any request
