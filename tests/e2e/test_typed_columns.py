"""Column types from the spec, end to end: Stripe's `created` (Unix time) and GitHub's
`created_at` (`format: date-time`) land as UTC timestamps DuckDB reads as `TIMESTAMP WITH
TIME ZONE`; a value the server sends that does not parse keeps its raw text in
`_gen_source_unparsed` and is counted, and the sync goes on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
from deltalake import DeltaTable

from .support import sync, table_rows


def _duckdb_type(dest, conn, table: str, name: str) -> str:
    data = DeltaTable(str(dest / conn.name / table)).to_pyarrow_dataset()  # noqa: F841
    described = duckdb.sql(f'describe select "{name}" from data').fetchall()
    return described[0][1]


def _check(conn, emu, tmp_path, path, rows_key, field, to_datetime, *, bad_value=True):
    table = conn.table_at(path)
    assert (
        dict((c.name, c.type) for c in conn.catalog[table].columns)[field]
        == "timestamp"
    )
    rows = emu.store[rows_key]
    raw = "not a time"
    bad = rows[3] if bad_value else None
    if bad is not None:
        bad[field] = raw
    summary = sync(conn, emu, [table], tmp_path)
    assert summary.ok, summary.table()
    (result,) = summary.results
    assert result.unparsed == ({field: 1} if bad else {})
    assert _duckdb_type(tmp_path, conn, table, field) == "TIMESTAMP WITH TIME ZONE"
    got = {r["id"]: r for r in table_rows(tmp_path, conn, table)}
    assert len(got) == len([r for r in rows if r["id"] in got]) > 0  # no row dropped
    if bad is not None:
        assert got[bad["id"]][field] is None
        assert json.loads(got[bad["id"]]["_gen_source_unparsed"]) == {field: raw}
    good = [r for r in rows if r is not bad and r["id"] in got]
    assert good and all(got[r["id"]][field] == to_datetime(r[field]) for r in good)
    assert all(got[r["id"]].get("_gen_source_unparsed") is None for r in good)


def test_stripe_created_is_a_utc_timestamp(connector, emulator, tmp_path):
    conn, emu = connector("stripe"), emulator("stripe", rows=120)
    # the emulator orders customers by `created`, so it cannot serve a bad one
    _check(
        conn,
        emu,
        tmp_path,
        "/v1/customers",
        "customers",
        "created",
        lambda v: datetime.fromtimestamp(v, tz=UTC),
        bad_value=False,
    )


def test_github_created_at_is_a_utc_timestamp(connector, emulator, tmp_path):
    conn, emu = connector("github"), emulator("github", rows=60)
    path = "/repos/{owner}/{repo}/issues"
    _check(
        conn,
        emu,
        tmp_path,
        path,
        "issues",
        "created_at",
        lambda v: datetime.fromisoformat(v.replace("Z", "+00:00")),
    )
