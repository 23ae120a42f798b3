"""Submit a sync to Temporal and follow it (`gen-source sync ... --temporal HOST:PORT`).

`make_request` builds the workflow input from CLI-style arguments and normalises paths on
the submitting machine; the paths (connector folder, config file, local dest, SQLite state)
must mean the same on the workers (same checkout or shared disk). `follow` polls the sync
workflow's `progress` query and, for tables being written, the activity's last heartbeat
(its checkpoint: rows and batches committed so far), and reports each change as one line.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from runtime.progress import format_summary
from runtime.delta.storage import default_state_location, parse_destination
from runtime.webhooks.store import default_location
from runtime.temporal.types import (
    DEFAULT_TASK_QUEUE,
    ConfigRef,
    SchemaOutcome,
    SyncOutcome,
    SyncRequest,
)
from runtime.temporal.workflows import SyncWorkflow


class SyncFailed(RuntimeError):
    """The sync workflow failed; `outcome` holds every table's result when known."""

    def __init__(self, message: str, outcome: SyncOutcome | None) -> None:
        super().__init__(message)
        self.outcome = outcome


class TemporalUnavailable(RuntimeError):
    """The Temporal server cannot be reached (one line, names the address)."""


async def connect(address: str, namespace: str = "default") -> Client:
    """A client, or `TemporalUnavailable` with one line naming the address."""
    try:
        return await Client.connect(address, namespace=namespace)
    except RuntimeError as exc:
        text = (str(exc).splitlines() or ["connection failed"])[0]
        raise TemporalUnavailable(
            f"Temporal at {address} ({namespace}): {text}"
        ) from None


