"""GitHub end to end: repository issues through the generated connector against the GitHub
emulator (root arrays, `per_page`/`page` with an RFC 8288 `Link` header, `since` on the
updated time, inclusive)."""

from __future__ import annotations

from .support import (
    assert_exactly_once,
    column,
    crash_then_resume,
    requests_to,
    sync,
    table_rows,
)

ISSUES = "/repos/{owner}/{repo}/issues"


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _setup(connector, emulator, rows: int):
    conn = connector("github")
    emu = emulator("github", rows=rows)
    table = conn.table_at(ISSUES)
    path = ISSUES.format(owner=emu.owner, repo=emu.repo)
    return conn, emu, table, path


def _issues(emu) -> list[int]:
    """The issue ids the table should hold: overrides/github.py drops pull requests, which
    GitHub also lists as issues (they have their own table)."""
    return [r["id"] for r in emu.store["issues"] if "pull_request" not in r]


def test_issues_follow_the_link_header_to_every_row_once(connector, emulator, tmp_path):
    conn, emu, table, path = _setup(connector, emulator, rows=250)
    page = conn.catalog[table].page_size

    summary = sync(conn, emu, [table], tmp_path)

    assert summary.ok, summary.table()
    pages = -(-250 // page)
    seen = requests_to(emu, path)
    assert [r.query.get("page") for r in seen] == [None] + [
        str(n) for n in range(2, pages + 1)
    ]
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(rows, "id"), _issues(emu), table)


def test_second_sync_sends_since_and_merges_new_and_updated_issues(
    connector, emulator, tmp_path
):
    conn, emu, table, path = _setup(connector, emulator, rows=250)
    field = conn.catalog[table].incremental_fields[0]
    assert (field.field, field.filter_param) == ("updated_at", "since")

    sync(conn, emu, [table], tmp_path)
    top = max(column(table_rows(tmp_path, conn, table), "updated_at"))
    top = iso(top)  # a timestamp column; the filter takes ISO text
    new = emu.add("issues", 3)
    old_id = _issues(emu)[5]
    touched = emu.touch("issues", old_id)
    before = len(emu.requests)

    summary = sync(conn, emu, [table], tmp_path)

    assert summary.ok, summary.table()
    assert [r.query.get("since") for r in requests_to(emu, path, before)] == [top]
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(rows, "id"), _issues(emu), table)
    by_id = {r["id"]: r for r in rows}
    assert by_id[old_id]["title"] == touched["title"]
    assert iso(by_id[old_id]["updated_at"]) == touched["updated_at"]
    assert all(
        iso(by_id[r["id"]]["updated_at"]) == r["updated_at"]
        for r in new
        if "pull_request" not in r
    )


def test_interrupted_sync_resumes_at_the_next_link(connector, emulator, tmp_path):
    conn, emu, table, path = _setup(connector, emulator, rows=450)

    rerun, summary = crash_then_resume(conn, emu, table, tmp_path, commits=2)

    assert summary.ok, summary.table()
    assert [r.query.get("page") for r in rerun if r.path == path] == ["3", "4", "5"]
    rows = table_rows(tmp_path, conn, table)
    assert_exactly_once(column(rows, "id"), _issues(emu), table)
