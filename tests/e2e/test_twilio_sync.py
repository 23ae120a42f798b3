"""Twilio end to end: Messages through the generated connector against the Twilio emulator
(`PageSize`, relative `next_page_uri` carrying a `PageToken`, `DateSent>` meaning "on or
after", RFC 2822 dates in rows, newest first)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from .support import (
    assert_exactly_once,
    column,
    crash_then_resume,
    requests_to,
    sync,
    table_rows,
)

MESSAGES = "/2010-04-01/Accounts/{AccountSid}/Messages.json"


def _setup(connector, emulator, rows: int):
    conn = connector("twilio")
    emu = emulator("twilio", rows=rows)
    table = conn.table_at(MESSAGES)
    return conn, emu, table, MESSAGES.format(AccountSid=emu.account_sid)


def _sids(emu) -> list[str]:
    return [r["sid"] for r in emu.store["messages"]]


def test_messages_follow_next_page_uri_to_every_row_once(connector, emulator, tmp_path):
    conn, emu, table, path = _setup(connector, emulator, rows=2500)
    size = conn.catalog[table].page_size

    summary = sync(conn, emu, [table], tmp_path)

    assert summary.ok, summary.table()
    seen = requests_to(emu, path)
    assert len(seen) == -(-2500 // size)
    assert "PageToken" not in seen[0].query
    assert all(r.query.get("PageToken", "").startswith("PA") for r in seen[1:])
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(rows, "sid"), _sids(emu), table)


def test_second_sync_sends_the_date_filter_and_merges(connector, emulator, tmp_path):
    conn, emu, table, path = _setup(connector, emulator, rows=300)
    field = conn.catalog[table].incremental_fields[0]
    assert (field.field, field.filter_param) == ("date_sent", "DateSent>")

    first = sync(conn, emu, [table], tmp_path)
    assert first.ok, first.table()
    newest = max(parsedate_to_datetime(r["date_sent"]) for r in emu.store["messages"])
    assert first.results[0].watermark.last == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    emu.add("messages", 3)
    before = len(emu.requests)

    second = sync(conn, emu, [table], tmp_path)

    assert second.ok, second.table()
    sent = [r.query.get(field.filter_param) for r in requests_to(emu, path, before)]
    assert sent == [newest.strftime("%Y-%m-%dT%H:%M:%SZ")]
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(rows, "sid"), _sids(emu), table)


def test_interrupted_sync_resumes_at_the_next_page_token(connector, emulator, tmp_path):
    conn, emu, table, path = _setup(connector, emulator, rows=2500)
    size = conn.catalog[table].page_size

    commits = 1
    rerun, summary = crash_then_resume(conn, emu, table, tmp_path, commits=commits)

    assert summary.ok, summary.table()
    mine = [r for r in rerun if r.path == path]
    assert len(mine) == -(-2500 // size) - commits
    assert mine[0].query.get("PageToken", "").startswith("PA")
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(rows, "sid"), _sids(emu), table)
