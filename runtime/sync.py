"""Run a source's schemas into Delta tables: the glue between source, state and pipeline.

Used by `gen-source sync` and later by a Temporal activity, so one schema is one call
(`run_schema`, raises on failure) and `run_sync` is the loop that records failures and goes on.

The ordering that keeps syncs loss-free: rows are committed to Delta first; then, in the
pipeline's `on_commit`, the source's resume position and the watermark are persisted. A crash
anywhere re-reads at most what the last commit already holds, and the primary-key merge
absorbs the repeat. A replace stages its batches as files instead: after each one the
file list and the position after it are saved in one write (`STAGED_KIND`), so a resumed
replace continues with exactly the files whose rows it will not read again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, SecretStr

from runtime.delta.columns import earlier_value, later_value
from runtime.source.config_input import env_name
from runtime.state.locks import table_lock
from runtime.delta.staging import StagedReplace
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
    RUN_PAGES_KIND,
    STAGED_KIND,
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
    unparsed: dict[str, int] = field(default_factory=dict)  # column -> values as text
    undeclared: list[str] = field(default_factory=list)  # fields the catalog lacks
    version: int | None = None  # the Delta table version the run left
    resumed_from_page: int | None = None  # the first page read, when it resumed
    incremental_sent: Any = None  # the incremental value handed to the source


class CredentialRejected(RuntimeError):
    """The API refused the credential (401): every other table would fail the same way,
    so the run stops at once. One line naming the config field."""


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


def _forget_run(store: StateStore, source: str, schema: str) -> None:
    for kind in (STAGED_KIND, RESUME_KIND, RUN_INPUTS_KIND, RUN_PAGES_KIND):
        store.delete(source, schema, kind)


def _pending_replace(
    store: StateStore,
    source: str,
    schema: str,
    table_uri: str,
    storage_options: dict | None,
    logger: logging.Logger,
) -> StagedReplace | None:
    """The interrupted replace this run continues, or None. Its saved position becomes
    the source's resume state. A replace whose commit landed but whose state was not
    cleared, or whose staged files are gone (vacuumed), is forgotten (files removed)."""
    saved = store.get(source, schema, STAGED_KIND)
    if saved is None:
        return None
    staged = StagedReplace.from_json(table_uri, saved, storage_options)
    table = DeltaPipeline.open_table(table_uri, storage_options)
    if staged.committed_in(table):
        _forget_run(store, source, schema)
        return None
    if saved.get("position") is None or not staged.all_present():
        logger.warning(
            "%s: cannot continue the interrupted replace (staged files gone"
            " or no saved position); starting it again",
            table_uri,
        )
        staged.discard()
        _forget_run(store, source, schema)
        return None
    store.put(source, schema, RESUME_KIND, saved["position"])
    return staged


def _sent(start: Watermark | None, sort_mode: str) -> Any:
    """The incremental value the source was asked to continue from."""
    if start is None:
        return None
    if sort_mode == "desc" and not start.backfill_complete:
        return start.earliest
    return start.last


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
    keep_staged: bool = False,
) -> SchemaResult:
    """Sync one schema into `<dest>/<source_name>/<schema_name>`. Raises on failure (the
    committed part stays, and the next run resumes from it). A failed replace removes
    its staged files unless `keep_staged` (a retry that continues them will follow)."""
    logger = logger or log
    started = time.monotonic()
    if isinstance(config, dict):
        config = source.parse_config(config)
    schema = source.get_schema(config, schema_name)
    table_uri = f"{dest.rstrip('/')}/{path_segment('source', source_name)}/"
    table_uri += path_segment("schema", schema_name)
    inc = _pick_field(schema, incremental_field)
    staged = _pending_replace(
        store, source_name, schema_name, table_uri, storage_options, logger
    )
    if staged is not None:  # an interrupted replace (full refresh or not) goes first
        full_refresh = True
    elif full_refresh:  # ignore (and drop) what earlier runs remembered
        store.clear_watermark(source_name, schema_name)
        _forget_run(store, source_name, schema_name)
    incremental = inc is not None and not full_refresh
    if not incremental and staged is None:
        # a replace resumes only from staged files; a position without them is stale
        store.delete(source_name, schema_name, RESUME_KIND)
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
    elif staged is not None:  # cannot continue where it stopped: start over
        staged.discard()
        _forget_run(store, source_name, schema_name)
        staged = None
    pages_before = 0
    if resume:
        pages_before = (store.get(source_name, schema_name, RUN_PAGES_KIND) or {}).get(
            "pages", 0
        )
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
        if info.staged is not None:
            position = None
            if manager is not None:
                position = manager.pending_state
                if position is None:
                    position = manager.load_state()
            saved = {**info.staged, "position": position}
            store.put(source_name, schema_name, STAGED_KIND, saved)
        if manager is not None:
            manager.commit()
            pages = {"pages": pages_before + info.items}
            store.put(source_name, schema_name, RUN_PAGES_KIND, pages)
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
        staged=staged,
    )
    try:
        outcome = pipeline.run()
    except Exception:
        if pipeline.staged is not None and not keep_staged:
            # a failed replace leaves no files and no resume position
            pipeline.staged.discard()
            _forget_run(store, source_name, schema_name)
        raise
    keeper.finished(outcome)
    if manager is not None:
        manager.clear()
    for kind in (RUN_INPUTS_KIND, RUN_PAGES_KIND, STAGED_KIND):
        store.delete(source_name, schema_name, kind)
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
        unparsed=outcome.unparsed,
        undeclared=outcome.undeclared,
        version=outcome.version,
        resumed_from_page=pages_before + 1 if resume and pages_before else None,
        incremental_sent=_sent(start, response.sort_mode) if incremental else None,
    )
    if outcome.undeclared:  # once per table and run; `gen-source verify` lists them too
        logger.warning(
            "%s/%s: kept fields the catalog does not declare, as new columns: %s",
            source_name,
            schema_name,
            ", ".join(outcome.undeclared),
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


def _rejected(source_name: str, schema: str, config: Any, exc: Exception) -> str:
    """One line: which config field holds the credential the API refused, and what the
    API said (the client's error text, secrets already masked)."""
    fields = [
        name
        for name, value in (config if isinstance(config, BaseModel) else {})
        if isinstance(value, SecretStr)
    ]
    named = (
        " or ".join(f"config field {f!r} ({env_name(source_name, f)})" for f in fields)
        or "the credential in the config"
    )
    said = (str(exc).strip().splitlines() or [""])[0]
    return (
        f"{source_name}: the API rejected the credential on {schema}; check {named};"
        f" the run stopped ({said})"
    )


# What syncs one table: `run_schema`'s signature. Another runner (webhooks: pull, then
# apply the buffered events) is passed to `run_sync` by whoever composes the sync.
SchemaRunner = Callable[..., SchemaResult]


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
    run: SchemaRunner = run_schema,
    incremental_field: str | None = None,
    jobs: int = 1,
) -> SyncSummary:
    """Sync each schema with `run` (`run_schema` unless the caller composes another); a
    failing schema is recorded (one-line `error`), the others still run.
    `incremental_field`: the field every schema syncs on (each must offer it), else each
    schema's first. `jobs`: how many schemas sync at once (threads; each table still has
    one writer, its lock). A rejected credential stops the run: no schema starts after
    it, those already running finish, then `CredentialRejected` is raised. Results keep
    the order of `schemas`."""
    logger = logger or log
    if isinstance(config, dict):
        config = source.parse_config(config)
    kwargs = dict(
        dest=dest,
        source_name=source_name,
        store=store,
        full_refresh=full_refresh,
        job_id=job_id,
        logger=logger,
        storage_options=storage_options,
        batch_rows=batch_rows,
        incremental_field=incremental_field,
    )

    def one(name: str, reporter: ProgressReporter | None) -> SchemaResult:
        started = time.monotonic()
        try:
            table = path_segment("schema", name)
            with table_lock(dest, path_segment("source", source_name), table):
                return run(source, config, name, progress=reporter, **kwargs)
        except Exception as exc:  # noqa: BLE001 - recorded per schema, the loop goes on
            if getattr(exc, "status", None) == 401:
                raise CredentialRejected(
                    _rejected(source_name, name, config, exc)
                ) from None
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
            # said once, in the run's summary; the log keeps it for debugging
            logger.info("sync %s/%s failed: %s", source_name, name, message)
            if reporter is not None:
                reporter.finish_schema(result)
            return result

    if jobs <= 1:
        return SyncSummary([one(name, progress) for name in schemas])
    return SyncSummary(_run_at_once(schemas, jobs, one, progress))


