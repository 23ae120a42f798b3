"""run_schema / run_sync with in-memory fake sources writing real Delta tables."""

from __future__ import annotations

import io

import pytest
from pydantic import BaseModel

from runtime.catalog import Column
from runtime.delta.writer import read_table
from runtime.progress import ProgressReporter, format_summary
from runtime.source.sources import (
    IncrementalField,
    ResumableSource,
    SimpleSource,
    SourceConfig,
    SourceResponse,
    SourceSchema,
)
from runtime.state.locks import TableBusyError, table_lock
from runtime.state.store import RESUME_KIND, RUN_INPUTS_KIND, STAGED_KIND, StateStore
from runtime.sync import SchemaResult, run_schema, run_sync

UPDATED = IncrementalField(
    field="updated", type="integer", filter_param="updated_after", label="Updated"
)


class Crash(RuntimeError):
    pass


class FakeConfig(BaseModel):
    page_size: int = 2


class FakeBase:
    """Serves `rows` in pages, filtered and ordered the way an incremental API would."""

    config_class = FakeConfig

    def __init__(
        self,
        rows,
        *,
        sort="asc",
        pk=("id",),
        incremental=True,
        columns=(),
        **response_extra,
    ):
        self.rows = rows
        self.sort = sort
        self.pk = list(pk) if pk else None
        self.incremental = incremental
        self.columns = list(columns)
        self.response_extra = response_extra
        self.fail_at_page: int | None = None
        self.inputs = []
        self.served: list[int] = []

    def get_source_config(self):
        return SourceConfig("fake", "Fake")

    def get_schemas(self, config):
        fields = [UPDATED] if self.incremental else []
        return [SourceSchema("items", bool(fields), bool(fields), fields, self.pk)]

    def validate_credentials(self, config, schema_name=None):
        return True, None

    def get_non_retryable_errors(self):
        return {"crash before page": "the fake source was told to fail"}

    def _select(self, inputs):
        rows = list(self.rows)
        if inputs.should_use_incremental_field:
            last, earliest = (
                inputs.db_incremental_field_last_value,
                inputs.db_incremental_field_earliest_value,
            )
            if self.sort == "desc" and not inputs.backfill_complete:
                rows = [r for r in rows if earliest is None or r["updated"] < earliest]
            elif last is not None:
                rows = [r for r in rows if r["updated"] > last]
        return sorted(rows, key=lambda r: r["updated"], reverse=self.sort == "desc")

    def _response(self, config, inputs, manager):
        self.inputs.append(inputs)

        def items():
            selected = self._select(inputs)
            size = config.page_size
            pages = [selected[i : i + size] for i in range(0, len(selected), size)]
            start = (manager.load_state() or {}).get("page", 0) if manager else 0
            for index in range(start, len(pages)):
                if self.fail_at_page == index:
                    raise Crash(f"crash before page {index}")
                self.served.append(index)
                yield [dict(r) for r in pages[index]]
                if manager:
                    manager.save_state({"page": index + 1})

        return SourceResponse(
            name="items",
            items=items,
            primary_keys=self.pk,
            sort_mode=self.sort,
            columns=self.columns,
            incremental_field=inputs.incremental_field,
            **self.response_extra,
        )


class FakeSource(FakeBase, ResumableSource[FakeConfig, dict]):
    def source_for_pipeline(
        self, config, resumable_source_manager, inputs
    ) -> SourceResponse:
        return self._response(config, inputs, resumable_source_manager)


class FakeSimple(FakeBase, SimpleSource[FakeConfig]):
    def source_for_pipeline(self, config, inputs) -> SourceResponse:
        return self._response(config, inputs, None)


