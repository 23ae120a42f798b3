"""A fresh load appends its batches instead of merging them (a merge rescans the whole
table: time and memory grow with it), yet a key repeated across batches, or the page re-read
after a resume, still lands exactly once."""

import numpy as np
import pyarrow as pa
from deltalake import DeltaTable

from runtime.delta.writer import DeltaPipeline, KeyIndex
from runtime.source.sources import SourceResponse


def pages_of(ids_per_page):
    return [[{"id": f"r{i}", "v": i} for i in ids] for ids in ids_per_page]


def run(uri, pages, *, mode="merge", resume=False):
    response = SourceResponse(name="t", items=lambda: iter(pages), primary_keys=["id"])
    return DeltaPipeline(
        str(uri), response, mode=mode, resume=resume, batch_rows=2
    ).run()


def operations(uri) -> list[str]:
    return [h["operation"] for h in reversed(DeltaTable(str(uri)).history())]


def ids(uri) -> list[str]:
    return sorted(DeltaTable(str(uri)).to_pyarrow_table().column("id").to_pylist())


def test_a_new_table_is_loaded_by_appends_only(tmp_path):
    run(tmp_path / "t", pages_of([[1, 2], [3, 4], [5, 6]]))
    assert "MERGE" not in operations(tmp_path / "t")
    assert ids(tmp_path / "t") == [f"r{i}" for i in (1, 2, 3, 4, 5, 6)]


def test_a_key_repeated_in_a_later_batch_is_merged_not_duplicated(tmp_path):
    pages = pages_of([[1, 2], [3, 4], [4, 5]])
    pages[2][0]["v"] = 40
    run(tmp_path / "t", pages)
    assert operations(tmp_path / "t").count("MERGE") == 1
    table = DeltaTable(str(tmp_path / "t")).to_pyarrow_table().to_pylist()
    assert sorted(r["id"] for r in table) == ["r1", "r2", "r3", "r4", "r5"]
    assert {r["id"]: r["v"] for r in table}["r4"] == 40


def test_an_existing_table_is_merged_into(tmp_path):
    run(tmp_path / "t", pages_of([[1, 2]]))
    run(tmp_path / "t", pages_of([[2, 3]]))
    assert operations(tmp_path / "t")[-1] == "MERGE"
    assert ids(tmp_path / "t") == ["r1", "r2", "r3"]


def test_after_a_resume_the_first_batch_is_merged(tmp_path):
    run(tmp_path / "t", pages_of([[1, 2]]), mode="merge")
    # The interrupted run committed r1, r2; the resumed one re-reads that page first.
    run(tmp_path / "t", pages_of([[1, 2], [3, 4]]), mode="merge", resume=True)
    assert ids(tmp_path / "t") == ["r1", "r2", "r3", "r4"]
    assert operations(tmp_path / "t")[1] == "MERGE"


def test_key_index_finds_overlaps_by_value_and_stays_small():
    index = KeyIndex()
    first = index.hashes(pa.table({"id": [f"k{i}" for i in range(100_000)]}), ["id"])
    index.add(first)
    assert index.nbytes == 800_000
    assert not index.overlaps(index.hashes(pa.table({"id": ["new1", "new2"]}), ["id"]))
    assert index.overlaps(index.hashes(pa.table({"id": ["new1", "k99999"]}), ["id"]))
    assert index.hashes(pa.table({"a": [1], "b": ["x"]}), ["a", "b"]).dtype == np.uint64
