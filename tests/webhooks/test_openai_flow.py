"""OpenAI's spec declares `webhooks` itself (OpenAPI 3.1): the plan maps its events to tables,
deliveries are Standard Webhooks-signed, id-only payloads are completed by reading the object,
and subscriptions (no endpoints for them in the spec) are set up by hand."""

from __future__ import annotations

import importlib
import time

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from runtime.source.connector import load_connector
from runtime.state.store import StateStore
from runtime.webhooks.store import EventStore
from runtime.webhooks.sync import INITIAL_KIND, sync_schema

from .conftest import OPENAI_SECRET


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def openai(openai_build):
    _, _, folder = openai_build
    package = load_connector(folder)
    return package, importlib.import_module(f"{package.__name__}.webhooks")


def event(n: int, kind: str, data: dict, created: int) -> dict:
    return {
        "id": f"evt_{n}",
        "object": "event",
        "type": kind,
        "created_at": created,
        "data": data,
    }


def test_plan_from_the_specs_own_webhooks(openai_build, openai):
    plan, wp, _ = openai_build
    _, module = openai
    assert wp.resource_map == {
        "batches": "batch",
        "eval_runs": "eval.run",
        "fine_tuning_jobs": "fine_tuning.job",
    }
    assert (wp.event_type_path, wp.created_path, wp.object_path) == (
        "type",
        "created_at",
        "data",
    )
    completed = next(e for e in wp.events if e.type == "batch.completed")
    assert (completed.table, completed.object_mode, completed.payload_schema) == (
        "batches",
        "partial",
        "WebhookBatchCompleted",
    )
    assert (
        completed.fetch_path == "/batches/{batch_id}"
        and plan.endpoint("batch").path == completed.fetch_path
    )
    # Events whose objects have no table are kept, and said so.
    assert module.WEBHOOKS.route("realtime.call.incoming").table is None
    assert any(w.where == "webhooks: response.completed" for w in wp.warnings)
    # The spec does not say how deliveries are signed: Standard Webhooks is assumed, with a warning.
    assert module.WEBHOOKS.signature.scheme == "standard_webhooks"
    assert any(w.where == "webhooks.signature" for w in wp.warnings)


def test_subscriptions_are_manual_and_say_how(openai):
    package, module = openai
    assert module.SUBSCRIPTION is None
    config = package.config.OpenaiConfig(token="sk-test")
    for info in (
        module.create_webhook(config, "https://example.test/hook"),
        module.delete_webhook(config, "wh_1"),
        module.get_external_webhook_info(config),
    ):
        assert info.status == "manual"
        assert (
            "gen-source webhooks serve openai" in info.message
            and "batch.completed" in info.message
        )


def test_signed_id_only_events_complete_rows_through_the_api(
    openai, receive, httpserver, tmp_path
):
    package, module = openai
    sender, received = receive(module.WEBHOOKS, OPENAI_SECRET)
    uri = str(tmp_path / "wh" / "openai" / "batches")
    write_deltalake(
        uri,
        pa.table(
            {
                "id": ["batch_1", "batch_2"],
                "status": ["in_progress", "in_progress"],
                "endpoint": ["/v1/chat/completions"] * 2,
            }
        ),
    )
    state = StateStore(tmp_path / "state.db")
    state.put(
        "openai", "batches", INITIAL_KIND, {"started_at": 1.0, "complete": True}
    )  # pulled before
    httpserver.expect_request("/batches/batch_1").respond_with_json(
        {
            "id": "batch_1",
            "object": "batch",
            "status": "completed",
            "endpoint": "/v1/chat/completions",
            "request_counts": {"total": 3, "completed": 3, "failed": 0},
        }
    )
    now = int(time.time())
    answers = [
        sender.post(event(1, "batch.completed", {"id": "batch_1"}, now)),
        sender.post(
            event(
                2,
                "realtime.call.incoming",
                {"call_id": "rtc_1", "sip_headers": []},
                now,
            )
        ),
        sender.post(
            event(3, "batch.completed", {"id": "batch_1"}, now),
            secret="whsec_d3Jvbmcta2V5",
        ),
    ]
    assert [a.status_code for a in answers] == [200, 200, 400]
    assert answers[1].json()["table"] is None
    source = package.source.OpenaiSource(allow_private_hosts=True)
    config = source.parse_config(
        {"token": "sk-test", "base_url": httpserver.url_for("").rstrip("/")}
    )
    result = sync_schema(
        source,
        config,
        "batches",
        dest=str(tmp_path / "wh"),
        source_name="openai",
        store=state,
        events=EventStore(received.path),
        skip_pull_when_complete=True,
    )
    assert result.pull is None and result.applied.events == 1
    rows = {r["id"]: r for r in DeltaTable(uri).to_pyarrow_table().to_pylist()}
    assert rows["batch_1"]["status"] == "completed"
    assert (
        rows["batch_1"]["request_counts"] == '{"total":3,"completed":3,"failed":0}'
    )  # json column
    assert rows["batch_2"]["status"] == "in_progress"
    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert (
        received.count("openai") == 2
    )  # the unrouted event is kept; the forged one is not
