"""Running the receiver: `gen-source webhooks serve <source> --port N` (and `python -m runtime.webhooks`).

Loads `generated/<source>/webhooks.py` (its `WEBHOOKS` declaration), reads the signing secret
from `GEN_SOURCE_<SOURCE>_WEBHOOK_SIGNING_SECRET` or the `--config` file's
`webhook_signing_secret`, opens the event store (default `<dest>/.webhooks.db`, beside the sync's
state) and serves the ASGI receiver on uvicorn. The socket is bound before uvicorn starts, so
`--port 0` works and the printed line names the real port.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import socket
import sys
import threading
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from runtime.errors import UserError
from runtime.source.config_input import env_name
from runtime.source.connector import MissingOverrideModule, load_connector
from runtime.webhooks.receiver import WebhookReceiver
from runtime.webhooks.store import DEFAULT_FILE, EventStore

SECRET_FIELD = "webhook_signing_secret"


class ServeError(UserError, ValueError):
    """A setup problem the user can fix (one line)."""


def load_webhooks(folder: Path) -> types.ModuleType:
    """The generated `webhooks.py` of the connector in `folder`."""
    folder = Path(folder)
    if not (folder / "webhooks.py").is_file():
        raise ServeError(
            f"{folder}: no webhooks.py (the spec and overrides declare no webhooks for it)"
        )
    try:
        package = load_connector(folder)
    except MissingOverrideModule as exc:
        raise ServeError(str(exc)) from None
    return importlib.import_module(f"{package.__name__}.webhooks")


def signing_secrets(
    source: str, *, config_file: Path | None = None, environ: dict | None = None
) -> list[str]:
    """The configured signing secret(s); several may be given comma-separated during a rotation."""
    environ = os.environ if environ is None else environ
    raw = environ.get(env_name(source, SECRET_FIELD), "")
    if not raw and config_file is not None:
        try:
            data = json.loads(Path(config_file).read_text())
        except (OSError, ValueError) as exc:
            raise ServeError(
                f"{config_file}: cannot read the config ({type(exc).__name__})"
            ) from None
        raw = data.get(SECRET_FIELD, "") if isinstance(data, dict) else ""
    secrets = [s.strip() for s in str(raw or "").split(",") if s.strip()]
    if not secrets:
        raise ServeError(
            f"no webhook signing secret: set {env_name(source, SECRET_FIELD)} or "
            f"{SECRET_FIELD!r} in --config"
        )
    return secrets


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: answers go out at once instead of waiting on Nagle.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(app: WebhookReceiver):
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    return uvicorn.Server(config)


@dataclass
class RunningServer:
    """A receiver served on a background thread (for embedding and tests); `stop()` ends it."""

    host: str
    port: int
    server: object
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(
    app: WebhookReceiver, *, host: str = "127.0.0.1", port: int = 0
) -> RunningServer:
    sock = bind(host, port)
    server = _server(app)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        daemon=True,
        name=f"webhooks-{app.config.source}",
    )
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(timeout=0.01)
    if not server.started:
        raise ServeError(f"the receiver for {app.config.source} did not start")
    return RunningServer(host, sock.getsockname()[1], server, thread)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="gen-source webhooks serve",
        description="Receive a source's webhooks into its event store.",
    )
    p.add_argument("source")
    p.add_argument(
        "--port", type=int, required=True, help="TCP port (0: any free port)"
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    p.add_argument(
        "--generated",
        type=Path,
        default=Path("generated"),
        help="folder holding generated/<source>",
    )
    p.add_argument(
        "--dest",
        default="./warehouse",
        help="table root; the store defaults to <dest>/.webhooks.db",
    )
    p.add_argument(
        "--db", type=Path, help="event store file (default <dest>/.webhooks.db)"
    )
    p.add_argument(
        "--config", type=Path, help="JSON config holding webhook_signing_secret"
    )
    p.add_argument(
        "--tolerance",
        type=int,
        help="accepted signature age in seconds (default from the plan)",
    )
    p.add_argument(
        "--max-body",
        type=int,
        help="largest accepted body in bytes (default from the plan)",
    )
    args = p.parse_args(argv)
    try:
        module = load_webhooks(args.generated / args.source)
        secrets = signing_secrets(args.source, config_file=args.config)
        store = EventStore(args.db or Path(args.dest) / DEFAULT_FILE)
        app = WebhookReceiver(
            module.WEBHOOKS,
            secrets,
            store,
            max_body_bytes=args.max_body,
            tolerance_seconds=args.tolerance,
        )
        sock = bind(args.host, args.port)
    except (UserError, FileNotFoundError, ValueError) as exc:
        print(f"gen-source webhooks: {args.source}: {exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    print(
        f"webhooks {args.source}: listening on http://{args.host}:{port} -> {store.path}",
        flush=True,
    )
    _server(app).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
