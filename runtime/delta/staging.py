"""A replace written as data files first and committed as one Delta version at the end.

Why: a replace that overwrote on its first batch exposed a partial table to every reader
until the run finished (and for good, when it was interrupted). Here each batch becomes
parquet files in the table's folder that no Delta version references yet; readers keep
seeing the previous version. The last step commits all of them in one overwrite.

- Files are named `part-<run>-<batch>-<n>.parquet` (in hive-style `_partition=<value>/`
  folders for partitioned tables), so a run's files can be found and removed by name.
- The caller persists `files` (with the source's resume position) after each batch; a
  resumed run continues from them. A run's files not in that list (written just before a
  crash) are removed when the run commits or is discarded.
- Vacuum: unreferenced files younger than the retention period (7 days by default) are
  left alone by `vacuum`, so staging is safe under the default; a resumed run checks its
  files are all still there and otherwise starts the replace again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from deltalake import DeltaTable, Schema
from deltalake.fs import DeltaStorageHandler
from deltalake.transaction import (
    AddAction,
    CommitProperties,
    create_table_with_add_actions,
)

RUN_KEY = "gen_source_replace"  # commit metadata: the run whose files a version holds
_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def _filesystem(
    table_uri: str, storage_options: dict | None
) -> tuple[pafs.FileSystem, str]:
    """A filesystem and the table's root in it."""
    if "://" not in table_uri or table_uri.startswith("file://"):
        return pafs.LocalFileSystem(), table_uri.removeprefix("file://").rstrip("/")
    handler = DeltaStorageHandler(table_uri, options=storage_options)
    return pafs.PyFileSystem(handler), ""


