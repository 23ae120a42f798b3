"""`gen-source tables`, `status` and `check-credentials`, run as a user runs them (child
processes), against the committed Stripe connector, the Stripe emulator and real Delta
tables written by real syncs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from deltalake import DeltaTable

from runtime.source.config_input import env_name
from runtime.state.store import RESUME_KIND, StateStore

from .support import ROOT, Crash, CrashAfterCommit, config_for, sync


def gen_source(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = dict(env or os.environ)
    full["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), full.get("PYTHONPATH")])
    )
    return subprocess.run(
        [sys.executable, "-m", "generator.cli", *args],
        env=full,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def columns_of(stdout: str) -> dict[str, list[str]]:
    """`{table: [cells...]}` from a printed table (cells split on runs of 2+ spaces)."""
    lines = stdout.strip().splitlines()
    return {
        cells[0]: cells[1:]
        for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[1:])
    }


def without_source_env(source: str) -> dict[str, str]:
    own = env_name(source, "")
    return {k: v for k, v in os.environ.items() if not k.startswith(own)}


def test_tables_lists_mode_incremental_field_parent_and_selection(connector):
    conn = connector("stripe")
    run = gen_source("tables", conn.name, "--out", str(conn.out), "--all")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].split() == [
        "table",
        "mode",
        "incremental",
        "field",
        "parent",
        "selected",
    ]
    shown = columns_of(run.stdout)
    assert set(shown) == set(conn.catalog)
    for name, ep in conn.catalog.items():
        mode, inc, parent, selected = shown[name]
        expected_mode = (
            ("merge" if ep.primary_key else "append")
            if ep.incremental_fields
            else "replace"
        )
        assert mode == expected_mode, name
        assert inc == (", ".join(f.field for f in ep.incremental_fields) or "-"), name
        assert parent == (
            f"{ep.parent.endpoint}.{ep.parent.field}" if ep.parent else "-"
        ), name
        assert selected == ("yes" if ep.selected else "no"), name
    customers = conn.table_at("/v1/customers")
    assert shown[customers][:2] == ["merge", "created"]
    child = conn.table_at("/v1/customers/{customer}/balance_transactions")
    assert shown[child][2] == f"{customers}.id"
    # Without --all: the selected tables only.
    selected = columns_of(
        gen_source("tables", conn.name, "--out", str(conn.out)).stdout
    )
    assert set(selected) == {n for n, e in conn.catalog.items() if e.selected}


def test_status_shows_runs_rows_versions_watermarks_and_a_pending_checkpoint(
    connector, emulator, tmp_path
):
    conn = connector("stripe")
    customers = conn.table_at("/v1/customers")
    charges = conn.table_at("/v1/charges")
    emu = emulator("stripe", rows=250)
    assert sync(conn, emu, [customers], tmp_path).ok
    emu.add("customers", 3)
    assert sync(
        conn, emu, [customers], tmp_path
    ).ok  # incremental: merges the 3 new rows
    try:  # charges: killed after its second committed page, so a checkpoint is pending
        sync(conn, emu, [charges], tmp_path, batch_rows=1, progress=CrashAfterCommit(2))
    except Crash:
        pass
    with StateStore(tmp_path / ".state.db") as store:
        assert store.get(conn.name, charges, RESUME_KIND) is not None
        mark = store.get_watermark(conn.name, customers)

    run = gen_source(
        "status", conn.name, "--out", str(conn.out), "--dest", str(tmp_path)
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0].split() == [
        "table",
        "last",
        "run",
        "rows",
        "version",
        "watermark",
        "checkpoint",
    ]
    shown = columns_of(run.stdout)
    table = DeltaTable(str(tmp_path / conn.name / customers))
    last, rows, version, watermark, checkpoint = shown[customers]
    assert rows == str(len(emu.store["customers"])) == str(table.count())
    assert version == str(table.version()) and table.version() >= 1
    assert last.endswith("Z merge"), last
    assert watermark == f"created={mark.last}" and mark.last is not None
    assert checkpoint == "-"
    assert (
        shown[charges][-1] == "pending, after page 2"
    )  # batch_rows=1: one page a commit
    assert shown[charges][1] == str(
        DeltaTable(str(tmp_path / conn.name / charges)).count()
    )
    never = conn.table_at("/v1/disputes")
    assert shown[never] == ["never", "-", "-", "-", "-"]
    # status writes nothing: no state store appears where there was none.
    empty = tmp_path / "empty"
    empty.mkdir()
    again = gen_source(
        "status", conn.name, "--out", str(conn.out), "--dest", str(empty)
    )
    assert again.returncode == 0 and list(empty.iterdir()) == []


def test_status_of_a_missing_destination_is_one_line(connector, tmp_path):
    conn = connector("stripe")
    run = gen_source(
        "status", conn.name, "--out", str(conn.out), "--dest", str(tmp_path / "nope")
    )
    assert run.returncode == 2
    nope = tmp_path / "nope"
    assert (
        run.stderr
        == f"gen-source: --dest {nope}: no such folder (nothing synced there)\n"
    )


def test_check_credentials_accepts_a_good_key_and_rejects_a_bad_one(
    connector, emulator, tmp_path
):
    conn = connector("stripe")
    emu = emulator("stripe", rows=5)
    env = without_source_env(conn.name)
    for field, value in config_for(conn, emu).items():
        if field != "base_url":
            env[env_name(conn.name, field)] = value
    base = [
        "check-credentials",
        conn.name,
        "--out",
        str(conn.out),
        "--base-url",
        emu.base_url,
        "--allow-private-hosts",
    ]
    before = len(emu.requests)
    good = gen_source(*base, env=env)
    assert good.returncode == 0, good.stderr
    assert (
        good.stdout
        == f"{conn.name}: credentials accepted (the credential probe read one page)\n"
    )
    assert len(emu.requests) == before + 1  # one page, nothing more

    env[env_name(conn.name, "token")] = "sk_test_wrong"
    bad = gen_source(*base, env=env)
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith(f"gen-source: {conn.name}: credentials rejected: ")
    assert "401" in bad.stderr and "check the API key or token" in bad.stderr
    assert "sk_test_wrong" not in bad.stderr + bad.stdout

    # The same config sources as sync: a --config file works, a missing field is named.
    (tmp_path / "config.json").write_text(json.dumps({"token": emu.api_key}))
    env = without_source_env(conn.name)
    by_file = gen_source(*base, "--config", str(tmp_path / "config.json"), env=env)
    assert by_file.returncode == 0, by_file.stderr
    missing = gen_source(*base, env=env)
    assert missing.returncode == 2
    # the token is optional in the form (basic auth is the other choice), so it is the
    # chosen auth method that names it
    assert missing.stderr == (
        f"gen-source: {conn.name}: config field 'token' is required for auth method"
        " 'bearer_auth'\n"
    )
