"""Writing folded webhook changes into a Delta table in ONE commit.

One merge does everything: `when_matched_delete` for deletes, `when_matched_update` for
upserts (a partial upsert keeps the columns its event did not carry, through a per-column
presence flag), `when_not_matched_insert` for new rows. The commit carries a Delta
application transaction `(app_id, last event seq)`, so after a crash between the table commit
and the event store's bookkeeping, `DeltaTable.transaction_version(app_id)` tells which events
are already in the table and they are not applied a second time.

Values are coerced to the table's column types the way the pull pipeline writes them (objects
and lists as compact JSON text, declared `json` columns always JSON), so rows written by a pull
and by a webhook look the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from runtime.catalog import Column
from runtime.delta.columns import (
    ARROW_TYPES,
    arrow_type,
    convert,
    datetime_bucket,
    infer_type,
    logical_of_arrow,
)
from runtime.delta.writer import PARTITION_COLUMN, quote_column

OP = "__gen_source_op"
PRESENT = "__gen_source_has_{}"


class WebhookMergeError(ValueError):
    """A webhook value that does not fit its column (one line: table, column, why)."""


@dataclass
class Change:
    """The net effect of a table's events on one row key."""

    op: str  # upsert | delete
    fields: dict
    full: (
        bool  # True: columns the fields lack become null; False: they keep their value
    )
    version: tuple[float, int]  # (created, seq) of the newest event folded in
    partial_source: bool = (
        False  # built from partial payloads only (a fetch may complete it)
    )
    seqs: list[int] = field(default_factory=list)


def coerce(
    values: list[Any], typ: pa.DataType, *, as_json: bool, where: str
) -> pa.Array:
    logical = "json" if as_json else logical_of_arrow(typ)
    if logical is None:
        return pa.array(values).cast(typ)
    out = []
    for v in values:  # the pipeline's own conversions, so pulled and pushed rows agree
        try:
            out.append(None if v is None else convert(v, logical))
        except ValueError as why:
            raise WebhookMergeError(
                f"{where}: a {type(v).__name__} value is {why} ({typ} column)"
            ) from None
    return pa.array(out, typ)


@dataclass
class MergeOutcome:
    upserted: int = 0
    deleted: int = 0
    version: int | None = None


def write_changes(
    table_uri: str,
    dt: DeltaTable | None,
    changes: dict[str, Change],
    primary_key: Sequence[str],
    *,
    app_id: str,
    last_seq: int,
    columns: Sequence[Column] = (),
    partition_key: str | None = None,
    partition_format: str = "month",
    storage_options: dict | None = None,
) -> MergeOutcome:
    """Commit `changes` (one commit, tagged `(app_id, last_seq)`); creates the table if absent."""
    json_cols = {c.name for c in columns if c.type == "json"}
    existing: dict[str, pa.DataType] = {}
    if dt is not None:
        existing = {f.name: f.type for f in pa.schema(dt.schema().to_arrow())}
    rows = list(changes.values())
    upserts = [c for c in rows if c.op == "upsert"]
    deletes = [c for c in rows if c.op == "delete"]
    if dt is None:
        if not upserts:  # deleting from a table that does not exist yet changes nothing
            return MergeOutcome()
        rows, deletes = upserts, []
    names: dict[str, None] = dict.fromkeys(primary_key)
    for c in upserts:
        names.update(dict.fromkeys(k for k in c.fields if k != PARTITION_COLUMN))
    if any(c.full for c in upserts):
        # A full payload replaces the row: the vendor fields it lacks become null. Columns the
        # connector adds itself (`_partition`, parent keys like `_customer`) are not the vendor's
        # and keep their value.
        names.update(dict.fromkeys(k for k in existing if not k.startswith("_")))
    types = _column_types(names, rows, existing, columns, json_cols)
    arrays: dict[str, pa.Array] = {}
    for name, typ in types.items():
        where = f"{table_uri}: column {name!r}"
        arrays[name] = coerce(
            [c.fields.get(name) for c in rows],
            typ,
            as_json=name in json_cols,
            where=where,
        )
    partitioned = PARTITION_COLUMN in existing or (
        dt is None and partition_key is not None
    )
    if partitioned:
        values = [
            datetime_bucket(c.fields.get(partition_key), partition_format)
            if partition_key
            else None
            for c in rows
        ]
        arrays[PARTITION_COLUMN] = pa.array(values, pa.string())
    props = CommitProperties(
        app_transactions=[Transaction(app_id, last_seq)],
        custom_metadata={"gen_source.webhooks": f"{app_id}<= {last_seq}"},
    )
    if dt is None:
        write_deltalake(
            table_uri,
            pa.table(arrays),
            mode="append",
            commit_properties=props,
            partition_by=[PARTITION_COLUMN] if partitioned else None,
            storage_options=storage_options,
        )
        return MergeOutcome(
            upserted=len(rows),
            version=DeltaTable(table_uri, storage_options=storage_options).version(),
        )
    arrays[OP] = pa.array([c.op for c in rows], pa.string())
    updates: dict[str, str] = {}
    for i, name in enumerate(n for n in types if n not in primary_key):
        col = quote_column(name)
        if name in existing and any(
            not c.full and name not in c.fields for c in upserts
        ):
            flag = PRESENT.format(i)
            arrays[flag] = pa.array(
                [c.full or name in c.fields for c in rows], pa.bool_()
            )
            updates[name] = (
                f"CASE WHEN s.{quote_column(flag)} THEN s.{col} ELSE t.{col} END"
            )
        else:
            updates[name] = f"s.{col}"
    source = pa.table(arrays)
    predicate = " AND ".join(
        f"t.{quote_column(k)} = s.{quote_column(k)}" for k in primary_key
    )
    merger = dt.merge(
        source,
        predicate,
        source_alias="s",
        target_alias="t",
        commit_properties=props,
        merge_schema=any(n not in existing for n in types),
    )
    if deletes:
        merger = merger.when_matched_delete(
            predicate=f"s.{quote_column(OP)} = 'delete'"
        )
    if upserts:
        if updates:
            merger = merger.when_matched_update(
                updates=updates, predicate=f"s.{quote_column(OP)} = 'upsert'"
            )
        inserts = {n: f"s.{quote_column(n)}" for n in types}
        if partitioned:
            inserts[PARTITION_COLUMN] = f"s.{quote_column(PARTITION_COLUMN)}"
        merger = merger.when_not_matched_insert(
            updates=inserts, predicate=f"s.{quote_column(OP)} = 'upsert'"
        )
    metrics = merger.execute()
    dt.update_incremental()
    return MergeOutcome(
        upserted=metrics.get("num_target_rows_inserted", 0)
        + metrics.get("num_target_rows_updated", 0),
        deleted=metrics.get("num_target_rows_deleted", 0),
        version=dt.version(),
    )


def _column_types(
    names: dict[str, None],
    rows: list[Change],
    existing: dict[str, pa.DataType],
    columns: Sequence[Column],
    json_cols: set[str],
) -> dict[str, pa.DataType]:
    """Each written column's Arrow type: the table's, else the declared one, else inferred.
    A new column whose values are all null is left out (the pull adds it when it has values)."""
    declared = {c.name: arrow_type(c.type) for c in columns}
    out: dict[str, pa.DataType] = {}
    for name in names:
        if name in existing:
            out[name] = existing[name]
        elif declared.get(name) is not None:
            out[name] = declared[name]
        else:
            logical = infer_type(c.fields.get(name) for c in rows)
            if logical is not None:
                out[name] = ARROW_TYPES[logical]
                if logical == "json":
                    json_cols.add(name)
    return out