def _run_at_once(
    schemas: list[str],
    jobs: int,
    one: Callable[[str, ProgressReporter | None], SchemaResult],
    progress: ProgressReporter | None,
) -> list[SchemaResult]:
    """`one` over `schemas` on `jobs` threads, results in the order of `schemas`. The
    first exception a schema raises (a rejected credential, a kill stand-in) stops the
    picking of new schemas; running ones finish; then the exception of the earliest
    schema in the list that raised is raised again."""
    results: list[SchemaResult | None] = [None] * len(schemas)
    raised: list[tuple[int, BaseException]] = []
    pending = iter(enumerate(schemas))
    stop = threading.Event()
    lock = threading.Lock()  # picking a schema and stopping the run exclude each other

    def work() -> None:
        while True:
            with lock:
                item = None if stop.is_set() else next(pending, None)
            if item is None:
                return
            index, name = item
            try:
                reporter = progress.for_table() if progress is not None else None
                results[index] = one(name, reporter)
            except BaseException as exc:  # noqa: BLE001 - raised again by the caller
                with lock:
                    raised.append((index, exc))
                    stop.set()
                return

    workers = [
        threading.Thread(target=work, name=f"gen-source-sync-{i}", daemon=True)
        for i in range(min(jobs, len(schemas)))
    ]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join()
    except BaseException:  # Ctrl-C: start no more schemas; daemon workers end with us
        stop.set()
        raise
    if raised:
        raise min(raised, key=lambda pair: pair[0])[1]
    return [r for r in results if r is not None]
