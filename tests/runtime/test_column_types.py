"""Typed columns: conversions of one value, the vectorised paths agreeing with them, and the
week partitions of timestamp keys."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from runtime.catalog import Column

from runtime.delta.columns import (
    TIMESTAMP,
    Unfit,
    arrow_type,
    convert,
    datetime_bucket,
    fast_array,
)

T = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_timestamps_from_iso_text_epoch_seconds_and_offsets():
    assert convert("2024-01-02T03:04:05Z", "timestamp") == T
    assert convert("2024-01-01T22:04:05-05:00", "timestamp") == T
    assert convert(int(T.timestamp()), "timestamp") == T
    assert convert(str(int(T.timestamp())), "timestamp") == T
    for bad in ("yesterday", True, {"a": 1}):
        with pytest.raises(Unfit):
            convert(bad, "timestamp")


def test_vectorised_paths_match_the_one_value_conversions():
    texts = ["2024-01-02T03:04:05Z", None, "2024-01-02T03:04:05.123456+00:00"]
    fast = fast_array("timestamp", texts, TIMESTAMP)
    assert fast.to_pylist() == [
        None if t is None else convert(t, "timestamp") for t in texts
    ]
    ints = [int(T.timestamp()), None]
    assert fast_array("timestamp", ints, TIMESTAMP).to_pylist() == [T, None]
    assert (
        fast_array("timestamp", ["yesterday"], TIMESTAMP) is None
    )  # the slow path decides
    assert fast_array("date", ["2024-01-02"], pa.date32()).to_pylist() == [
        date(2024, 1, 2)
    ]


def test_dates_decimals_and_lists():
    assert convert("2024-01-02", "date") == date(2024, 1, 2)
    with pytest.raises(Unfit):
        convert("2024-01-02T03:04:05Z", "date")  # a time of day would be lost
    assert convert("12.50", "decimal(10,2)") == Decimal("12.50")
    assert arrow_type("decimal(10,2)") == pa.decimal128(10, 2)
    with pytest.raises(Unfit):
        convert("12.505", "decimal(10,2)")  # digits would be lost
    assert convert(["1", 2], "list<int64>") == [1, 2]
    assert arrow_type("list<string>") == pa.list_(pa.string())
    with pytest.raises(Unfit):
        convert("a,b", "list<string>")
    assert arrow_type("decimal(2,5)") is None and arrow_type("list<json>") is None


def test_timestamp_partitions_are_weeks():
    assert datetime_bucket(T, "week") == "2024-w01"
    assert datetime_bucket(int(T.timestamp()), "week") == "2024-w01"


def test_timestamp_partition_keys_are_bucketed_as_one_value_at_a_time_would(tmp_path):
    from runtime.delta.writer import DeltaPipeline, read_table
    from runtime.source.sources import SourceResponse

    times = [
        T,
        datetime(2020, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2021, 1, 3, tzinfo=UTC),
    ]
    rows = [{"id": i, "at": t.isoformat()} for i, t in enumerate(times)]
    for fmt in ("week", "month"):
        response = SourceResponse(
            name="t",
            items=lambda: iter([rows]),
            primary_keys=["id"],
            columns=[Column("id", "int64"), Column("at", "timestamp")],
            partition_keys=["at"],
            partition_mode="datetime",
            partition_format=fmt,
        )
        DeltaPipeline(str(tmp_path / fmt), response, mode="replace").run()
        got = sorted(read_table(str(tmp_path / fmt)).to_pylist(), key=lambda r: r["id"])
        assert [r["_partition"] for r in got] == [
            datetime_bucket(t, fmt) for t in times
        ]


def test_list_and_null_columns_take_the_fast_path_only_when_it_agrees():
    assert fast_array("json", [None, None], pa.string()).null_count == 2
    # JSON text in one pass: the same text the one-by-one conversion writes
    values = [{"a": 1, "b": [True, None, 2.5]}, None, ["x"], "text", 7, {"é": "ü"}]
    assert fast_array("json", values, pa.string()).to_pylist() == [
        None if v is None else convert(v, "json") for v in values
    ]
    # what orjson needs help with (a Decimal inside, an int beyond 64 bits): one by one
    assert fast_array("json", [{"n": Decimal("1.5")}], pa.string()) is None
    assert fast_array("json", [[2**70]], pa.string()) is None
    assert convert([2**70], "json") == f"[{2**70}]"
    locales = [["en-US", None], None, []]
    typed = pa.list_(pa.string())
    assert fast_array("list<string>", locales, typed).to_pylist() == locales
    assert locales == [
        None if v is None else convert(v, "list<string>") for v in locales
    ]
    # elements that need converting (1 -> "1", bytes) are left to the slow path
    assert fast_array("list<string>", [["a", 1]], typed) is None
    assert fast_array("list<string>", [[b"a"]], typed) is None
    assert fast_array("string", ["a", b"b"], pa.string()) is None
