"""Write a `SourceResponse` into a Delta Lake table, one bounded batch at a time.

Why it looks like this:
- Items (pages) are turned into Arrow a chunk of pages at a time (one array per column per
  chunk, not per page) and buffered until `batch_rows` or `batch_bytes`; batches end on item
  boundaries, so the resume state the source saved before yielding a page is committed
  together with that page. Memory stays one batch + one chunk.
  Inside a batch the next page is fetched on a thread while the current one is converted
  (`runtime.read.prefetch`); never across a commit, so no state runs ahead of its rows.
- Merge and append runs commit each batch; a replace stages each batch as data files and
  commits them all at the end in one overwrite (`runtime.delta.staging`), so readers never
  see a partial table.
- Column types are fixed once: the existing table's type wins (a declared type that differs
  is an error naming `--full-refresh`; a replace starts from the declared types), then the
  declared `columns`, then a type inferred from the first non-null values. Values are
  converted to that type (`"42"` -> 42 in an int64 column, ISO text -> a UTC timestamp); a
  value that does not fit is null in its column and keeps its raw text in the row's
  `_gen_source_unparsed` column (counted per column), never dropped and never an error.
  Undeclared fields are kept; a field that has been null everywhere so far gets its column
  (and type) when its first value arrives.
- Nothing volatile is added: re-syncing identical data rewrites identical rows.

The value conversions themselves (shared with the webhook merge) live in `runtime.delta.columns`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, repeat
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake

from runtime.delta.columns import (
    Unfit,
    arrow_type,
    coercer,
    earlier_value,
    fast_array,
    infer_type,
    later_value,
    logical_of_arrow,
    partition_value,
    raw_text,
)
from runtime.delta.staging import StagedReplace, new_run_id
from runtime.heap import frozen_heap, system_arrow_pool
from runtime.read.prefetch import ReadAhead
from runtime.source.sources import SourceResponse

PARTITION_COLUMN = "_partition"
# JSON per row: column -> the raw text of a value that did not fit the column's type
UNPARSED_COLUMN = "_gen_source_unparsed"
_ROW_INDEX = "__gen_source_row__"


class ColumnTypeError(ValueError):
    """A value that does not fit its column's fixed type (one line, names the column)."""


class PrimaryKeyError(ValueError):
    """Rows without a usable primary key value (one line, names the key)."""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class CommitInfo:
    """Passed to `on_commit` right after a batch is in the table."""

    batch: int  # 1-based
    rows: int  # rows in this batch (after de-duplicating keys)
    total_rows: int
    items: int  # items read from the source so far
    version: int | None  # Delta table version of this commit (None: a staged batch)
    incremental_max: Any = None  # of the incremental field over this batch's rows
    incremental_min: Any = None
    staged: dict | None = None  # a replace's staged files so far (persist to resume)


@dataclass
class PipelineResult:
    table_uri: str
    mode: str
    resumed: bool
    rows: int = 0
    batches: int = 0
    items: int = 0
    version: int | None = None
    columns: list[str] = field(default_factory=list)
    incremental_max: Any = None
    incremental_min: Any = None
    unparsed: dict[str, int] = field(default_factory=dict)  # column -> values as text
    undeclared: list[str] = field(default_factory=list)  # kept, not declared


