"""Schema evolution end to end: a field the server starts returning between two syncs becomes
a new nullable column (Delta schema merge), no row or column is lost, and the run reports it
once."""

from __future__ import annotations

import logging

from .support import assert_exactly_once, column, sync, table_rows

CUSTOMERS = "/v1/customers"


def test_a_new_field_between_two_syncs_becomes_a_column(
    connector, emulator, tmp_path, caplog
):
    conn, emu = connector("stripe"), emulator("stripe", rows=150)
    table = conn.table_at(CUSTOMERS)
    assert "loyalty_tier" not in {c.name for c in conn.catalog[table].columns}
    first = sync(conn, emu, [table], tmp_path)
    assert first.ok and first.results[0].undeclared == []
    before = {r["id"]: r for r in table_rows(tmp_path, conn, table)}

    added = emu.add("customers", 4)
    for n, row in enumerate(added):
        row["loyalty_tier"] = f"tier-{n}"
    with caplog.at_level(logging.WARNING):
        second = sync(conn, emu, [table], tmp_path, batch_rows=2)

    assert second.ok, second.table()
    assert second.results[0].mode == "merge"
    assert second.results[0].undeclared == ["loyalty_tier"]
    reports = [r for r in caplog.records if "loyalty_tier" in r.getMessage()]
    assert len(reports) == 1  # once per run, not per batch
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(
        column(rows, "id"), [r["id"] for r in emu.store["customers"]], table
    )
    by_id = {r["id"]: r for r in rows}
    assert {r["id"]: by_id[r["id"]]["loyalty_tier"] for r in added} == {
        r["id"]: r["loyalty_tier"] for r in added
    }
    assert all(by_id[i]["loyalty_tier"] is None for i in before)
    for i, old in before.items():  # nothing the first sync wrote was lost
        assert {k: v for k, v in by_id[i].items() if k != "loyalty_tier"} == old