class CheckingStore(StateStore):
    """Asserts, each time a watermark is written, that every source row it claims is
    already in the Delta table."""

    def __init__(self, path, source, table_uri):
        super().__init__(path)
        self.source = source
        self.table_uri = table_uri
        self.writes = 0

    def set_watermark(self, source, schema, watermark):
        table = {
            (r["id"], r["updated"]) for r in read_table(self.table_uri).to_pylist()
        }
        covered = []
        if watermark.last is not None:
            covered += [r for r in self.source.rows if r["updated"] <= watermark.last]
        if self.source.sort == "desc" and watermark.earliest is not None:
            covered += [
                r
                for r in self.source.rows
                if watermark.earliest <= r["updated"] <= (watermark.pending_last or 0)
            ]
        missing = [r for r in covered if (r["id"], r["updated"]) not in table]
        assert not missing, f"watermark {watermark} claims uncommitted rows {missing}"
        self.writes += 1
        super().set_watermark(source, schema, watermark)


def data(n, start=1):
    return [{"id": i, "updated": i, "v": f"v{i}"} for i in range(start, start + n)]


def sync(source, tmp_path, store=None, **kwargs):
    store = store or StateStore(tmp_path / "state.db")
    kwargs.setdefault("batch_rows", 2)
    result = run_schema(
        source,
        {"page_size": 2},
        "items",
        dest=str(tmp_path / "wh"),
        source_name="fake",
        store=store,
        **kwargs,
    )
    return result, store


def table_rows(tmp_path):
    return sorted(
        read_table(str(tmp_path / "wh" / "fake" / "items")).to_pylist(),
        key=lambda r: r["id"],
    )


def test_full_refresh_replace_second_run_replaces(tmp_path):
    source = FakeSource(data(5), incremental=False)
    first, store = sync(source, tmp_path)
    assert (first.mode, first.rows, first.batches, first.pages) == ("replace", 5, 3, 3)
    assert first.table_uri == str(tmp_path / "wh" / "fake" / "items")
    source.rows = [
        {"id": 2, "updated": 2, "v": "changed"},
        {"id": 7, "updated": 7, "v": "v7"},
    ]
    second, _ = sync(source, tmp_path, store)
    assert second.mode == "replace"
    assert table_rows(tmp_path) == source.rows
    assert saved_run_state(store) == (None, None)


def saved_run_state(store):
    return store.get("fake", "items", RESUME_KIND), store.get(
        "fake", "items", RUN_INPUTS_KIND
    )


def test_incremental_merge_updates_by_key_and_adds_new_rows(tmp_path):
    source = FakeSource(data(5))
    first, store = sync(source, tmp_path)
    assert first.mode == "merge" and first.incremental
    assert store.get_watermark("fake", "items").last == 5
    source.rows[1] = {"id": 2, "updated": 6, "v": "new"}
    source.rows.append({"id": 6, "updated": 7, "v": "v6"})
    second, _ = sync(source, tmp_path, store)
    assert source.inputs[-1].db_incremental_field_last_value == 5
    assert second.rows == 2  # only what changed was read
    got = table_rows(tmp_path)
    assert [r["id"] for r in got] == [1, 2, 3, 4, 5, 6]
    assert got[1] == {"id": 2, "updated": 6, "v": "new"}
    assert store.get_watermark("fake", "items").last == 7


def test_incremental_without_key_appends(tmp_path):
    source = FakeSource(data(3), pk=None)
    first, store = sync(source, tmp_path)
    source.rows += data(2, start=4)
    second, _ = sync(source, tmp_path, store)
    assert (first.mode, second.mode, second.rows) == ("append", "append", 2)
    assert [r["id"] for r in table_rows(tmp_path)] == [1, 2, 3, 4, 5]


def test_schema_evolution_and_declared_types_across_runs(tmp_path):
    source = FakeSource(
        data(2),
        columns=[
            Column("id", "int64"),
            Column("v", "string"),
            Column("amount", "float64"),
        ],
    )
    source.rows[0]["amount"] = 3
    sync(source, tmp_path)
    source.rows.append(
        {"id": "3", "updated": 3, "v": 30, "amount": "4.5", "extra": {"a": 1}}
    )
    source.columns = []  # a later catalog without declarations still finds the table's types
    sync(source, tmp_path)
    got = table_rows(tmp_path)
    assert [(r["id"], r["v"], r["amount"], r["extra"]) for r in got] == [
        (1, "v1", 3.0, None),
        (2, "v2", None, None),
        (3, "30", 4.5, '{"a":1}'),
    ]


