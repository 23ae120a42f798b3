"""Fixtures for the webhook tests: generated connectors with their webhooks.py, a signed loopback
sender, and a real uvicorn receiver on a free loopback port (stopped after each test)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest
import yaml

from generator.generate import Options, make_plan
from generator.render.formatting import format_many
from generator.render.writer import write_tree
from generator.render.files import render_source, render_webhooks_file
from generator.webhooks.plan import plan_webhooks
from runtime.webhooks.config import WebhookConfig
from runtime.webhooks.receiver import WebhookReceiver
from runtime.webhooks.serve import start_in_thread
from runtime.webhooks.signatures import sign
from runtime.webhooks.store import EventStore

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
STRIPE_SECRET = "whsec_stripe_test_0123456789abcdef"
# Standard Webhooks secrets are whsec_ + base64 of the key.
OPENAI_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def stripe_overrides() -> dict:
    return yaml.safe_load((HERE / "stripe_webhooks.yaml").read_text())


def build(name: str, out: Path, overrides: dict | None):
    """Plan `name`, add the webhook plan, render every file plus webhooks.py into out/<name>."""
    plan, loaded = make_plan(name, Options(root=ROOT, validate=False))
    wp = plan_webhooks(loaded.spec, plan, overrides, f"overrides/{name}.yaml")
    folder = out / name
    files = render_source(plan, out_dir=folder, project_root=ROOT)
    files.update(format_many({"webhooks.py": render_webhooks_file(plan, wp)}))
    write_tree(folder, files)
    return plan, wp, folder


@pytest.fixture(scope="session")
def stripe_build(specs, tmp_path_factory):
    return build("stripe", tmp_path_factory.mktemp("gen"), stripe_overrides())


@pytest.fixture(scope="session")
def openai_build(specs, tmp_path_factory):
    return build("openai", tmp_path_factory.mktemp("gen"), None)


class Sender:
    """Posts events the way the vendor would: JSON body, signed with the source's scheme."""

    def __init__(self, url: str, config: WebhookConfig, secret: str) -> None:
        self.url, self.config, self.secret = url, config, secret
        self.client = httpx.Client(timeout=10)

    def signed(
        self, event: dict, *, ts: float | None = None, secret: str | None = None
    ) -> tuple[bytes, dict]:
        body = json.dumps(event).encode()
        headers = sign(
            self.config.signature,
            body,
            secret or self.secret,
            timestamp=int(ts or time.time()),
            msg_id=f"msg_{event.get('id', 'x')}",
        )
        return body, {**headers, "content-type": "application/json"}

    def send(self, body: bytes, headers: dict) -> httpx.Response:
        return self.client.post(self.url, content=body, headers=headers)

    def post(self, event: dict, **kw) -> httpx.Response:
        return self.send(*self.signed(event, **kw))


@pytest.fixture
def receive(tmp_path):
    """receive(config, secret) -> (Sender, EventStore): a real uvicorn server for the test."""
    running = []

    def start(config: WebhookConfig, secret: str, **kw):
        store = EventStore(tmp_path / f"{config.source}-events.db")
        server = start_in_thread(WebhookReceiver(config, [secret], store, **kw))
        running.append((server, store))
        return Sender(f"{server.url}/webhooks/{config.source}", config, secret), store

    yield start
    for server, store in running:
        server.stop()
        store.close()


def stripe_event(n: int, kind: str, obj: dict, created: int) -> dict:
    return {
        "id": f"evt_{n:04d}",
        "object": "event",
        "type": kind,
        "created": created,
        "data": {"object": obj},
        "livemode": False,
    }


def environ_without_secrets() -> dict:
    return {k: v for k, v in os.environ.items() if "SIGNING_SECRET" not in k}
