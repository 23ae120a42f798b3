"""Run a source's schemas into Delta tables: the glue between source, state and pipeline.

Used by `gen-source sync` and later by a Temporal activity, so one schema is one call
(`run_schema`, raises on failure) and `run_sync` is the loop that records failures and goes on.

The ordering that keeps syncs loss-free: rows are committed to Delta first; then, in the
pipeline's `on_commit`, the source's resume position and the watermark are persisted. A crash
anywhere re-reads at most what the last commit already holds, and the primary-key merge
absorbs the repeat.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from runtime.delta.columns import earlier_value, later_value
from runtime.state.locks import table_lock
from runtime.delta.writer import CommitInfo, DeltaPipeline, PipelineResult
from runtime.progress import ProgressReporter, format_summary
from runtime.source.sources import (
    IncrementalField,
    ResumableSource,
    SourceInputs,
    SourceSchema,
    UnknownIncrementalField,
    pick_incremental_field,
)
from runtime.state.store import (
    RESUME_KIND,
    RUN_INPUTS_KIND,
    ResumableSourceManager,
    StateStore,
    Watermark,
)
from runtime.delta.storage import path_segment

log = logging.getLogger("gen_source.sync")


@dataclass
class SchemaResult:
    schema: str
    table_uri: str
    mode: str = ""
    rows: int = 0
    batches: int = 0
    pages: int = 0
    seconds: float = 0.0
    resumed: bool = False
    incremental: bool = False
    watermark: Watermark | None = None
    error: str | None = None
    non_retryable: bool = False  # the error matched the source's non-retryable list


@dataclass
class SyncSummary:
    results: list[SchemaResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.error is None for r in self.results)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.results)

    def table(self) -> str:
        return format_summary(self.results)


def _pick_field(schema: SourceSchema, name: str | None) -> IncrementalField | None:
    if not schema.supports_incremental or not schema.incremental_fields:
        if name is not None:
            raise UnknownIncrementalField(
                f"table {schema.name!r}: no incremental field {name!r} (offered: none)"
            )
        return None
    return pick_incremental_field(schema.name, schema.incremental_fields, name)


def _run_start(
    store: StateStore, source: str, schema: str, current: Watermark | None, resume: bool
) -> Watermark | None:
    """The incremental bounds to hand a resumable source. A resumed run gets the bounds its
    interrupted run started with: the saved position (an offset, a page number) only means
    something within the same filtered listing, and the watermark has moved since."""
    if current is None:
        return None
    saved = store.get(source, schema, RUN_INPUTS_KIND) if resume else None
    if saved is not None:
        return Watermark.from_json(saved)
    store.put(source, schema, RUN_INPUTS_KIND, current.to_json())
    return current


class _WatermarkKeeper:
    """Moves the watermark only over committed rows.

    Oldest-first (asc): `last` follows the newest committed value. Newest-first (desc): a
    backfill moves `earliest` down as it commits; the newest value seen waits in
    `pending_last` (persisted, so it survives a crash) and becomes `last` only when the run
    succeeds, since until then older rows may still be missing."""

    def __init__(
        self,
        store: StateStore,
        source: str,
        schema: str,
        field_name: str | None,
        incremental: bool,
        sort_mode: str,
        start: Watermark,
    ) -> None:
        self.store, self.source, self.schema = store, source, schema
        self.field = field_name
        self.incremental = incremental
        self.desc = sort_mode == "desc"
        self.mark = start

    def committed(self, info: CommitInfo) -> None:
        if not (self.incremental and self.field) or info.incremental_max is None:
            return
        mark = self.mark
        if self.desc:
            if not mark.backfill_complete:
                mark.earliest = earlier_value(mark.earliest, info.incremental_min)
            mark.pending_last = later_value(mark.pending_last, info.incremental_max)
        else:
            mark.last = later_value(mark.last, info.incremental_max)
            mark.earliest = earlier_value(mark.earliest, info.incremental_min)
        mark.field = self.field
        self.store.set_watermark(self.source, self.schema, mark)

    def finished(self, result: PipelineResult) -> None:
        if not self.field:
            return
        if self.incremental:
            mark = self.mark
            mark.last = later_value(mark.last, mark.pending_last)
            mark.pending_last = None
        else:  # a full read: everything up to its newest value is in the table now
            mark = Watermark(result.incremental_max, result.incremental_min)
        mark.backfill_complete = True
        mark.field = self.field
        self.mark = mark
        self.store.set_watermark(self.source, self.schema, mark)


def run_schema(
    source: Any,
    config: Any,
    schema_name: str,
    *,
    dest: str,
    source_name: str,
    store: StateStore,
    full_refresh: bool = False,
    job_id: str | None = None,
    logger: logging.Logger | None = None,
    progress: ProgressReporter | None = None,
    storage_options: dict | None = None,
    incremental_field: str | None = None,
    batch_rows: int = 5000,
) -> SchemaResult:
    """Sync one schema into `<dest>/<source_name>/<schema_name>`. Raises on failure (the
    committed part stays, and the next run resumes from it)."""
    logger = logger or log
    started = time.monotonic()
    if isinstance(config, dict):
        config = source.parse_config(config)
    schema = source.get_schema(config, schema_name)
    table_uri = f"{dest.rstrip('/')}/{path_segment('source', source_name)}/"
    table_uri += path_segment("schema", schema_name)
    inc = _pick_field(schema, incremental_field)
    incremental = inc is not None and not full_refresh
    if full_refresh:  # ignore (and drop) what earlier runs remembered
        store.clear_watermark(source_name, schema_name)
        store.delete(source_name, schema_name, RESUME_KIND)
        store.delete(source_name, schema_name, RUN_INPUTS_KIND)
    mark = store.get_watermark(source_name, schema_name)
    if inc is None or mark.field not in (None, inc.field):
        mark = Watermark()
    start = (
        Watermark(mark.last, mark.earliest, mark.backfill_complete)
        if incremental
        else None
    )
    inputs = SourceInputs(
        schema_name=schema_name,
        should_use_incremental_field=incremental,
        incremental_field=inc.field if inc else None,
        incremental_field_type=inc.field_type if inc else None,
        job_id=job_id,
        logger=logger,
        reset_pipeline=full_refresh,
        source_name=source_name,
        state_store=store,
    )
    manager: ResumableSourceManager | None = None
    resume = False
    if isinstance(source, ResumableSource):
        manager = source.get_resumable_source_manager(inputs)
        resume = manager.can_resume()
        start = _run_start(store, source_name, schema_name, start, resume)
    if start is not None:
        inputs.db_incremental_field_last_value = start.last
        inputs.db_incremental_field_earliest_value = start.earliest
        inputs.backfill_complete = start.backfill_complete
    if manager is not None:
        response = source.source_for_pipeline(config, manager, inputs)
    else:
        response = source.source_for_pipeline(config, inputs)
    if not response.primary_keys and schema.primary_key:
        response = replace(response, primary_keys=list(schema.primary_key))
    if inc is not None and not response.incremental_field:
        response = replace(response, incremental_field=inc.field)
    mode = (
        ("merge" if response.primary_keys else "append") if incremental else "replace"
    )
    keeper = _WatermarkKeeper(
        store,
        source_name,
        schema_name,
        response.incremental_field if inc else None,
        incremental,
        response.sort_mode,
        mark,
    )
    if progress is not None:
        progress.start_schema(schema_name, mode, total_rows=response.rows_to_sync)
    logger.info(
        "sync %s/%s: mode=%s incremental=%s resume=%s",
        source_name,
        schema_name,
        mode,
        incremental,
        resume,
    )

    def on_commit(info: CommitInfo) -> None:
        if manager is not None:
            manager.commit()
        keeper.committed(info)
        if progress is not None:
            progress.committed(info.batch)

    pipeline = DeltaPipeline(
        table_uri,
        response,
        mode=mode,
        resume=resume,
        storage_options=storage_options,
        batch_rows=batch_rows,
        on_commit=on_commit,
        on_progress=progress.update if progress is not None else None,
    )
    outcome = pipeline.run()
    keeper.finished(outcome)
    if manager is not None:
        manager.clear()
        store.delete(source_name, schema_name, RUN_INPUTS_KIND)
    result = SchemaResult(
        schema=schema_name,
        table_uri=table_uri,
        mode=mode,
        rows=outcome.rows,
        batches=outcome.batches,
        pages=outcome.items,
        seconds=time.monotonic() - started,
        resumed=resume,
        incremental=incremental,
        watermark=keeper.mark if inc else None,
    )
    if progress is not None:
        progress.finish_schema(result)
    logger.info(
        "sync %s/%s: %d rows, %d batches, %.1fs",
        source_name,
        schema_name,
        result.rows,
        result.batches,
        result.seconds,
    )
    return result


def run_sync(
    source: Any,
    config: Any,
    schemas: list[str],
    *,
    dest: str,
    source_name: str,
    store: StateStore,
    full_refresh: bool = False,
    job_id: str | None = None,
    logger: logging.Logger | None = None,
    progress: ProgressReporter | None = None,
    storage_options: dict | None = None,
    batch_rows: int = 5000,
    events: Any = None,
    incremental_field: str | None = None,
) -> SyncSummary:
    """Sync each schema in turn; a failing schema is recorded (one-line `error`) and the
    others still run. `incremental_field`: the field every schema syncs on (each must
    offer it), else each schema's first."""
    logger = logger or log
    if isinstance(config, dict):
        config = source.parse_config(config)
    summary = SyncSummary()
    for name in schemas:
        started = time.monotonic()
        kwargs = dict(
            dest=dest,
            source_name=source_name,
            store=store,
            full_refresh=full_refresh,
            job_id=job_id,
            logger=logger,
            progress=progress,
            storage_options=storage_options,
            batch_rows=batch_rows,
            incremental_field=incremental_field,
        )
        try:
            with table_lock(dest, path_segment("source", source_name), path_segment("schema", name)):
                if events is not None:  # an EventStore: pull as before, then apply buffered events
                    from runtime.webhooks.sync import sync_schema

                    result = sync_schema(source, config, name, events=events, **kwargs).schema_result()
                else:
                    result = run_schema(source, config, name, **kwargs)
        except Exception as exc:  # noqa: BLE001 - recorded per schema, the loop goes on
            matched, explanation = source.non_retryable_reason(exc)
            text = (str(exc).strip().splitlines() or [""])[0]
            message = f"{type(exc).__name__}: {text}"
            if explanation:
                message += f" ({explanation})"
            result = SchemaResult(
                schema=name,
                table_uri=f"{dest.rstrip('/')}/{source_name}/{name}",
                seconds=time.monotonic() - started,
                error=message,
                non_retryable=matched,
            )
            logger.error("sync %s/%s failed: %s", source_name, name, message)
            if progress is not None:
                progress.finish_schema(result)
        summary.results.append(result)
    return summary