@pytest.mark.parametrize(
    ("fmt", "expected"), [("month", {"1970-01"}), ("week", {"1970-w01", "1970-w02"})]
)
def test_partitions_through_sync(tmp_path, fmt, expected):
    rows = [{"id": i, "updated": i, "created": i * 86_400} for i in range(1, 6)]
    source = FakeSource(
        rows,
        incremental=False,
        partition_keys=["created"],
        partition_mode="datetime",
        partition_format=fmt,
    )
    sync(source, tmp_path)
    assert {r["_partition"] for r in table_rows(tmp_path)} == expected


def test_crash_then_resume_writes_every_row_exactly_once(tmp_path):
    source = FakeSource(data(10))
    uri = str(tmp_path / "wh" / "fake" / "items")
    store = CheckingStore(tmp_path / "state.db", source, uri)
    source.fail_at_page = 3
    with pytest.raises(Crash):
        sync(source, tmp_path, store)
    assert [r["id"] for r in table_rows(tmp_path)] == [1, 2, 3, 4, 5, 6]
    assert store.get_watermark("fake", "items").last == 6  # not past the committed rows
    assert store.get("fake", "items", RESUME_KIND) == {"page": 2}
    store.close()

    source.fail_at_page = None
    source.served.clear()
    fresh = CheckingStore(
        tmp_path / "state.db", source, uri
    )  # a new process, same file
    result, _ = sync(source, tmp_path, fresh)
    assert result.resumed
    # The rerun lists with the bounds of the interrupted run (the page number refers to them)
    # and re-reads only the one page whose state was not yet committed.
    assert source.inputs[-1].db_incremental_field_last_value is None
    assert source.served == [2, 3, 4]
    got = table_rows(tmp_path)
    assert [r["id"] for r in got] == list(range(1, 11))
    assert fresh.get_watermark("fake", "items").last == 10
    assert saved_run_state(fresh) == (None, None)
    assert store.writes + fresh.writes >= 5


def test_uncommitted_buffer_does_not_move_state_or_watermark(tmp_path):
    source = FakeSource(data(10))
    store = CheckingStore(
        tmp_path / "state.db", source, str(tmp_path / "wh" / "fake" / "items")
    )
    source.fail_at_page = 3
    with pytest.raises(Crash):
        sync(
            source, tmp_path, store, batch_rows=4
        )  # page 2 is buffered when the crash comes
    assert [r["id"] for r in table_rows(tmp_path)] == [1, 2, 3, 4]
    assert store.get_watermark("fake", "items").last == 4
    assert store.get("fake", "items", RESUME_KIND) == {"page": 1}
    source.fail_at_page = None
    sync(source, tmp_path, store, batch_rows=4)
    assert [r["id"] for r in table_rows(tmp_path)] == list(range(1, 11))


def test_newest_first_backfill_moves_earliest_and_sets_last_only_at_the_end(tmp_path):
    source = FakeSource(data(10), sort="desc")
    store = CheckingStore(
        tmp_path / "state.db", source, str(tmp_path / "wh" / "fake" / "items")
    )
    source.fail_at_page = 3
    with pytest.raises(Crash):
        sync(source, tmp_path, store)
    mark = store.get_watermark("fake", "items")
    assert (mark.last, mark.earliest, mark.pending_last, mark.backfill_complete) == (
        None,
        5,
        10,
        False,
    )

    source.fail_at_page = None
    sync(source, tmp_path, store)
    mark = store.get_watermark("fake", "items")
    assert (mark.last, mark.earliest, mark.pending_last, mark.backfill_complete) == (
        10,
        1,
        None,
        True,
    )
    assert [r["id"] for r in table_rows(tmp_path)] == list(range(1, 11))

    source.rows += data(2, start=11)
    sync(source, tmp_path, store)
    inputs = source.inputs[-1]
    assert (inputs.backfill_complete, inputs.db_incremental_field_last_value) == (
        True,
        10,
    )
    assert store.get_watermark("fake", "items").last == 12
    assert len(table_rows(tmp_path)) == 12