class KeyIndex:
    """The primary keys a run has written, as sorted 64-bit hashes (8 bytes a row, so a
    million rows cost 8 MB). A hash collision only sends a batch through a merge."""

    def __init__(self) -> None:
        self._chunks: list[
            np.ndarray
        ] = []  # sorted, each at most half the size of the one before

    @staticmethod
    def hashes(table: pa.Table, keys: list[str]) -> np.ndarray:
        """Python's own 64-bit hash of each row's key (a C loop; equal keys always hash
        equal). Its seed differs per process, which is fine: the index lives and dies
        with one run and is never saved."""
        columns = [table.column(k).to_pylist() for k in keys]
        values = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        try:
            hashed = np.fromiter(map(hash, values), dtype=np.int64, count=len(values))
        except TypeError:  # a list-typed key: hash its text
            texts = map(repr, values)
            hashed = np.fromiter(map(hash, texts), dtype=np.int64, count=len(values))
        return hashed.view(np.uint64)

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self._chunks)

    def overlaps(self, hashes: np.ndarray) -> bool:
        for chunk in self._chunks:
            at = np.searchsorted(chunk, hashes).clip(max=len(chunk) - 1)
            if (chunk[at] == hashes).any():
                return True
        return False

    def add(self, hashes: np.ndarray) -> None:
        """Keep a few sorted chunks, merging like a log-structured index: amortised
        O(n log n) in all, where re-sorting one array per batch is quadratic."""
        chunk = np.sort(hashes)
        while self._chunks and len(self._chunks[-1]) <= 2 * len(chunk):
            chunk = np.sort(np.concatenate([self._chunks.pop(), chunk]), kind="stable")
        self._chunks.append(chunk)


def read_table(table_uri: str, storage_options: dict | None = None) -> pa.Table:
    return DeltaTable(table_uri, storage_options=storage_options).to_pyarrow_table()


def quote_column(name: str) -> str:
    """A column name as delta-rs SQL predicates expect it (backticks; any other character
    is fine, a backtick itself cannot be quoted)."""
    if "`" in name:
        raise PrimaryKeyError(
            f"primary key column {name!r} contains a backtick; cannot merge on it"
        )
    return f"`{name}`"


def _as_wire(value: Any, incremental_type: str | None) -> Any:
    """A typed watermark as the API writes it: epoch seconds for integer fields, else
    ISO text (watermarks are stored as JSON)."""
    if isinstance(value, datetime):
        if incremental_type in ("integer", "timestamp") and not value.microsecond:
            return int(value.timestamp())
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row_count(item: Any) -> int:
    """The rows an item will add to a batch, before converting."""
    if isinstance(item, list):
        return len(item)
    if isinstance(item, pa.Table | pa.RecordBatch):
        return item.num_rows
    return 1


def _key_texts(table: pa.Table, keys: list[str]) -> pa.Array:
    """One exact, comparable value per row for its primary key."""
    if len(keys) == 1:
        return table.column(keys[0]).combine_chunks()
    columns = [table.column(k).to_pylist() for k in keys]
    return pa.array([repr(row) for row in zip(*columns, strict=True)], pa.string())


# ---------------------------------------------------------------- the pipeline

_CHUNK_ROWS = 2000


@dataclass
class _Batch:
    """What `run` holds between commits: converted pages, rows not yet converted, and
    the counts that decide when to commit."""

    pages: list[pa.Table] = field(default_factory=list)
    pending: list[dict] = field(default_factory=list)
    rows: int = 0  # rows taken into this batch (converted or pending)
    bytes: int = 0  # Arrow bytes of the converted pages
    read: int = 0  # rows of the batches already committed

    def add(self, page: pa.Table) -> None:
        self.pages.append(page)
        self.bytes += page.nbytes