def _stats(table: pa.Table) -> str:
    """Row and null counts, plus min/max of integer and date columns (exact, so data
    skipping on them is safe)."""
    nulls, low, high = {}, {}, {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if not (pa.types.is_nested(column.type) or pa.types.is_dictionary(column.type)):
            nulls[name] = column.null_count
        exact = pa.types.is_integer(column.type) or pa.types.is_date32(column.type)
        if exact and column.null_count < len(column):
            bounds = pc.min_max(column).as_py()
            lo, hi = bounds["min"], bounds["max"]
            low[name] = lo.isoformat() if isinstance(lo, date) else lo
            high[name] = hi.isoformat() if isinstance(hi, date) else hi
    stats = {"numRecords": table.num_rows, "nullCount": nulls}
    if low:
        stats.update(minValues=low, maxValues=high)
    return json.dumps(stats, separators=(",", ":"))


class StagedReplace:
    """The files of one replace run. `files` entries are JSON: path (relative to the
    table), size, partition values, rows, stats."""

    def __init__(
        self,
        table_uri: str,
        run_id: str,
        files: Iterable[dict] = (),
        storage_options: dict | None = None,
        batches: int = 0,
        bounds: tuple = (None, None),
    ) -> None:
        self.table_uri = table_uri
        self.run_id = run_id
        self.files: list[dict] = [dict(f) for f in files]
        self.batches = batches  # batches staged so far (names the next file)
        self.top, self.low = (
            bounds  # incremental field's newest and oldest staged value
        )
        self.storage_options = storage_options
        self._fs, self._root = _filesystem(table_uri, storage_options)

    def to_json(self) -> dict:
        return {
            "run": self.run_id,
            "files": [dict(f) for f in self.files],
            "batches": self.batches,
            "bounds": [self.top, self.low],
        }

    @classmethod
    def from_json(
        cls, table_uri: str, data: dict, storage_options: dict | None = None
    ) -> StagedReplace:
        return cls(
            table_uri,
            data["run"],
            data.get("files", ()),
            storage_options,
            data.get("batches", 0),
            tuple(data.get("bounds") or (None, None)),
        )

    def _full(self, path: str) -> str:
        return f"{self._root}/{path}" if self._root else path

    # -- writing

    def write(self, table: pa.Table, partition_by: list[str], batch: int) -> list[dict]:
        """Write one batch (one file per partition value); returns the new entries."""
        groups: list[tuple[dict, pa.Table]] = []
        if partition_by:
            (column,) = partition_by
            values = table.column(column)
            data = table.drop_columns([column])
            for value in pc.unique(values).to_pylist():
                mask = pc.is_null(values) if value is None else pc.equal(values, value)
                groups.append(({column: value}, data.filter(mask)))
        else:
            groups.append(({}, table))
        written = []
        for n, (partition, part) in enumerate(groups):
            name = f"part-{self.run_id}-{batch:05d}-{n:03d}.snappy.parquet"
            folder = "/".join(
                f"{k}={_NULL_PARTITION if v is None else v}"
                for k, v in partition.items()
            )
            path = f"{folder}/{name}" if folder else name
            if folder or self._root:
                self._fs.create_dir(self._full(folder) if folder else self._root)
            with self._fs.open_output_stream(self._full(path)) as out:
                pq.write_table(part, out, compression="snappy")
            size = self._fs.get_file_info(self._full(path)).size
            written.append(
                {
                    "path": path,
                    "size": size,
                    "partition": partition,
                    "rows": part.num_rows,
                    "stats": _stats(part),
                }
            )
        self.files.extend(written)
        return written

    def read(self, entry: dict, columns: list[str] | None = None) -> pa.Table:
        return pq.read_table(
            self._full(entry["path"]), columns=columns, filesystem=self._fs
        )

    def schema_of(self, entry: dict) -> pa.Schema:
        with self._fs.open_input_file(self._full(entry["path"])) as f:
            return pq.read_schema(f)

    def replace_file(
        self, entry: dict, table: pa.Table, batch: int, seq: int
    ) -> dict | None:
        """Swap `entry` for a rewrite holding `table` (None when empty); the old file is
        returned to the caller to delete once the new list is persisted."""
        self.files.remove(entry)
        if not table.num_rows:
            return None
        name = f"part-{self.run_id}-{batch:05d}-r{seq:03d}.snappy.parquet"
        folder, _, _ = entry["path"].rpartition("/")
        path = f"{folder}/{name}" if folder else name
        with self._fs.open_output_stream(self._full(path)) as out:
            pq.write_table(table, out, compression="snappy")
        new = {
            **entry,
            "path": path,
            "rows": table.num_rows,
            "stats": _stats(table),
            "size": self._fs.get_file_info(self._full(path)).size,
        }
        self.files.append(new)
        return new

    # -- checking and cleaning

    def all_present(self) -> bool:
        if not self.files:
            return True
        infos = self._fs.get_file_info([self._full(f["path"]) for f in self.files])
        return all(i.type == pafs.FileType.File for i in infos)

    def _run_files(self) -> list[str]:
        """Paths (relative to the table) of every file this run has written."""
        selector = pafs.FileSelector(
            self._root or "", recursive=True, allow_not_found=True
        )
        marker = f"part-{self.run_id}-"
        found = []
        for info in self._fs.get_file_info(selector):
            if info.type != pafs.FileType.File or marker not in info.base_name:
                continue
            path = (
                info.path.removeprefix(self._root).lstrip("/")
                if self._root
                else info.path
            )
            if not path.startswith("_delta_log"):
                found.append(path)
        return found

    def delete(self, paths: Iterable[str]) -> None:
        for path in paths:
            try:
                self._fs.delete_file(self._full(path))
            except FileNotFoundError:
                pass

    def sweep(self) -> None:
        """Remove this run's files that are not in `files`."""
        keep = {f["path"] for f in self.files}
        self.delete(p for p in self._run_files() if p not in keep)

    def discard(self) -> None:
        """Remove every file of this run (a failed replace leaves nothing behind)."""
        self.files = []
        self.sweep()

    # -- committing

    def committed_in(self, table: DeltaTable | None) -> bool:
        """Whether the table's latest version is this run's commit."""
        if table is None:
            return False
        history = table.history(1)
        return bool(history) and history[0].get(RUN_KEY) == self.run_id

    def commit(
        self, table: DeltaTable | None, schema: pa.Schema, partition_by: list[str]
    ) -> int:
        """One Delta version holding exactly the staged files (an overwrite)."""
        now = int(time.time() * 1000)
        actions = [
            AddAction(f["path"], f["size"], f["partition"], now, True, f["stats"])
            for f in self.files
        ]
        props = CommitProperties(custom_metadata={RUN_KEY: self.run_id})
        same_layout = (
            table is not None
            and list(table.metadata().partition_columns) == partition_by
        )
        if same_layout:
            table.create_write_transaction(
                actions,
                mode="overwrite",
                schema=schema,
                partition_by=partition_by or None,
                commit_properties=props,
            )
        else:  # a new table, or one whose partitioning changes
            create_table_with_add_actions(
                self.table_uri,
                Schema.from_arrow(schema),
                actions,
                mode="overwrite",
                partition_by=partition_by or None,
                storage_options=self.storage_options,
                commit_properties=props,
            )
        self.sweep()
        done = DeltaTable(self.table_uri, storage_options=self.storage_options)
        return done.version()