def test_simple_source_backfill_continues_from_earliest_after_a_crash(tmp_path):
    source = FakeSimple(data(10), sort="desc")
    source.fail_at_page = 2
    with pytest.raises(Crash):
        _, store = sync(source, tmp_path)
    store = StateStore(tmp_path / "state.db")
    source.fail_at_page = None
    result, _ = sync(source, tmp_path, store)
    inputs = source.inputs[-1]
    assert (inputs.db_incremental_field_earliest_value, inputs.backfill_complete) == (
        7,
        False,
    )
    assert not result.resumed and result.rows == 6
    assert [r["id"] for r in table_rows(tmp_path)] == list(range(1, 11))


def test_full_refresh_ignores_saved_state_and_resets_the_watermark(tmp_path):
    source = FakeSource(data(6))
    source.fail_at_page = 2
    with pytest.raises(Crash):
        _, store = sync(source, tmp_path)
    store = StateStore(tmp_path / "state.db")
    assert store.get("fake", "items", RESUME_KIND) is not None
    source.fail_at_page = None
    source.served.clear()
    source.rows = data(3)  # the source shrank: a full refresh must reflect it
    result, _ = sync(source, tmp_path, store, full_refresh=True)
    assert (result.mode, result.resumed) == ("replace", False)
    assert not source.inputs[-1].should_use_incremental_field
    assert source.served == [0, 1]
    assert [r["id"] for r in table_rows(tmp_path)] == [1, 2, 3]
    mark = store.get_watermark("fake", "items")
    assert (mark.last, mark.earliest, mark.backfill_complete, mark.field) == (
        3,
        1,
        True,
        "updated",
    )


def test_names_that_would_escape_the_destination_are_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot be a table path segment"):
        run_schema(
            FakeSource(data(1)),
            {},
            "items",
            dest=str(tmp_path),
            source_name="../up",
            store=StateStore(tmp_path / "s.db"),
        )


def test_run_sync_records_failures_and_goes_on(tmp_path):
    class TwoTables(FakeSource):
        def get_schemas(self, config):
            return [SourceSchema("items", primary_key=["id"]), SourceSchema("broken")]

        def source_for_pipeline(self, config, resumable_source_manager, inputs):
            if inputs.schema_name == "broken":
                raise Crash("crash before page 0\nwith a second line")
            return super().source_for_pipeline(config, resumable_source_manager, inputs)

    out = io.StringIO()
    progress = ProgressReporter(out, tty=False, interval=0.0)
    summary = run_sync(
        TwoTables(data(3)),
        {"page_size": 2},
        ["broken", "items"],
        dest=str(tmp_path / "wh"),
        source_name="fake",
        store=StateStore(tmp_path / "s.db"),
        progress=progress,
        batch_rows=2,
    )
    assert not summary.ok and summary.rows == 3
    broken, items = summary.results
    assert (
        broken.error == "Crash: crash before page 0 (the fake source was told to fail)"
    )
    assert broken.non_retryable and items.error is None
    text = out.getvalue()
    assert (
        "broken (-): failed (reason at the end)" in text
        and "Crash" not in text  # the reason is said once, at the end of the run
        and "items (replace): done, 3 rows, 2 pages, 2 batches" in text
    )
    assert "items (replace): 2 rows, 1 pages" in text  # a periodic line while it ran
    table = summary.table().splitlines()
    assert table[0].split() == [
        "schema",
        "mode",
        "rows",
        "pages",
        "version",
        "seconds",
        "status",
    ]
    assert table[2].split()[:2] == ["broken", "-"] and table[3].split()[:5] == [
        "items",
        "replace",
        "3",
        "2",
        "0",  # the Delta version the replace committed
    ]
    assert progress.summary() == summary.table()


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_progress_redraws_one_line_on_a_tty():
    out, clock = io.StringIO(), Clock()
    progress = ProgressReporter(out, tty=True, clock=clock)
    progress.start_schema("items", "merge", total_rows=50)
    progress.update(10, 1)  # within the redraw interval: nothing yet
    clock.now += 1
    progress.update(20, 2)
    clock.now += 0.05
    progress.update(21, 3)  # throttled
    assert (
        out.getvalue()
        == "\r\x1b[2Kitems (merge): 20/50 rows, 2 pages, 0 batches, 20 rows/s"
    )
    assert "\n" not in out.getvalue()


