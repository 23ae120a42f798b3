"""A Temporal worker for gen-source syncs (`gen-source worker --temporal HOST:PORT`).

It polls one task queue for both workflows and the `sync_schema` activity. Activities are
blocking code (HTTP, Arrow, Delta), so they run in a thread pool of `max_concurrent`
threads: that many tables sync at once on this worker. Heartbeats reach the server at most
`heartbeat_throttle_s` after a commit, which bounds how much a worker killed right after a
commit makes its successor redo.

    python -m runtime.temporal.worker --temporal 127.0.0.1:7233 --task-queue gen-source
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from runtime.temporal.activities import sync_schema
from runtime.temporal.client import TemporalUnavailable, connect
from runtime.temporal.types import DEFAULT_TASK_QUEUE
from runtime.temporal.workflows import SyncWorkflow, TableSyncWorkflow

log = logging.getLogger("gen_source.temporal")


def build_worker(
    client: Client,
    task_queue: str = DEFAULT_TASK_QUEUE,
    *,
    max_concurrent: int = 4,
    heartbeat_throttle_s: float = 2.0,
    sticky_timeout_s: float = 10.0,
    identity: str | None = None,
) -> tuple[Worker, ThreadPoolExecutor]:
    """A worker with gen-source's workflows and activity; the caller shuts the executor
    down after the worker stops."""
    executor = ThreadPoolExecutor(
        max_workers=max_concurrent, thread_name_prefix="gen-source"
    )
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[SyncWorkflow, TableSyncWorkflow],
        activities=[sync_schema],
        activity_executor=executor,
        max_concurrent_activities=max_concurrent,
        max_heartbeat_throttle_interval=timedelta(seconds=heartbeat_throttle_s),
        default_heartbeat_throttle_interval=timedelta(seconds=heartbeat_throttle_s),
        graceful_shutdown_timeout=timedelta(seconds=5),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=sticky_timeout_s),
        identity=identity,
    )
    return worker, executor


async def serve(
    address: str,
    task_queue: str = DEFAULT_TASK_QUEUE,
    *,
    namespace: str = "default",
    max_concurrent: int = 4,
    heartbeat_throttle_s: float = 2.0,
    sticky_timeout_s: float = 10.0,
    identity: str | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a worker until `stop` is set (or forever)."""
    client = await connect(address, namespace)
    worker, executor = build_worker(
        client,
        task_queue,
        max_concurrent=max_concurrent,
        heartbeat_throttle_s=heartbeat_throttle_s,
        sticky_timeout_s=sticky_timeout_s,
        identity=identity,
    )
    stop = stop or asyncio.Event()
    try:
        async with worker:
            log.warning(
                "worker on %s, task queue %r, %d slots",
                address,
                task_queue,
                max_concurrent,
            )
            await stop.wait()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def run_worker(
    address: str,
    task_queue: str = DEFAULT_TASK_QUEUE,
    *,
    namespace: str = "default",
    max_concurrent: int = 4,
    identity: str | None = None,
    heartbeat_throttle_s: float = 2.0,
    sticky_timeout_s: float = 10.0,
) -> int:
    """Blocking entry point for `gen-source worker`: serve until SIGINT or SIGTERM, then
    stop polling, give running activities a few seconds, and return 0."""
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(
            address,
            task_queue,
            namespace=namespace,
            max_concurrent=max_concurrent,
            heartbeat_throttle_s=heartbeat_throttle_s,
            sticky_timeout_s=sticky_timeout_s,
            identity=identity,
            stop=stop,
        )

    try:
        asyncio.run(main())
    except (TemporalUnavailable, RPCError) as exc:  # one line, no traceback
        print(f"gen-source worker: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.temporal.worker")
    parser.add_argument(
        "--temporal", required=True, help="HOST:PORT of the Temporal server"
    )
    parser.add_argument("--task-queue", default=DEFAULT_TASK_QUEUE)
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--identity")
    parser.add_argument(
        "--heartbeat-throttle",
        type=float,
        default=2.0,
        help="seconds between heartbeats sent to the server (at most)",
    )
    parser.add_argument(
        "--sticky-timeout",
        type=float,
        default=10.0,
        help="seconds before a dead worker's cached workflows move to another",
    )
    args = parser.parse_args(argv)
    return run_worker(
        args.temporal,
        args.task_queue,
        namespace=args.namespace,
        max_concurrent=args.max_concurrent,
        identity=args.identity,
        heartbeat_throttle_s=args.heartbeat_throttle,
        sticky_timeout_s=args.sticky_timeout,
    )


if __name__ == "__main__":
    sys.exit(main())
