"""DeltaPipeline against real Delta tables in tmp dirs."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from runtime.catalog import Column
from runtime.delta.columns import datetime_bucket, infer_type
from runtime.delta.staging import StagedReplace
from runtime.delta.writer import (
    ColumnTypeError,
    DeltaPipeline,
    PrimaryKeyError,
    read_table,
)
from runtime.source.sources import SourceResponse


def response(pages, **kwargs) -> SourceResponse:
    kwargs.setdefault("primary_keys", ["id"])
    return SourceResponse(name="t", items=lambda: iter(pages), **kwargs)


def run(uri, pages, mode="merge", resume=False, commits=None, **kwargs):
    batch_rows = kwargs.pop("batch_rows", 5000)
    staged = kwargs.pop("staged", None)
    pipe = DeltaPipeline(
        str(uri),
        response(pages, **kwargs),
        mode=mode,
        resume=resume,
        batch_rows=batch_rows,
        on_commit=commits.append if commits is not None else None,
        staged=staged,
    )
    return pipe.run()


def rows(uri, key="id"):
    return sorted(read_table(str(uri)).to_pylist(), key=lambda r: r[key])


def test_replace_stages_batches_and_commits_them_as_one_version(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1, "v": "old"}, {"id": 9, "v": "gone"}]], mode="replace")
    commits = []

    def pages():
        for page in (
            [{"id": 1, "v": "a"}],
            [{"id": 2, "v": "b"}],
            [{"id": 1, "v": "a2"}],
        ):
            # while the run stages, readers see the previous version
            assert [r["v"] for r in rows(uri)] == ["old", "gone"]
            yield page

    result = DeltaPipeline(
        str(uri),
        SourceResponse(name="t", items=pages, primary_keys=["id"]),
        mode="replace",
        batch_rows=1,
        on_commit=commits.append,
    ).run()
    assert [r["v"] for r in rows(uri)] == [
        "a2",
        "b",
    ]  # id 9 is gone, id 1's later row won
    assert result.batches == 3 and [c.batch for c in commits] == [1, 2, 3]
    assert [c.version for c in commits] == [None, None, None]  # staged, not committed
    assert [len(c.staged["files"]) for c in commits] == [
        1,
        2,
        2,
    ]  # id 1's file rewritten
    assert result.version == 1  # one commit for the whole replace
    referenced = {p.rsplit("/", 1)[-1] for p in DeltaTable(str(uri)).file_uris()}
    on_disk = {p.name for p in uri.glob("*.parquet")}
    removed_by_replace = 1  # the first run's file, kept for time travel until a vacuum
    assert len(on_disk - referenced) == removed_by_replace


def test_replace_without_key_appends_after_the_first_commit(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"n": 0}]], mode="replace", primary_keys=None)
    run(uri, [[{"n": 1}], [{"n": 1}]], mode="replace", primary_keys=None, batch_rows=1)
    assert [r["n"] for r in rows(uri, "n")] == [1, 1]


def test_resumed_replace_continues_its_staged_files(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 0, "v": "old"}]], mode="replace")
    commits = []
    with pytest.raises(KeyboardInterrupt):
        DeltaPipeline(
            str(uri),
            response(_interrupted([[{"id": 1, "v": "p1"}], [{"id": 2, "v": "p2"}]])),
            mode="replace",
            batch_rows=1,
            on_commit=commits.append,
        ).run()
    assert [r["v"] for r in rows(uri)] == ["old"]
    staged = StagedReplace.from_json(str(uri), commits[-1].staged)
    run(
        uri,
        [[{"id": 1, "v": "p1 again"}], [{"id": 3, "v": "p3"}]],
        mode="replace",
        resume=True,
        staged=staged,
        batch_rows=1,
    )
    assert [r["v"] for r in rows(uri)] == ["p1 again", "p2", "p3"]
    assert DeltaTable(str(uri)).version() == 1


def _interrupted(pages):
    yield from pages
    raise KeyboardInterrupt


def test_merge_updates_by_key_and_inserts_new_rows(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]])
    result = run(uri, [[{"id": 2, "v": "B"}, {"id": 3, "v": "c"}]])
    assert rows(uri) == [{"id": 1, "v": "a"}, {"id": 2, "v": "B"}, {"id": 3, "v": "c"}]
    assert result.rows == 2


def test_append_keeps_every_row(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1}]], mode="append")
    run(uri, [[{"id": 1}, {"id": 2}]], mode="append")
    assert [r["id"] for r in rows(uri)] == [1, 1, 2]


def test_duplicate_keys_in_one_batch_keep_the_last(tmp_path):
    uri = tmp_path / "t"
    pages = [[{"id": 1, "v": "first"}, {"id": 2, "v": "x"}], [{"id": 1, "v": "last"}]]
    result = run(uri, pages, mode="replace")
    assert rows(uri) == [{"id": 1, "v": "last"}, {"id": 2, "v": "x"}]
    assert result.rows == 2
    run(uri, [[{"id": 3, "v": "p"}, {"id": 3, "v": "q"}]])  # merge path too
    assert rows(uri)[-1] == {"id": 3, "v": "q"}


def test_composite_key_and_odd_column_names(tmp_path):
    uri = tmp_path / "t"
    keys = ["a.b", "created[gt]"]
    first = [{"a.b": 1, "created[gt]": "x", "with space": 1, "ünï(=)": "u"}]
    run(uri, [first], primary_keys=keys)
    run(
        uri,
        [
            [
                {"a.b": 1, "created[gt]": "x", "with space": 2},
                {"a.b": 1, "created[gt]": "y"},
            ]
        ],
        primary_keys=keys,
    )
    table = read_table(str(uri))
    assert table.column_names == ["a.b", "created[gt]", "with space", "ünï(=)"]
    got = sorted(table.to_pylist(), key=lambda r: r["created[gt]"])
    assert [r["with space"] for r in got] == [2, None]


def test_null_or_missing_key_is_refused(tmp_path):
    with pytest.raises(PrimaryKeyError, match="primary key 'id' is null in 1 row"):
        run(tmp_path / "t", [[{"id": 1}, {"id": None, "v": 2}]])
    with pytest.raises(PrimaryKeyError, match="primary key 'id' is in no row"):
        run(tmp_path / "u", [[{"v": 1}]])
    with pytest.raises(PrimaryKeyError, match="merge needs primary_keys"):
        run(tmp_path / "w", [], primary_keys=None)


def test_schema_evolution_keeps_old_rows_with_nulls(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1, "a": "x"}], [{"id": 2, "a": "y", "extra": 5}]], batch_rows=1)
    assert rows(uri) == [
        {"id": 1, "a": "x", "extra": None},
        {"id": 2, "a": "y", "extra": 5},
    ]
    run(
        uri, [[{"id": 3, "later": True}]]
    )  # a later run adds another; nothing is dropped
    assert read_table(str(uri)).column_names == ["id", "a", "extra", "later"]
    assert rows(uri)[2] == {"id": 3, "a": None, "extra": None, "later": True}


def test_a_field_null_so_far_gets_its_column_when_a_value_arrives(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1, "maybe": None}], [{"id": 2, "maybe": 2.5}]], batch_rows=1)
    table = read_table(str(uri))
    assert table.schema.field("maybe").type == pa.float64()
    assert [r["maybe"] for r in rows(uri)] == [None, 2.5]


def test_declared_types_coerce_values_and_stay_stable_across_runs(tmp_path):
    uri = tmp_path / "t"
    columns = [
        Column("id", "int64"),
        Column("amount", "float64"),
        Column("live", "bool"),
        Column("meta", "json"),
        Column("label", "string"),
    ]
    first = [
        {"id": "1", "amount": 3, "live": "true", "meta": {"k": [1, "é"]}, "label": 12},
        {"id": 2.0, "amount": "2.5", "live": 0, "meta": [1, 2], "label": {"x": 1}},
        {"id": 3, "amount": None, "live": None, "meta": "text", "label": True},
    ]
    run(uri, [first], columns=columns)
    schema = read_table(str(uri)).schema
    expected = [pa.int64(), pa.float64(), pa.bool_(), pa.string(), pa.string()]
    assert [schema.field(c.name).type for c in columns] == expected
    got = rows(uri)
    assert [r["amount"] for r in got] == [3.0, 2.5, None]
    assert [r["live"] for r in got] == [True, False, None]
    assert [json.loads(r["meta"]) for r in got] == [{"k": [1, "é"]}, [1, 2], "text"]
    assert [r["label"] for r in got] == ["12", '{"x":1}', "true"]
    # A second run without declarations: the table's types are reused, strings coerced.
    run(uri, [[{"id": "4", "amount": "7", "live": "FALSE", "meta": {"z": None}}]])
    assert read_table(str(uri)).schema == schema
    assert rows(uri)[3]["amount"] == 7.0 and rows(uri)[3]["meta"] == '{"z":null}'


def test_inferred_type_is_reused_by_later_runs(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1, "count": 5}]])
    run(uri, [[{"id": 2, "count": "6"}]])  # arrives as text later: still int64
    assert read_table(str(uri)).schema.field("count").type == pa.int64()
    assert [r["count"] for r in rows(uri)] == [5, 6]


def test_value_that_does_not_fit_keeps_its_text_in_the_unparsed_column(tmp_path):
    uri = tmp_path / "t"
    result = run(
        uri,
        [[{"id": 1, "n": "twelve"}, {"id": 2, "n": "12"}]],
        columns=[Column("n", "int64")],
    )
    assert rows(uri) == [
        {"id": 1, "n": None, "_gen_source_unparsed": '{"n": "twelve"}'},
        {"id": 2, "n": 12, "_gen_source_unparsed": None},
    ]
    assert result.unparsed == {"n": 1}
    later = run(
        uri, [[{"id": 3, "n": 1.5}], [{"id": 4, "n": str(2**64)}]], batch_rows=1
    )
    assert later.unparsed == {"n": 2}  # inferred or declared: kept, never an error
    assert [r["_gen_source_unparsed"] for r in rows(uri)][2:] == [
        '{"n": "1.5"}',  # the raw text
        '{"n": "18446744073709551616"}',
    ]


def test_infer_type():
    assert infer_type([None, None]) is None
    assert infer_type([1, None, 2]) == "int64"
    assert infer_type([1, 2.5]) == "float64"
    assert infer_type([True, False]) == "bool"
    assert infer_type([True, 1]) == "string"
    assert infer_type(["a", {"b": 1}]) == "json"
    assert infer_type(["a", 1]) == "string"


def test_arrow_items_are_cast_to_the_declared_types(tmp_path):
    uri = tmp_path / "t"
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "n": pa.array(["10", None]),
            "tags": pa.array([["a"], []], pa.list_(pa.string())),
        }
    )
    batch = pa.RecordBatch.from_pylist([{"id": 3, "n": "30", "tags": ["c"]}])
    columns = [Column("id", "int64"), Column("n", "int64"), Column("tags", "json")]
    run(uri, [table, batch], columns=columns)
    assert rows(uri) == [
        {"id": 1, "n": 10, "tags": '["a"]'},
        {"id": 2, "n": None, "tags": "[]"},
        {"id": 3, "n": 30, "tags": '["c"]'},
    ]
    assert read_table(str(uri)).schema.field("id").type == pa.int64()


def test_items_of_the_wrong_shape_are_refused(tmp_path):
    with pytest.raises(TypeError, match="got str"):
        run(tmp_path / "t", ["not a row"])
    with pytest.raises(TypeError, match="must yield dicts, got int"):
        run(tmp_path / "t", [[1, 2]])


@pytest.mark.parametrize(
    ("fmt", "values", "expected"),
    [
        (
            "month",
            [1706745600, "2024-03-15T10:00:00Z", 1704067200000],
            ["2024-02", "2024-03", "2024-01"],
        ),
        (
            "week",
            ["2024-01-29", 1735516800, "2024-12-29T23:00:00-02:00"],
            ["2024-w05", "2025-w01", "2025-w01"],
        ),
    ],
)
def test_datetime_partitions(tmp_path, fmt, values, expected):
    uri = tmp_path / "t"
    pages = [
        [{"id": i, "created": v} for i, v in enumerate(values)]
        + [{"id": 99, "created": None}]
    ]
    run(
        uri,
        pages,
        mode="replace",
        partition_keys=["created"],
        partition_mode="datetime",
        partition_format=fmt,
    )
    assert DeltaTable(str(uri)).metadata().partition_columns == ["_partition"]
    got = rows(uri)
    assert [r["_partition"] for r in got] == [*expected, None]
    assert [r["created"] for r in got[:-1]] == [
        str(v) for v in values
    ]  # mixed: kept as text


def test_datetime_bucket():
    assert datetime_bucket("2021-01-03", "week") == "2020-w53"  # ISO week year
    assert datetime_bucket("2021-01-04T00:00:00", "week") == "2021-w01"
    assert datetime_bucket(1704067200, "month") == "2024-01"
    assert datetime_bucket(1704067200000, "month") == "2024-01"  # milliseconds
    assert datetime_bucket("1704067200", "month") == "2024-01"
    assert datetime_bucket("2024-01-31T23:30:00-05:00", "month") == "2024-02"  # UTC
    assert datetime_bucket("not a date", "month") is None


def test_partitioning_is_added_by_a_fresh_replace_but_not_forced_on_merge(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1, "created": "2024-01-01"}]], mode="replace")
    part = {
        "partition_keys": ["created"],
        "partition_mode": "datetime",
        "partition_format": "month",
    }
    run(
        uri, [[{"id": 2, "created": "2024-02-01"}]], **part
    )  # existing table: left as it is
    assert DeltaTable(str(uri)).metadata().partition_columns == []
    run(uri, [[{"id": 3, "created": "2024-03-01"}]], mode="replace", **part)
    assert DeltaTable(str(uri)).metadata().partition_columns == ["_partition"]
    run(uri, [[{"id": 4, "created": "2024-04-01"}]], **part)
    assert [(r["id"], r["_partition"]) for r in rows(uri)] == [
        (3, "2024-03"),
        (4, "2024-04"),
    ]


def test_commit_info_carries_incremental_bounds_per_batch(tmp_path):
    commits = []
    pages = [
        [
            {"id": 1, "updated": "2024-01-02T00:00:00Z"},
            {"id": 2, "updated": "2024-01-01T23:00:00-05:00"},
        ],
        [{"id": 3, "updated": "2024-01-01T00:00:00Z"}],
    ]
    result = run(
        tmp_path / "t",
        pages,
        commits=commits,
        batch_rows=2,
        incremental_field="updated",
    )
    assert [(c.incremental_max, c.incremental_min) for c in commits] == [
        ("2024-01-01T23:00:00-05:00", "2024-01-02T00:00:00Z"),  # compared as instants
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
    ]
    assert (result.incremental_max, result.incremental_min) == (
        "2024-01-01T23:00:00-05:00",
        "2024-01-01T00:00:00Z",
    )
    assert [c.total_rows for c in commits] == [2, 3]


def test_empty_replace_empties_the_table_and_new_tables_exist_empty(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1}]], mode="replace")
    result = run(uri, [], mode="replace")
    assert result.rows == 0 and read_table(str(uri)).num_rows == 0
    declared = tmp_path / "d"
    run(
        declared,
        [[]],
        mode="append",
        columns=[Column("id", "int64"), Column("x", "json")],
    )
    assert read_table(str(declared)).schema.names == ["id", "x"]
    run(tmp_path / "none", [], mode="append")
    assert not DeltaTable.is_deltatable(str(tmp_path / "none"))


def test_batches_stay_bounded_for_many_rows(tmp_path):
    """200k rows in pages of 1000: never more than one batch plus one page is held."""
    batch_rows, page_size, total = 20_000, 1_000, 200_000
    produced = {"rows": 0}

    def items():
        for start in range(0, total, page_size):
            page = [{"id": i, "v": i % 7} for i in range(start, start + page_size)]
            produced["rows"] += len(page)
            yield page

    held = []

    def on_commit(info):
        held.append(produced["rows"] - (info.total_rows - info.rows))

    pipe = DeltaPipeline(
        str(tmp_path / "t"),
        SourceResponse("t", items),
        mode="append",
        batch_rows=batch_rows,
        on_commit=on_commit,
    )
    result = pipe.run()
    assert result.rows == total and result.batches == total // batch_rows
    assert max(held) <= batch_rows + page_size
    assert DeltaTable(str(tmp_path / "t")).count() == total


def test_batch_bytes_limit_commits_early(tmp_path):
    pages = [[{"id": i, "blob": "x" * 10_000}] for i in range(4)]
    result = run(
        tmp_path / "t", pages, mode="append", batch_rows=10_000, primary_keys=None
    )
    assert result.batches == 1
    pipe = DeltaPipeline(
        str(tmp_path / "u"),
        response(pages, primary_keys=None),
        mode="append",
        batch_bytes=15_000,
    )
    assert pipe.run().batches == 2


def test_hash_and_numeric_partitions(tmp_path):
    hashed = tmp_path / "h"
    pages = [[{"id": i} for i in range(40)]]
    run(
        hashed,
        pages,
        mode="replace",
        partition_keys=["id"],
        partition_mode="md5",
        partition_count=4,
    )
    first = {r["id"]: r["_partition"] for r in rows(hashed)}
    assert set(first.values()) == {"0", "1", "2", "3"}
    run(
        hashed,
        pages,
        mode="replace",
        partition_keys=["id"],
        partition_mode="md5",
        partition_count=4,
    )
    assert {
        r["id"]: r["_partition"] for r in rows(hashed)
    } == first  # stable across runs
    numeric = tmp_path / "n"
    run(
        numeric,
        [[{"id": 5}, {"id": 25}, {"id": "31"}]],
        mode="replace",
        partition_keys=["id"],
        partition_mode="numerical",
        partition_size=10,
        columns=[Column("id", "int64")],
    )
    assert [r["_partition"] for r in rows(numeric)] == ["0", "2", "3"]


def test_single_dict_items_are_rows(tmp_path):
    uri = tmp_path / "t"
    result = run(uri, [{"id": 1}, {"id": 2, "x": "y"}, []], mode="append")
    assert (result.items, result.rows, result.batches) == (3, 2, 1)
    assert rows(uri) == [{"id": 1, "x": None}, {"id": 2, "x": "y"}]


def test_a_table_written_before_typed_columns_names_itself_and_full_refresh(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1, "created": 1704164645}]])  # an old connector: created as int64
    typed = [Column("created", "timestamp")]
    with pytest.raises(ColumnTypeError) as exc:
        run(uri, [[{"id": 2, "created": 1704164646}]], columns=typed)
    message = str(exc.value)
    assert str(uri) in message and "--full-refresh" in message and "\n" not in message
    assert [r["id"] for r in rows(uri)] == [1]  # nothing written
    run(uri, [[{"id": 1, "created": 1704164645}]], mode="replace", columns=typed)
    assert read_table(str(uri)).schema.field("created").type == pa.timestamp(
        "us", tz="UTC"
    )


def test_a_declared_column_that_changes_type_is_an_error_never_a_cast(tmp_path):
    uri = tmp_path / "t"
    run(uri, [[{"id": 1, "n": 1.5}]], columns=[Column("n", "float64")])
    with pytest.raises(
        ColumnTypeError,
        match=r"column 'n' is float64 in the table but the"
        r" catalog declares int64",
    ):
        run(uri, [[{"id": 2, "n": 2}]], columns=[Column("n", "int64")])
    assert rows(uri) == [{"id": 1, "n": 1.5}]


def test_undeclared_fields_are_kept_and_listed_once(tmp_path):
    uri = tmp_path / "t"
    result = run(
        uri,
        [[{"id": 1, "a": 1, "_parent": "p"}], [{"id": 2, "new": "x"}]],
        columns=[Column("id", "int64"), Column("a", "int64")],
        batch_rows=1,
    )
    assert result.undeclared == ["new"]
    assert rows(uri)[1]["new"] == "x" and rows(uri)[0]["new"] is None


def _conversions(monkeypatch) -> list[int]:
    """The row counts `DeltaPipeline` converts to Arrow at a time."""
    sizes: list[int] = []
    convert = DeltaPipeline._rows_to_table

    def counted(self, rows):
        sizes.append(len(rows))
        return convert(self, rows)

    monkeypatch.setattr(DeltaPipeline, "_rows_to_table", counted)
    return sizes


def test_pages_are_converted_a_chunk_at_a_time(tmp_path, monkeypatch):
    sizes = _conversions(monkeypatch)
    pages = [[{"id": p * 100 + i, "v": f"r{i}"} for i in range(100)] for p in range(60)]
    commits = []
    run(tmp_path / "t", pages, commits=commits, batch_rows=3000)
    # the first page alone (to learn the row size), then chunks of up to 2,000 rows,
    # never across a commit: far fewer Arrow conversions than pages
    assert sizes == [100, 2000, 900, 2000, 1000]
    assert [c.rows for c in commits] == [3000, 3000]
    assert len(rows(tmp_path / "t")) == 6000


def test_a_chunk_of_large_rows_stays_a_fraction_of_batch_bytes(tmp_path, monkeypatch):
    sizes = _conversions(monkeypatch)
    big = "x" * 10_000
    pages = [[{"id": p * 10 + i, "v": big} for i in range(10)] for p in range(20)]
    pipe = DeltaPipeline(
        str(tmp_path / "t"),
        response(pages),
        mode="merge",
        batch_bytes=1_000_000,
    )
    result = pipe.run()
    # ~10 KB a row: a chunk is at most 1 MB / 8 of rows (12), so one 10-row page at a time
    assert sizes == [10] * 20
    assert result.rows == 200 and len(rows(tmp_path / "t")) == 200
