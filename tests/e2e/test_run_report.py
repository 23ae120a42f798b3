"""Runs that say what they did: the per-table report (rows, pages, mode, resumed page,
incremental value sent and new watermark, Delta version, seconds), a rejected credential that
stops the whole run in one line naming the config field, and other failures said once each
at the end with a failing exit status."""

from __future__ import annotations

import subprocess

from deltalake import DeltaTable

from runtime.source.config_input import env_name

from .support import ROOT, cli_command, crash_then_resume, sync

CUSTOMERS = "/v1/customers"


def _run(argv, env):
    return subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180
    )


def test_report_names_rows_pages_mode_resume_values_sent_and_version(
    connector, emulator, tmp_path
):
    conn, emu = connector("stripe"), emulator("stripe", rows=250)
    table = conn.table_at(CUSTOMERS)
    _, resumed = crash_then_resume(conn, emu, table, tmp_path, commits=1)
    (result,) = resumed.results
    assert result.resumed_from_page == 2  # page 1 was committed before the crash
    assert "resumed from page 2" in resumed.table()
    emu.add("customers", 2)
    again = sync(conn, emu, [table], tmp_path)
    (result,) = again.results
    sent, new = result.incremental_sent, result.watermark.last
    assert sent is not None and new > sent
    line = again.table().splitlines()[2].split()
    version = DeltaTable(str(tmp_path / conn.name / table)).version()
    assert line[:5] == [table, "merge", "2", "1", str(version)]
    assert f"since {sent} -> watermark {new}" in again.table()


def test_rejected_credential_stops_the_run_in_one_line(connector, emulator, tmp_path):
    conn, emu = connector("stripe"), emulator("stripe", rows=30)
    tables = [conn.table_at(CUSTOMERS), conn.table_at("/v1/products")]
    argv, env = cli_command(conn, emu, tables, tmp_path / "wh")
    field = next(f for f in ("token", "api_key") if env_name(conn.name, f) in env)
    env[env_name(conn.name, field)] = "sk_test_wrong_key_1234"
    done = _run(argv, env)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"config field {field!r}" in lines[0] and "HTTP 401" in lines[0]
    assert done.returncode == 1
    assert "sk_test_wrong_key_1234" not in done.stderr + done.stdout
    assert {r.path for r in emu.requests} == {CUSTOMERS}  # the second table never ran


def test_other_failures_are_said_once_each_at_the_end(connector, emulator, tmp_path):
    conn, emu = connector("stripe"), emulator("stripe", rows=30)
    tables = [conn.table_at(CUSTOMERS), conn.table_at("/v1/products")]
    emu.faults.inject("wrong_shape", 100, path="/v1/products")
    argv, env = cli_command(conn, emu, tables, tmp_path / "wh")
    done = _run(argv, env)
    assert done.returncode == 1
    out = done.stdout + done.stderr
    failure = [line for line in done.stderr.splitlines() if "products:" in line]
    assert len(failure) == 1 and failure[0].startswith(
        f"gen-source: {conn.name}/products:"
    )
    reason = failure[0].split(": ", 2)[-1]
    assert (
        out.count(reason) == 1
    )  # not in the table, the progress line or a log line too
    status = {line.split()[0]: line for line in done.stdout.splitlines()[2:]}
    assert "ok" in status[tables[0]] and "failed" in status["products"]