def test_progress_off_a_tty_prints_lines_every_interval():
    out, clock = io.StringIO(), Clock()
    progress = ProgressReporter(out, tty=False, interval=10, clock=clock)
    progress.start_schema("items", "append")
    for _ in range(25):
        clock.now += 1
        progress.update(int(clock.now - 100) * 100, int(clock.now - 100))
    lines = out.getvalue().splitlines()
    assert lines == [
        "items (append): 1000 rows, 10 pages, 0 batches, 100 rows/s",
        "items (append): 2000 rows, 20 pages, 0 batches, 100 rows/s",
    ]
    assert "\r" not in out.getvalue()


def test_a_reporter_per_table_keeps_its_own_counts_and_shares_the_stream():
    out, clock = io.StringIO(), Clock()
    parent = ProgressReporter(stream=out, tty=False, interval=5, clock=clock)
    a, b = parent.for_table(), parent.for_table()
    a.start_schema("a", "merge")
    b.start_schema("b", "replace")
    clock.now += 10
    a.update(rows=70, pages=1)
    b.update(rows=30, pages=2)
    assert out.getvalue().splitlines() == [
        "a (merge): 70 rows, 1 pages, 0 batches, 7 rows/s",
        "b (replace): 30 rows, 2 pages, 0 batches, 3 rows/s",
    ]
    b.finish_schema(SchemaResult("b", "b-uri", mode="replace", rows=30, pages=2))
    assert [r.schema for r in parent.finished] == ["b"]
    assert out.getvalue().splitlines()[-1].startswith("b (replace): done, 30 rows")


def test_format_summary_aligns_columns_and_says_what_each_table_did():
    class R:
        def __init__(self, schema, rows, error=None, **more):
            self.schema, self.mode, self.rows, self.pages = schema, "merge", rows, 1
            self.seconds, self.error, self.version = 1.25, error, 7
            self.__dict__.update(more)

    class Mark:
        last = 20

    lines = format_summary(
        [
            R(
                "a",
                5,
                resumed_from_page=3,
                incremental=True,
                incremental_sent=10,
                watermark=Mark(),
            ),
            R(
                "longer_name",
                12345,
                "boom",
                unparsed={"created": 2},
                undeclared=["x", "y"],
            ),
        ]
    ).splitlines()
    assert lines[2] == (
        "a            merge      5      1        7      1.2"
        "  ok; resumed from page 3; since 10 -> watermark 20"
    )
    assert lines[3] == (
        "longer_name  merge  12345      1        7      1.2"
        "  failed; unparsed created 2; new fields x, y"
    )
    assert "boom" not in "\n".join(lines)  # said once, after the table


def _table_dir_files(tmp_path):
    root = tmp_path / "wh" / "fake" / "items"
    return {p.relative_to(root).as_posix() for p in root.rglob("*.parquet")}


def _referenced(tmp_path):
    from deltalake import DeltaTable

    root = tmp_path / "wh" / "fake" / "items"
    uris = DeltaTable(str(root)).file_uris()
    return {u.removeprefix(str(root) + "/") for u in uris}


def test_failed_replace_keeps_the_previous_version_and_leaves_no_files(tmp_path):
    source = FakeSource(data(3, start=100), incremental=False)
    _, store = sync(source, tmp_path)  # an earlier complete sync
    before = _table_dir_files(tmp_path)
    source.rows = data(6)
    source.fail_at_page = 2
    with pytest.raises(Crash):
        sync(source, tmp_path, store)
    assert [r["id"] for r in table_rows(tmp_path)] == [100, 101, 102]
    assert _table_dir_files(tmp_path) == before  # the staged files are gone
    assert store.get("fake", "items", STAGED_KIND) is None
    assert saved_run_state(store) == (None, None)
    source.fail_at_page = None
    result, _ = sync(source, tmp_path, store)
    assert (result.mode, result.resumed) == ("replace", False)
    assert [r["id"] for r in table_rows(tmp_path)] == [1, 2, 3, 4, 5, 6]


