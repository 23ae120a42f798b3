"""Klaviyo end to end: profiles through the generated connector against the Klaviyo emulator
(JSON:API `{data: [{id, type, attributes}], links: {next}}`, `page[size]`/`page[cursor]`,
a required `revision` header, `filter=greater-than(updated,...)`)."""

from __future__ import annotations

from datetime import UTC, datetime

from .support import (
    assert_exactly_once,
    column,
    requests_to,
    sync,
    table_rows,
)

PROFILES = "/api/profiles"


def _sync_checked(conn, emu, table, dest):
    summary = sync(conn, emu, [table], dest)
    assert summary.ok, summary.table()
    return summary, table_rows(dest, conn, table)


def _updated(emu, row) -> datetime:
    return datetime.fromtimestamp(emu.epoch(row, "attributes.updated"), UTC)


def test_profiles_follow_links_next_to_every_row_once(connector, emulator, tmp_path):
    conn = connector("klaviyo")
    emu = emulator("klaviyo", rows=250)
    table = conn.table_at(PROFILES)
    size = conn.catalog[table].page_size

    _, rows = _sync_checked(conn, emu, table, tmp_path)

    seen = requests_to(emu, PROFILES)
    assert len(seen) == -(-250 // size)
    assert "page[cursor]" not in seen[0].query
    assert all("page[cursor]" in r.query for r in seen[1:])
    assert all(r.headers.get("revision") for r in seen)
    assert_exactly_once(
        column(rows, "id"), [r["id"] for r in emu.store["profiles"]], table
    )
    stored = {r["id"]: r["attributes"] for r in emu.store["profiles"]}
    assert all(r["email"] == stored[r["id"]]["email"] for r in rows)


def test_second_sync_sends_the_filter_expression_and_merges(
    connector, emulator, tmp_path
):
    conn = connector("klaviyo")
    emu = emulator("klaviyo", rows=250)
    table = conn.table_at(PROFILES)
    field = conn.catalog[table].incremental_fields[0]
    assert (field.field, field.filter_param) == ("updated", "filter")

    _sync_checked(conn, emu, table, tmp_path)
    top = max(_updated(emu, r) for r in emu.store["profiles"])
    emu.add("profiles", 3)
    old_id = emu.store["profiles"][5]["id"]
    touched = emu.touch("profiles", old_id)
    before = len(emu.requests)

    _, rows = _sync_checked(conn, emu, table, tmp_path)

    value = top.strftime("%Y-%m-%dT%H:%M:%SZ")
    sent = [r.query.get("filter") for r in requests_to(emu, PROFILES, before)]
    assert sent == [field.filter_expression.replace("{value}", value)]
    assert_exactly_once(
        column(rows, "id"), [r["id"] for r in emu.store["profiles"]], table
    )
    by_id = {r["id"]: r for r in rows}
    assert by_id[old_id]["updated"] == datetime.fromisoformat(
        touched["attributes"]["updated"]
    )


def test_one_operation_two_tables_each_with_its_channel(connector, emulator, tmp_path):
    """/api/campaigns needs a channel filter: the override reads it twice (a variant), and
    each table holds exactly its channel's campaigns, incremental runs included."""
    conn = connector("klaviyo")
    emu = emulator("klaviyo", rows=40)
    tables = sorted(
        n for n, e in conn.catalog.items() if e.path == "/api/campaigns" and e.selected
    )
    assert tables == ["email_campaigns", "sms_campaigns"]
    channel = emu.channels()
    summary = sync(conn, emu, tables, tmp_path)
    assert summary.ok, summary.table()
    for table in tables:
        want = table.removesuffix("_campaigns")
        expected = [r["id"] for r in emu.store["campaigns"] if channel[r["id"]] == want]
        assert expected, f"the emulator has no {want} campaigns"
        assert_exactly_once(
            column(table_rows(tmp_path, conn, table), "id"), expected, table
        )
    sent = {r.query["filter"] for r in requests_to(emu, "/api/campaigns")}
    assert sent == {
        "equals(messages.channel,'email')",
        "equals(messages.channel,'sms')",
    }

    added = emu.add("campaigns", 8)  # two of them SMS (every fourth)
    before = len(emu.requests)
    assert sync(conn, emu, tables, tmp_path).ok
    incremental = [
        r.query["filter"] for r in requests_to(emu, "/api/campaigns", before)
    ]
    assert sorted(f.split(",greater-than")[0] for f in incremental) == [
        "and(equals(messages.channel,'email')",
        "and(equals(messages.channel,'sms')",
    ]
    for table in tables:
        want = table.removesuffix("_campaigns")
        expected = [r["id"] for r in emu.store["campaigns"] if channel[r["id"]] == want]
        assert_exactly_once(
            column(table_rows(tmp_path, conn, table), "id"), expected, table
        )
    assert {channel[r["id"]] for r in added} == {"email", "sms"}
