"""Delta tables on S3 (moto's server): the same replace/merge/append semantics as local
folders, credentials from the environment, and concurrent writers."""

from __future__ import annotations

import threading

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from runtime.state.store import StateStore
from runtime.delta.storage import parse_destination
from runtime.sync import run_schema

from .conftest import BUCKET
from .fakes import PagedSource, rows


def sync(source, dest, store, **kwargs):
    return run_schema(
        source,
        {"page_size": 2},
        "events",
        dest=dest.uri,
        source_name="paged",
        store=store,
        storage_options=dest.storage_options,
        batch_rows=2,
        **kwargs,
    )


def table(dest) -> list[dict]:
    data = DeltaTable(
        dest.table_uri("paged", "events"), storage_options=dest.storage_options
    )
    return sorted(
        data.to_pyarrow_table().to_pylist(), key=lambda r: (r["id"], r["value"])
    )


def destination(tmp_path, s3, name="wh"):
    dest = parse_destination(f"s3://{BUCKET}/{tmp_path.name}/{name}")
    assert (
        dest.storage_options["AWS_ENDPOINT_URL"] == s3["AWS_ENDPOINT_URL"]
    )  # from the env
    return dest


def test_append_on_s3_adds_only_new_rows(s3, tmp_path):
    dest = destination(tmp_path, s3)
    store = StateStore(tmp_path / "s.db")
    source = PagedSource(rows(5))
    assert sync(source, dest, store).mode == "append"
    source.rows += rows(3, start=6)
    assert sync(source, dest, store).rows == 3
    assert [r["id"] for r in table(dest)] == list(range(1, 9))


def test_merge_on_s3_updates_by_key(s3, tmp_path):
    dest = destination(tmp_path, s3)
    store = StateStore(tmp_path / "s.db")
    source = PagedSource(rows(4), pk=["id"])
    assert sync(source, dest, store).mode == "merge"
    source.rows = (
        rows(4) + [{"id": 2, "updated": 9, "value": "changed"}] + rows(1, start=10)
    )
    sync(source, dest, store)
    assert [(r["id"], r["value"]) for r in table(dest)] == [
        (1, "v1"),
        (2, "changed"),
        (3, "v3"),
        (4, "v4"),
        (10, "v10"),
    ]


def test_replace_on_s3_drops_rows_gone_from_the_source(s3, tmp_path):
    dest = destination(tmp_path, s3)
    store = StateStore(tmp_path / "s.db")
    source = PagedSource(rows(5), incremental=False)
    assert sync(source, dest, store).mode == "replace"
    source.rows = rows(2, start=7, tag="new")
    sync(source, dest, store)
    assert [(r["id"], r["value"]) for r in table(dest)] == [(7, "new7"), (8, "new8")]


def test_writers_of_different_tables_do_not_conflict(s3, tmp_path):
    errors: list[BaseException] = []
    dests = [destination(tmp_path, s3, f"wh{i}") for i in range(4)]

    def write(i: int) -> None:
        try:
            sync(
                PagedSource(rows(10, start=i * 100), pk=["id"]),
                dests[i],
                StateStore(tmp_path / f"s{i}.db"),
            )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for i, dest in enumerate(dests):
        assert [r["id"] for r in table(dest)] == list(range(i * 100, i * 100 + 10))


def test_concurrent_commits_to_one_table_never_overwrite_each_other(s3, tmp_path):
    """What the single-writer rule stands on: S3 conditional writes keep the Delta log
    whole even when two writers commit at once (a loser retries or gets a conflict)."""
    uri = f"s3://{BUCKET}/{tmp_path.name}/shared"
    options = parse_destination(uri).storage_options
    write_deltalake(uri, pa.table({"w": [0], "i": [0]}), storage_options=options)
    errors: list[BaseException] = []

    def append(w: int) -> None:
        for i in range(8):
            try:
                write_deltalake(
                    uri,
                    pa.table({"w": [w], "i": [i]}),
                    mode="append",
                    storage_options=options,
                )
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    data = DeltaTable(uri, storage_options=options)
    landed = data.to_pyarrow_table().num_rows - 1
    assert landed == 16 - len(errors)  # every commit that succeeded is in the table
    assert data.version() == landed