def make_request(
    *,
    source: str,
    connector: str | Path,
    schemas: list[str],
    dest: str,
    state: str | None = None,
    config_file: str | Path | None = None,
    config_env: dict[str, str] | None = None,
    base_url: str | None = None,
    full_refresh: bool = False,
    allow_private_hosts: bool = False,
    events: str | Path | None = None,
    **tuning: Any,
) -> SyncRequest:
    """A `SyncRequest` holding no secrets: config by reference (`config_file`, `config_env`
    = field -> variable name, plus the worker's `GEN_SOURCE_<SOURCE>_<FIELD>` variables).
    `tuning`: any other `SyncRequest` field (batch_rows, max_parallel, heartbeat_timeout_s,
    max_attempts, retry_initial_s, table_wait_s, table_poll_s ...). `events`: the webhook event
    store to apply after each pull (default: `<dest>/.webhooks.db` for a connector with webhooks
    and a local destination, as a plain sync does)."""
    destination = parse_destination(
        dest, environ={}
    )  # the URI only: no options read here
    unknown = set(tuning) - set(SyncRequest.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown SyncRequest field(s): {', '.join(sorted(unknown))}")
    if events is None:
        events = default_location(connector, destination.uri)
    if state is None:
        state = default_state_location(destination)
    elif "://" not in state:
        state = str(Path(state).resolve())
    return SyncRequest(
        source=source,
        connector=str(Path(connector).resolve()),
        schemas=list(schemas),
        dest=destination.uri,
        state=state,
        config=ConfigRef(
            file=str(Path(config_file).resolve()) if config_file else None,
            env=dict(config_env or {}),
            base_url=base_url,
        ),
        full_refresh=full_refresh,
        allow_private_hosts=allow_private_hosts,
        events=str(Path(events).resolve()) if events else None,
        **tuning,
    )


async def start_sync(
    client: Client,
    request: SyncRequest,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    workflow_id: str | None = None,
) -> WorkflowHandle:
    workflow_id = (
        workflow_id or f"gen-source-sync/{request.source}/{uuid.uuid4().hex[:12]}"
    )
    return await client.start_workflow(
        SyncWorkflow.run, request, id=workflow_id, task_queue=task_queue
    )


def _outcome(err: WorkflowFailureError) -> SyncFailed:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        outcome = None
        if cause.details and isinstance(cause.details[0], dict):
            results = [
                SchemaOutcome(
                    **{
                        k: v
                        for k, v in r.items()
                        if k in SchemaOutcome.__dataclass_fields__
                    }
                )
                for r in cause.details[0].get("results", [])
            ]
            outcome = SyncOutcome(results=results)
        return SyncFailed(cause.message, outcome)
    return SyncFailed(str(cause or err), None)


async def _checkpoint(
    client: Client, workflow_id: str, run_id: str | None
) -> dict | None:
    """rows/batches/attempt of a table's running activity, from its last heartbeat."""
    desc = await client.get_workflow_handle(workflow_id, run_id=run_id).describe(
        rpc_timeout=timedelta(seconds=5)
    )
    pending = list(desc.raw_description.pending_activities)
    if not pending:
        return None
    info = pending[0]
    out: dict = {"attempt": info.attempt}
    if info.heartbeat_details.payloads:
        decoded = await client.data_converter.decode(info.heartbeat_details.payloads)
        if decoded and isinstance(decoded[0], dict):
            out["rows"] = decoded[0].get("rows", 0)
            out["batches"] = decoded[0].get("batches", 0)
    if info.attempt > 1 and info.last_failure.message:
        out["last_failure"] = info.last_failure.message
    return out


def _line(schema: str, state: dict, live: dict | None) -> str:
    status = state.get("state", "?")
    if status == "waiting":
        return f"{schema}: waiting for {state.get('held_by')} (another sync is writing the table)"
    if status == "running" and live:
        text = f"{schema}: running, {live.get('rows', 0)} rows, {live.get('batches', 0)} batches"
        if live.get("attempt", 1) > 1:
            text += f", attempt {live['attempt']}"
            if live.get("last_failure"):
                text += f" (after: {live['last_failure']})"
        return text
    if status == "failed":
        return f"{schema}: failed: {state.get('error')}"
    if status == "ok":
        return f"{schema}: done, {state.get('rows', 0)} rows"
    return f"{schema}: {status}"


async def progress_lines(client: Client, handle: WorkflowHandle) -> dict[str, str]:
    """schema -> one line describing where that table's sync is."""
    states = await handle.query(SyncWorkflow.progress, rpc_timeout=timedelta(seconds=5))
    lines = {}
    for schema, state in states.items():
        live = None
        if state.get("state") == "running" and state.get("workflow_id"):
            try:
                live = await _checkpoint(
                    client, state["workflow_id"], state.get("run_id")
                )
            except RPCError:
                live = None
        lines[schema] = _line(schema, state, live)
    return lines


async def follow(
    client: Client,
    handle: WorkflowHandle,
    *,
    on_line: Callable[[str], None] | None = None,
    interval: float = 1.0,
) -> SyncOutcome:
    """Wait for the sync, calling `on_line` for each table whose state changed. Raises
    `SyncFailed` (with the per-table outcomes) when a table failed."""
    result = asyncio.ensure_future(handle.result())
    shown: dict[str, str] = {}
    try:
        while not result.done():
            await asyncio.wait({result}, timeout=interval)
            if on_line is None or result.done():
                continue
            try:
                lines = await progress_lines(client, handle)
            except RPCError:  # no worker answered the query yet: try again next time
                continue
            _show(lines, shown, on_line)
        outcome = result.result()
    except WorkflowFailureError as err:
        failed = _outcome(err)
        if on_line is not None and failed.outcome is not None:
            _show(_final_lines(failed.outcome), shown, on_line)
        raise failed from None
    finally:
        result.cancel()
    if on_line is not None:
        _show(_final_lines(outcome), shown, on_line)
    return outcome


def _final_lines(outcome: SyncOutcome) -> dict[str, str]:
    return {
        r.schema: _line(
            r.schema, {"state": r.status, "rows": r.rows, "error": r.error}, None
        )
        for r in outcome.results
    }


def _show(
    lines: dict[str, str], shown: dict[str, str], on_line: Callable[[str], None]
) -> None:
    for schema, line in lines.items():
        if shown.get(schema) != line:
            shown[schema] = line
            on_line(line)


def run_temporal_sync(
    address: str,
    request: SyncRequest,
    *,
    task_queue: str = DEFAULT_TASK_QUEUE,
    namespace: str = "default",
    workflow_id: str | None = None,
    stream: TextIO | None = None,
    out: TextIO | None = None,
    wait: bool = True,
) -> int:
    """Blocking entry point for `gen-source sync --temporal`: submit, follow (progress lines
    on `stream`), print the summary table on `out`. Returns the exit code: 0 when every table
    synced, 1 otherwise (2: the server could not be reached)."""
    stream = stream or sys.stderr
    out = out or sys.stdout

    async def main() -> int:
        client = await connect(address, namespace)
        handle = await start_sync(
            client, request, task_queue=task_queue, workflow_id=workflow_id
        )
        print(
            f"gen-source: submitted workflow {handle.id} to {address} ({task_queue})",
            file=stream,
        )
        if not wait:
            return 0
        try:
            outcome = await follow(
                client, handle, on_line=lambda line: print(line, file=stream)
            )
        except SyncFailed as failed:
            if failed.outcome is not None:
                print(format_summary(failed.outcome.results), file=out)
                for r in failed.outcome.results:
                    if r.error:
                        print(
                            f"gen-source: {request.source}/{r.schema}: {r.error}",
                            file=stream,
                        )
            else:
                print(f"gen-source: {request.source}: {failed}", file=stream)
            return 1
        print(format_summary(outcome.results), file=out)
        return 0

    try:
        return asyncio.run(main())
    except (TemporalUnavailable, RPCError) as exc:
        print(f"gen-source: {exc}", file=stream)
        return 2