class DeltaPipeline:
    """Consume `response.items()` and write it to `table_uri`.

    mode: `replace` (batches are staged as data files and committed together as one
    overwrite at the end, see `runtime.delta.staging`), `merge` (upsert on the primary
    key, one commit per batch) or `append`. `resume=True` continues an interrupted run:
    a merge merges its first batch (it may repeat the last page read before); a replace
    continues the `staged` files it is given."""

    def __init__(
        self,
        table_uri: str,
        response: SourceResponse,
        *,
        mode: Literal["replace", "merge", "append"],
        resume: bool = False,
        storage_options: dict | None = None,
        batch_rows: int = 5000,
        batch_bytes: int = 200 * 2**20,
        on_commit: Callable[[CommitInfo], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        staged: StagedReplace | None = None,
    ) -> None:
        if mode not in ("replace", "merge", "append"):
            raise ValueError(
                f"{table_uri}: mode must be replace|merge|append, got {mode!r}"
            )
        self.table_uri = table_uri
        self.response = response
        self.mode = mode
        self.resume = resume
        self.storage_options = storage_options
        self.batch_rows = batch_rows
        self.batch_bytes = batch_bytes
        self.on_commit = on_commit
        self.on_progress = on_progress
        self.keys = list(response.primary_keys or [])
        if mode == "merge" and not self.keys:
            raise PrimaryKeyError(
                f"{table_uri}: merge needs primary_keys on the response"
            )
        self._dt: DeltaTable | None = self._open()
        self._staged: StagedReplace | None = None
        if mode == "replace":
            self._staged = staged or StagedReplace(
                table_uri, new_run_id(), storage_options=storage_options
            )
        self._retired: list[str] = []  # staged files to delete once the list is saved
        self._row_bytes = 0  # Arrow bytes per row of the last converted chunk
        # A fresh load (a new table, or a replace run) holds only this run's rows, so batches
        # are appended, not merged: a merge rescans the whole table each time (time and memory
        # growing with the table). `_seen` remembers this run's keys (8-byte hashes) so a key
        # repeated across batches still goes through a merge; after a resume the first batch
        # is merged, since it may repeat the page read last before the interruption.
        self._fresh = (
            bool(self.keys)
            and mode != "append"
            and (self._dt is None or mode == "replace")
        )
        self._seen = KeyIndex()
        self._merge_first = resume and mode != "replace"
        # column -> logical type, in table column order; its Arrow type; where it came from
        self._types: dict[str, str] = {}
        self._arrow: dict[str, pa.DataType] = {}
        self._origin: dict[str, str] = {}
        self.unparsed: dict[str, int] = {}  # column -> values that did not fit its type
        # Fields the server sent that the catalog does not declare (kept as new columns;
        # `_`-prefixed ones are the connector's own, such as a fan-out parent's key).
        self._declared = {c.name for c in response.columns}
        self.undeclared: dict[str, None] = {}
        self._partition_by = self._choose_partitioning()
        self._seed_types()
        if self._staged is not None and self.keys:
            for entry in self._staged.files:
                keys = self._staged.read(entry, self.keys)
                self._seen.add(self._seen.hashes(keys, self.keys))

    # -- setup

    @staticmethod
    def open_table(uri: str, storage_options: dict | None) -> DeltaTable | None:
        if DeltaTable.is_deltatable(uri, storage_options=storage_options):
            return DeltaTable(uri, storage_options=storage_options)
        return None

    def _open(self) -> DeltaTable | None:
        return self.open_table(self.table_uri, self.storage_options)

    @property
    def staged(self) -> StagedReplace | None:
        """A replace's staged files (None in other modes)."""
        return self._staged

    def _choose_partitioning(self) -> list[str]:
        r = self.response
        wanted = [PARTITION_COLUMN] if r.partition_keys and r.partition_mode else []
        if self._dt is None or self.mode == "replace":
            return wanted
        return list(self._dt.metadata().partition_columns)

    def _seed_types(self) -> None:
        """A replace starts from its own staged files (never the table it replaces);
        other modes from the table."""
        if self._staged is not None:
            fields = [f for e in self._staged.files for f in self._staged.schema_of(e)]
        elif self._dt is not None:
            fields = list(pa.schema(self._dt.schema().to_arrow()))
        else:
            fields = []
        for f in fields:
            if f.name in self._types or (
                f.name == PARTITION_COLUMN and f.name in self._partition_by
            ):
                continue
            self._add(f.name, logical_of_arrow(f.type) or "arrow", "table", f.type)
        for col in self.response.columns:
            if col.name in self._types and col.type == "json":
                if self._types[col.name] == "string":
                    self._types[col.name] = "json"  # same storage; scalars as JSON
            if col.name in self._types:
                self._check_declared(col.name, col.type)
                continue
            if arrow_type(col.type) is None:
                raise ColumnTypeError(
                    f"{self.table_uri}: column {col.name!r} has unknown type {col.type!r}"
                )
            self._add(col.name, col.type, "declared")

    def _check_declared(self, name: str, declared: str) -> None:
        """A table column whose type differs from the declared one is an error, never a
        silent cast (string holds json as is)."""
        have = self._types[name]
        if have == declared or (have, declared) == ("string", "json"):
            return
        if have in ("string", "int64") and declared in ("timestamp", "date"):
            raise ColumnTypeError(
                f"{self.table_uri}: written before typed columns ({name!r} is {have},"
                f" now {declared}); sync it once with --full-refresh to rewrite it"
            )
        raise ColumnTypeError(
            f"{self.table_uri}: column {name!r} is {have} in the table but the catalog"
            f" declares {declared}; sync with --full-refresh to rewrite the table"
        )

    def _add(
        self, name: str, logical: str, origin: str, arrow: pa.DataType | None = None
    ) -> None:
        self._types[name] = logical
        self._arrow[name] = arrow if arrow is not None else arrow_type(logical)
        self._origin[name] = origin

    # -- converting items

    def _coerce_column(
        self, name: str, values: list[Any], unparsed: dict[int, dict]
    ) -> pa.Array:
        """The column's values as its type. A value that does not fit becomes null here
        and keeps its raw text in `unparsed` (row -> column -> text), counted per
        column."""
        logical = self._types[name]
        if logical == "arrow":  # a type only an existing table has: let Arrow cast
            return pa.array(values).cast(self._arrow[name])
        fast = fast_array(logical, values, self._arrow[name])
        if fast is not None:
            return fast
        coerce = coercer(logical)
        out = []
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
                continue
            try:
                out.append(coerce(v))
            except Unfit:
                out.append(None)
                unparsed.setdefault(i, {})[name] = raw_text(v)
                self.unparsed[name] = self.unparsed.get(name, 0) + 1
        return pa.array(out, type=self._arrow[name])

    def _note_undeclared(self, names) -> None:
        if self._declared:
            for name in names:
                if name not in self._declared and not name.startswith("_"):
                    self.undeclared.setdefault(name)

    def _unparsed_column(self, unparsed: dict[int, dict], n: int) -> pa.Array:
        if UNPARSED_COLUMN not in self._types:
            self._add(UNPARSED_COLUMN, "string", "system")
        texts = [
            json.dumps(unparsed[i], ensure_ascii=False, sort_keys=True)
            if i in unparsed
            else None
            for i in range(n)
        ]
        return pa.array(texts, pa.string())

    def _rows_to_table(self, rows: list[dict]) -> pa.Table | None:
        for row in rows:
            if not isinstance(row, dict):
                raise TypeError(
                    f"{self.table_uri}: items must yield dicts, got {type(row).__name__}"
                )
        names = dict.fromkeys(chain.from_iterable(rows))  # every field, in order seen
        self._note_undeclared(names)
        arrays: dict[str, pa.Array] = {}
        deferred = []
        unparsed: dict[int, dict] = {}
        for name in names:
            values = list(map(dict.get, rows, repeat(name)))
            if name not in self._types:
                logical = infer_type(values)
                if logical is None:
                    deferred.append(name)
                    continue
                self._add(name, logical, "inferred")
            arrays[name] = self._coerce_column(name, values, unparsed)
        if unparsed:
            arrays[UNPARSED_COLUMN] = self._unparsed_column(unparsed, len(rows))
        return self._keep_rows(arrays, len(rows), deferred)

    def _conform_table(self, table: pa.Table) -> pa.Table | None:
        arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
        deferred = []
        unparsed: dict[int, dict] = {}
        self._note_undeclared(table.column_names)
        for name, column in zip(table.column_names, table.columns, strict=True):
            if name not in self._types:
                logical = logical_of_arrow(column.type) or infer_type(
                    column.to_pylist()
                )
                if logical is None:
                    deferred.append(name)
                    continue
                self._add(name, logical, "inferred")
            same = column.type == self._arrow[name] and self._types[name] != "json"
            arrays[name] = (
                column
                if same
                else self._coerce_column(name, column.to_pylist(), unparsed)
            )
        if unparsed:
            arrays[UNPARSED_COLUMN] = self._unparsed_column(unparsed, table.num_rows)
        return self._keep_rows(arrays, table.num_rows, deferred)

    def _keep_rows(self, arrays: dict, n: int, deferred: list[str]) -> pa.Table | None:
        """A page whose fields are all still-untyped nulls keeps its rows: through a known
        column if there is one, else by typing the first such field as string."""
        if not arrays and n:
            if not self._types and deferred:
                self._add(deferred[0], "string", "inferred")
            if self._types:
                name = next(iter(self._types))
                arrays[name] = pa.nulls(n, self._arrow[name])
        return pa.table(arrays) if arrays else None

    def _to_arrow(self, item: Any) -> pa.Table | None:
        if isinstance(item, pa.RecordBatch):
            item = pa.Table.from_batches([item])
        if isinstance(item, pa.Table):
            return self._conform_table(item) if item.num_rows else None
        raise TypeError(
            f"{self.table_uri}: items must yield dicts, lists of dicts or Arrow tables,"
            f" got {type(item).__name__}"
        )

    # -- batches

    def _complete(self, pages: list[pa.Table]) -> pa.Table:
        table = pa.concat_tables(pages, promote_options="default")
        arrays = []
        for name in self._types:
            if name in table.column_names:
                arrays.append(table.column(name))
            else:
                arrays.append(pa.nulls(table.num_rows, self._arrow[name]))
        table = pa.Table.from_arrays(arrays, names=list(self._types))
        if PARTITION_COLUMN in self._partition_by:
            table = table.append_column(PARTITION_COLUMN, self._partitions(table))
        return self._dedupe(table) if self.keys else table

    def _partitions(self, table: pa.Table) -> pa.Array:
        keys = [
            k for k in self.response.partition_keys or [] if k in table.column_names
        ]
        if not keys:
            return pa.nulls(table.num_rows, pa.string())
        r = self.response
        if len(keys) == 1 and r.partition_mode == "datetime":
            column = table.column(keys[0])
            if pa.types.is_timestamp(column.type):  # typed: one vectorised step
                fmt = "%G-w%V" if r.partition_format == "week" else "%Y-%m"
                utc = column.cast(pa.timestamp("us", tz="UTC"))
                return pc.strftime(utc, format=fmt).combine_chunks()
        columns = [table.column(k).to_pylist() for k in keys]
        values = []
        for i in range(table.num_rows):
            value = next((c[i] for c in columns if c[i] is not None), None)
            values.append(partition_value(self.response, value))
        return pa.array(values, pa.string())

    def _dedupe(self, table: pa.Table) -> pa.Table:
        for key in self.keys:
            if key not in table.column_names:
                raise PrimaryKeyError(
                    f"{self.table_uri}: primary key {key!r} is in no row"
                )
            nulls = table.column(key).null_count
            if nulls:
                raise PrimaryKeyError(
                    f"{self.table_uri}: primary key {key!r} is null in {nulls} row(s)"
                )
        indexed = table.append_column(
            _ROW_INDEX, pa.array(range(table.num_rows), pa.int64())
        )
        last = indexed.group_by(self.keys, use_threads=False).aggregate(
            [(_ROW_INDEX, "max")]
        )
        if last.num_rows == table.num_rows:
            return table
        keep = pc.sort_indices(last.column(f"{_ROW_INDEX}_max"))
        return table.take(pc.take(last.column(f"{_ROW_INDEX}_max"), keep))

    def _write(self, table: pa.Table) -> int | None:
        if self._staged is not None:
            self._stage(table)
            return None
        common = {"storage_options": self.storage_options}
        if self._dt is None:
            write_deltalake(
                self.table_uri,
                table,
                mode="append",
                partition_by=self._partition_by or None,
                schema_mode="merge",
                **common,
            )
            self._merge_first = False
            if self._fresh:
                self._seen.add(self._seen.hashes(table, self.keys))
            if self._dt is None:
                self._dt = DeltaTable(
                    self.table_uri, storage_options=self.storage_options
                )
        elif self.keys and self.mode != "append" and not self._appendable(table):
            predicate = " AND ".join(
                f"t.{quote_column(k)} = s.{quote_column(k)}" for k in self.keys
            )
            self._dt.merge(
                table, predicate, source_alias="s", target_alias="t", merge_schema=True
            ).when_matched_update_all().when_not_matched_insert_all().execute()
        else:
            write_deltalake(
                self._dt,
                table,
                mode="append",
                partition_by=self._partition_by or None,
                schema_mode="merge",
                **common,
            )
        self._dt.update_incremental()
        return self._dt.version()

    def _stage(self, table: pa.Table) -> None:
        """Write the batch as data files; rows of earlier staged batches whose key this
        batch repeats are rewritten out first (the newer row wins, as in a merge)."""
        if self.keys:
            hashes = self._seen.hashes(table, self.keys)
            if self._seen.overlaps(hashes):
                self._drop_staged_keys(table)
            self._seen.add(hashes)
        self._staged.batches += 1
        self._staged.write(table, self._partition_by, self._staged.batches)

    def _drop_staged_keys(self, table: pa.Table) -> None:
        wanted = _key_texts(table, self.keys)
        for n, entry in enumerate(list(self._staged.files)):
            old = self._staged.read(entry)
            keep = pc.invert(pc.is_in(_key_texts(old, self.keys), value_set=wanted))
            if pc.all(keep).as_py():
                continue
            self._staged.replace_file(
                entry, old.filter(keep), self._staged.batches + 1, n
            )
            self._retired.append(entry["path"])

    def _commit_staged(self) -> int | None:
        """The one commit of a replace: every staged file, as a new table version."""
        if self._types:
            fields = [pa.field(n, self._arrow[n]) for n in self._types]
            if PARTITION_COLUMN in self._partition_by:
                fields.append(pa.field(PARTITION_COLUMN, pa.string()))
            schema = pa.schema(fields)
        elif self._dt is not None:
            schema = pa.schema(self._dt.schema().to_arrow())
        else:
            return None  # nothing read, nothing declared, no table: nothing to make
        version = self._staged.commit(self._dt, schema, self._partition_by)
        self._dt = self._open()
        return version

    def _appendable(self, table: pa.Table) -> bool:
        """In a fresh load, a batch none of whose keys this run has written is appended."""
        hashes = self._seen.hashes(table, self.keys)
        repeat = self._merge_first or not self._fresh or self._seen.overlaps(hashes)
        self._merge_first = False
        self._seen.add(hashes)
        return not repeat

    def _bounds(self, table: pa.Table) -> tuple[Any, Any]:
        name = self.response.incremental_field
        if not name or name not in table.column_names:
            return None, None
        column = table.column(name)
        if self._types.get(name) in ("timestamp", "date"):  # typed: compare as instants
            if column.null_count == len(column):
                return None, None
            bounds = pc.min_max(column).as_py()
            wire = self.response.incremental_field_type
            return _as_wire(bounds["max"], wire), _as_wire(bounds["min"], wire)
        top = low = None
        for value in table.column(name).to_pylist():
            if isinstance(value, datetime | date):  # watermarks are stored as JSON
                value = value.isoformat()
            if value is not None:
                top, low = later_value(top, value), earlier_value(low, value)
        return top, low

    # -- run

    def run(self) -> PipelineResult:
        system_arrow_pool()
        with frozen_heap():
            return self._run()

    def _run(self) -> PipelineResult:
        result = PipelineResult(self.table_uri, self.mode, self.resume)
        batch = _Batch()
        items = ReadAhead(self.response.items())
        try:
            for item in items:
                result.items += 1
                rows = _row_count(item)
                # The next item is fetched while this one is converted only when no
                # commit can come first: advancing the source saves its resume state,
                # which a commit would persist before that item's rows are written.
                if batch.rows + rows < self.batch_rows and not self._full(batch):
                    items.read_ahead()
                self._take(item, batch)
                batch.rows += rows
                if self.on_progress is not None:
                    self.on_progress(batch.read + batch.rows, result.items)
                full = self._full(batch) and not items.ahead
                if batch.rows >= self.batch_rows or full:
                    self._commit(self._pages(batch), result)
                    batch.read += batch.rows
                    batch.rows = 0
        finally:
            items.close()
        if batch.rows:
            self._commit(self._pages(batch), result)
        if self._staged is not None:
            result.version = self._commit_staged()
            result.incremental_max = self._staged.top
            result.incremental_min = self._staged.low
        elif result.batches == 0:
            self._write_empty()
        result.unparsed = dict(self.unparsed)
        result.undeclared = list(self.undeclared)
        result.columns = list(self._types) + (
            [PARTITION_COLUMN] if PARTITION_COLUMN in self._partition_by else []
        )
        if self._staged is None:
            result.version = self._dt.version() if self._dt is not None else None
        return result

    # Rows from dict items are converted a chunk of pages at a time: one Arrow array per
    # column for many pages costs a fraction of one per page. A chunk is at most
    # `_CHUNK_ROWS` rows and at most an eighth of `batch_bytes` by the Arrow size per row
    # seen so far (the first page is converted alone to learn it), or one page when a
    # page alone is more.
    def _take(self, item: Any, batch: _Batch) -> None:
        if isinstance(item, dict):
            item = [item]
        if not isinstance(item, list):
            self._convert(batch)
            page = self._to_arrow(item)
            if page is not None:
                batch.add(page)
            return
        limit = _CHUNK_ROWS
        if self._row_bytes:
            limit = max(1, min(limit, self.batch_bytes // 8 // self._row_bytes))
        if len(batch.pending) + len(item) > limit:
            self._convert(batch)
        batch.pending.extend(item)
        if not self._row_bytes or len(batch.pending) >= limit:
            self._convert(batch)

    def _convert(self, batch: _Batch) -> None:
        if not batch.pending:
            return
        rows, batch.pending = batch.pending, []
        page = self._rows_to_table(rows)
        if page is not None:
            batch.add(page)
            self._row_bytes = max(1, page.nbytes // max(1, page.num_rows))

    def _full(self, batch: _Batch) -> bool:
        pending = len(batch.pending) * (self._row_bytes or 0)
        return batch.bytes + pending >= self.batch_bytes

    def _pages(self, batch: _Batch) -> list[pa.Table]:
        self._convert(batch)
        pages, batch.pages, batch.bytes = batch.pages, [], 0
        return pages

    def _commit(self, pages: list[pa.Table], result: PipelineResult) -> None:
        table = self._complete(pages)
        version = self._write(table)
        top, low = self._bounds(table)
        result.rows += table.num_rows
        result.batches += 1
        result.incremental_max = later_value(result.incremental_max, top)
        result.incremental_min = earlier_value(result.incremental_min, low)
        if self._staged is not None:
            self._staged.top = later_value(self._staged.top, top)
            self._staged.low = earlier_value(self._staged.low, low)
        if self.on_commit is not None:
            self.on_commit(
                CommitInfo(
                    batch=result.batches,
                    rows=table.num_rows,
                    total_rows=result.rows,
                    items=result.items,
                    version=version,
                    incremental_max=top,
                    incremental_min=low,
                    staged=self._staged.to_json() if self._staged else None,
                )
            )
        if self._retired:  # the saved list no longer names them
            self._staged.delete(self._retired)
            self._retired = []

    def _write_empty(self) -> None:
        """A new table with declared columns is created empty so it can be queried (a
        replace that read nothing commits an empty version instead)."""
        if not self._types or self._dt is not None:
            return
        self._write(self._complete([pa.table({})]))