def test_run_sync_runs_each_table_with_the_runner_it_is_given(tmp_path):
    """The loop composes: each table goes through `run` (under the table's lock, with the
    loop's arguments), a runner that raises is recorded like any failing table."""
    calls = []

    def run(source, config, name, **kwargs):
        calls.append((name, kwargs["source_name"], kwargs["batch_rows"]))
        with pytest.raises(
            TableBusyError
        ):  # the loop holds this table's lock meanwhile
            with table_lock(str(tmp_path / "wh"), "fake", name):
                pass
        if name == "broken":
            raise Crash("the runner failed")
        return run_schema(source, config, name, **kwargs)

    summary = run_sync(
        FakeSource(data(3)),
        {"page_size": 2},
        ["items", "broken"],
        dest=str(tmp_path / "wh"),
        source_name="fake",
        store=StateStore(tmp_path / "s.db"),
        batch_rows=7,
        run=run,
    )
    assert calls == [("items", "fake", 7), ("broken", "fake", 7)]
    items, broken = summary.results
    assert items.rows == 3 and items.error is None
    assert broken.error.startswith("Crash: the runner failed")


class Killed(BaseException):
    """Stands for the process dying mid-run (nothing after it runs in the sync)."""


class SavesFirst(FakeSource):
    """Saves the position after a page before yielding it, as the REST sources do."""

    def _response(self, config, inputs, manager):
        self.inputs.append(inputs)

        def items():
            rows = self._select(inputs)
            pages = [rows[i : i + 2] for i in range(0, len(rows), 2)]
            start = (manager.load_state() or {}).get("page", 0)
            for index in range(start, len(pages)):
                if self.fail_at_page == index:
                    raise Killed
                self.served.append(index)
                manager.save_state({"page": index + 1})
                yield [dict(r) for r in pages[index]]

        return SourceResponse(name="items", items=items, primary_keys=self.pk)


def test_interrupted_replace_continues_its_staged_files(tmp_path):
    source = SavesFirst(data(3, start=100), incremental=False)
    _, store = sync(source, tmp_path)
    version, first_files = _version(tmp_path), _referenced(tmp_path)
    source.rows, source.fail_at_page, source.served = data(6), 2, []
    with pytest.raises(Killed):
        sync(source, tmp_path, store, full_refresh=True)
    assert [r["id"] for r in table_rows(tmp_path)] == [100, 101, 102]
    staged = store.get("fake", "items", STAGED_KIND)
    assert len(staged["files"]) == 2 and staged["position"] == {"page": 2}
    source.fail_at_page, source.served = None, []
    result, _ = sync(
        source, tmp_path, store, full_refresh=True
    )  # the same command again
    assert (result.mode, result.resumed, source.served) == ("replace", True, [2])
    assert [r["id"] for r in table_rows(tmp_path)] == [1, 2, 3, 4, 5, 6]
    assert _version(tmp_path) == version + 1  # the whole replace is one commit
    assert store.get("fake", "items", STAGED_KIND) is None
    # nothing but the replaced version's files (kept for time travel until a vacuum)
    assert _table_dir_files(tmp_path) - _referenced(tmp_path) == first_files


def test_interrupted_replace_whose_files_were_vacuumed_starts_again(tmp_path):
    source = SavesFirst(data(6), incremental=False)
    store = StateStore(tmp_path / "state.db")
    source.fail_at_page = 2
    with pytest.raises(Killed):
        sync(source, tmp_path, store)
    for path in _table_dir_files(tmp_path):
        (tmp_path / "wh" / "fake" / "items" / path).unlink()
    source.fail_at_page, source.served = None, []
    result, _ = sync(source, tmp_path, store)
    assert (result.resumed, source.served) == (False, [0, 1, 2])
    assert [r["id"] for r in table_rows(tmp_path)] == [1, 2, 3, 4, 5, 6]


def _version(tmp_path):
    from deltalake import DeltaTable

    return DeltaTable(str(tmp_path / "wh" / "fake" / "items")).version()
