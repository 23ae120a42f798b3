"""Periodic incremental syncs as Temporal Schedules.

A schedule starts the same `SyncWorkflow` every `every` (or on `cron` expressions). Runs are
incremental unless the request asks for a full refresh: each picks up from the watermarks the
previous run left in the state store. Overlap policy SKIP: when a run is still going at the
next tick, that tick is dropped (the table workflows would only wait for each other anyway).
The request is stored in the schedule, so the same rule holds: it carries no secrets.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from runtime.temporal.types import DEFAULT_TASK_QUEUE, SyncRequest
from runtime.temporal.workflows import SyncWorkflow


def build_schedule(
    schedule_id: str,
    request: SyncRequest,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    every: timedelta | None = None,
    cron: list[str] | None = None,
    paused: bool = False,
    note: str | None = None,
) -> Schedule:
    if not every and not cron:
        raise ValueError("a schedule needs `every` (an interval) or `cron` expressions")
    if every is not None and every < timedelta(seconds=1):
        raise ValueError(f"schedule interval {every} is shorter than a second")
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SyncWorkflow.run,
            request,
            id=f"gen-source-scheduled/{schedule_id}",  # Temporal appends the start time
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=every)] if every else [],
            cron_expressions=list(cron or []),
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(
            paused=paused, note=note or f"gen-source sync of {request.source}"
        ),
    )


async def upsert_schedule(
    client: Client,
    schedule_id: str,
    request: SyncRequest,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    every: timedelta | None = None,
    cron: list[str] | None = None,
    paused: bool = False,
) -> ScheduleHandle:
    """Create the schedule, or replace its action, spec and state when it exists."""
    schedule = build_schedule(
        schedule_id,
        request,
        task_queue=task_queue,
        every=every,
        cron=cron,
        paused=paused,
    )
    try:
        return await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:
        handle = client.get_schedule_handle(schedule_id)

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await handle.update(replace)
        return handle


async def delete_schedule(client: Client, schedule_id: str) -> None:
    await client.get_schedule_handle(schedule_id).delete()


def schedule_sync(
    address: str,
    schedule_id: str,
    request: SyncRequest,
    *,
    every_s: float | None = None,
    cron: list[str] | None = None,
    task_queue: str = DEFAULT_TASK_QUEUE,
    namespace: str = "default",
    paused: bool = False,
) -> str:
    """Blocking wrapper for a CLI: create or update the schedule; returns its id."""

    async def main() -> str:
        client = await Client.connect(address, namespace=namespace)
        handle = await upsert_schedule(
            client,
            schedule_id,
            request,
            task_queue=task_queue,
            every=timedelta(seconds=every_s) if every_s else None,
            cron=cron,
            paused=paused,
        )
        return handle.id

    return asyncio.run(main())
