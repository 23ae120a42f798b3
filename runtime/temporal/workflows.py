"""The workflows: one per sync, and under it one per table.

`SyncWorkflow` starts a `TableSyncWorkflow` child for each schema (at most `max_parallel` at
a time). The child's workflow id is the table's single-writer key
(`runtime.delta.storage.table_lock_id`): Temporal lets only one workflow with a given id run, so two
syncs of the same table never write it together. When the id is taken, the sync waits (a
durable timer, `table_poll_s`) and tries again, up to `table_wait_s`; tables that differ run
side by side. The child runs the `sync_schema` activity with retries; a retry continues from
the dead attempt's checkpoint (runtime/temporal/checkpoint.py).

A failed table fails its child workflow and, once every table has finished, the sync
workflow, with the per-table outcomes in the error's details; the `progress` query shows each
table's state while the sync runs.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from runtime.delta.storage import table_lock_id, table_uri
    from runtime.temporal.types import (
        ACTIVITY_NAME,
        SchemaOutcome,
        SyncOutcome,
        SyncRequest,
        TableRequest,
    )


def _cause_message(err: BaseException) -> tuple[str, bool, int]:
    """(one-line message, non_retryable, attempts) from an activity or child failure chain."""
    cause: BaseException | None = err
    while (
        isinstance(cause, ActivityError | ChildWorkflowError)
        and cause.cause is not None
    ):
        cause = cause.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else None
        attempts = details.get("attempt", 1) if isinstance(details, dict) else 1
        return cause.message, cause.non_retryable, attempts
    return str(cause) or type(cause).__name__, False, 1


@workflow.defn(name="GenSourceTableSync")
class TableSyncWorkflow:
    """Sync one table (one activity, retried from checkpoints)."""

    @workflow.run
    async def run(self, req: TableRequest) -> SchemaOutcome:
        sync = req.sync
        started = workflow.now()
        table = table_uri(sync.dest, sync.source, req.schema)
        try:
            outcome = await workflow.execute_activity(
                ACTIVITY_NAME,
                req,
                result_type=SchemaOutcome,
                start_to_close_timeout=timedelta(seconds=sync.schema_timeout_s),
                heartbeat_timeout=timedelta(seconds=sync.heartbeat_timeout_s),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=sync.retry_initial_s),
                    maximum_interval=timedelta(
                        seconds=max(sync.retry_max_s, sync.retry_initial_s)
                    ),
                    maximum_attempts=sync.max_attempts,
                ),
            )
        except ActivityError as err:
            message, permanent, attempts = _cause_message(err)
            outcome = SchemaOutcome(
                schema=req.schema,
                table_uri=table,
                status="failed",
                error=message,
                non_retryable=permanent,
                attempts=attempts,
            )
        info = workflow.info()
        outcome.workflow_id, outcome.run_id = info.workflow_id, info.run_id
        outcome.started_at = started.isoformat()
        outcome.finished_at = workflow.now().isoformat()
        outcome.seconds = (workflow.now() - started).total_seconds()
        if outcome.status != "ok":
            raise ApplicationError(
                outcome.error or "failed",
                outcome,
                type="TableSyncFailed",
                non_retryable=True,
            )
        return outcome


@workflow.defn(name="GenSourceSync")
class SyncWorkflow:
    """Sync a connector's schemas, each in its own single-writer table workflow."""

    def __init__(self) -> None:
        self._progress: dict[str, dict] = {}

    @workflow.query
    def progress(self) -> dict[str, dict]:
        """schema -> {"state": waiting|running|ok|failed, "workflow_id", "run_id",
        "held_by" (while waiting), "rows", "error"}."""
        return self._progress

    @workflow.run
    async def run(self, req: SyncRequest) -> SyncOutcome:
        if not req.schemas:
            raise ApplicationError(
                "no schemas to sync", type="SyncFailed", non_retryable=True
            )
        for schema in req.schemas:
            self._progress[schema] = {"state": "queued"}
        slots = asyncio.Semaphore(max(1, req.max_parallel))

        async def one(schema: str) -> SchemaOutcome:
            async with slots:
                return await self._table(req, schema)

        results = await asyncio.gather(*(one(s) for s in req.schemas))
        outcome = SyncOutcome(results=list(results))
        failed = [r for r in results if r.status != "ok"]
        if failed:
            summary = "; ".join(f"{r.schema}: {r.error}" for r in failed)
            raise ApplicationError(
                f"{len(failed)} of {len(results)} tables failed: {summary}",
                outcome,
                type="SyncFailed",
                non_retryable=True,
            )
        return outcome

    async def _table(self, req: SyncRequest, schema: str) -> SchemaOutcome:
        table = table_uri(req.dest, req.source, schema)
        lock_id = table_lock_id(table)
        deadline = workflow.now() + timedelta(seconds=req.table_wait_s)
        while True:
            try:
                handle = await workflow.start_child_workflow(
                    TableSyncWorkflow.run,
                    TableRequest(sync=req, schema=schema),
                    id=lock_id,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                )
                break
            except WorkflowAlreadyStartedError:
                if workflow.now() >= deadline:
                    outcome = SchemaOutcome(
                        schema=schema,
                        table_uri=table,
                        status="failed",
                        error=(
                            f"table {table} is being written by another sync"
                            f" (workflow {lock_id}); waited {req.table_wait_s:.0f}s"
                        ),
                    )
                    self._progress[schema] = {"state": "failed", "error": outcome.error}
                    return outcome
                self._progress[schema] = {"state": "waiting", "held_by": lock_id}
                await workflow.sleep(timedelta(seconds=req.table_poll_s))
        self._progress[schema] = {
            "state": "running",
            "workflow_id": handle.id,
            "run_id": handle.first_execution_run_id,
        }
        try:
            outcome = await handle
        except ChildWorkflowError as err:
            outcome = _failed_child(err, schema, table)
        self._progress[schema] = {
            "state": outcome.status,
            "workflow_id": handle.id,
            "run_id": handle.first_execution_run_id,
            "rows": outcome.rows,
            "error": outcome.error,
        }
        return outcome


def _failed_child(err: ChildWorkflowError, schema: str, table: str) -> SchemaOutcome:
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.details:
        details = cause.details[0]
        if isinstance(details, dict):
            known = {
                k: v
                for k, v in details.items()
                if k in SchemaOutcome.__dataclass_fields__
            }
            return SchemaOutcome(**known)
    message, permanent, attempts = _cause_message(err)
    return SchemaOutcome(
        schema=schema,
        table_uri=table,
        status="failed",
        error=message,
        non_retryable=permanent,
        attempts=attempts,
    )
