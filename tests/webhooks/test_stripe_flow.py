"""The Stripe connector end to end (events declared by the override): generated webhooks.py, a
pull from the emulator, signed events over real HTTP, and the table afterwards equal to what a
fresh pull of the changed data writes. Plus the subscription calls against a loopback vendor."""

from __future__ import annotations

import copy
import importlib
import time
from urllib.parse import parse_qsl

import pytest
from deltalake import DeltaTable

from runtime.source.connector import load_connector
from runtime.state.store import StateStore
from runtime.sync import run_schema, run_sync
from runtime.webhooks.store import EventStore
from runtime.webhooks.sync import events_runner, sync_schema, webhooks_of
from tests.emulators.stripe import StripeEmulator

from .conftest import STRIPE_SECRET, stripe_event

KEY = "sk_test_emulator"


@pytest.fixture
def stripe(stripe_build):
    _, _, folder = stripe_build
    package = load_connector(folder)
    return package, importlib.import_module(f"{package.__name__}.webhooks")


def table_rows(uri: str) -> list[dict]:
    return sorted(DeltaTable(uri).to_pyarrow_table().to_pylist(), key=lambda r: r["id"])


def test_plan_marks_the_override_tables(stripe_build, stripe):
    plan, wp, _ = stripe_build
    _, module = stripe
    assert (
        wp.resource_map["customers"] == "customer"
        and wp.resource_map["subscriptions"] == "subscription"
    )
    assert module.WEBHOOK_RESOURCE_MAP == wp.resource_map
    assert module.supports_webhooks("customers") and not module.supports_webhooks(
        "events"
    )
    assert module.WEBHOOKS.signature.scheme == "timestamped_hmac"
    assert (
        module.WEBHOOKS.route("customer.subscription.updated").table == "subscriptions"
    )
    assert module.WEBHOOKS.route("customer.updated").table == "customers"
    # The spec manages subscriptions, so the connector does too, for exactly the routed events.
    sub = module.SUBSCRIPTION
    assert sub.create_path == "/v1/webhook_endpoints" and sub.body == "form"
    assert (
        "customer.deleted" in sub.events
        and "customer.discount.created" not in sub.events
    )
    assert plan.endpoint("customers") is not None and wp.why["signature"] == "override"


def test_pull_then_events_end_where_a_fresh_pull_of_the_changed_data_ends(
    stripe, receive, tmp_path
):
    package, module = stripe
    emu = StripeEmulator(rows=30).start()
    try:
        source = package.source.StripeSource(allow_private_hosts=True)
        assert webhooks_of(source) is module
        config = source.parse_config(
            {"token": KEY, "account": "acct_1", "base_url": emu.base_url}
        )
        sender, received = receive(module.WEBHOOKS, STRIPE_SECRET)
        # The sync opens the receiver's store file on its own connection, as another process would.
        state, events = StateStore(tmp_path / "state.db"), EventStore(received.path)
        customers = emu.store["customers"]
        first, second, third = (copy.deepcopy(c) for c in customers[:3])
        now = int(time.time())
        assert sender.post(
            stripe_event(1, "customer.updated", {**first, "name": "stale"}, now - 3600)
        ).is_success

        dest = str(tmp_path / "wh")
        result = sync_schema(
            source,
            config,
            "customers",
            dest=dest,
            source_name="stripe",
            store=state,
            events=events,
        )
        assert result.pull is not None and result.pull.rows == 30
        assert (
            result.applied.superseded == 1
        )  # created before the pull: the pull already has newer data

        new = {
            **copy.deepcopy(third),
            "id": "cus_webhook_new",
            "created": now,
            "name": "Brand new",
        }
        posted = [
            sender.post(
                stripe_event(
                    2, "customer.updated", {**first, "name": "second edit"}, now + 20
                )
            ),
            sender.post(
                stripe_event(
                    3, "customer.updated", {**first, "name": "first edit"}, now + 10
                )
            ),
            sender.post(
                stripe_event(4, "customer.created", new, now + 5), ts=time.time() - 10
            ),
            sender.post(
                stripe_event(
                    5, "customer.deleted", {**second, "deleted": True}, now + 6
                )
            ),
            sender.post(
                stripe_event(4, "customer.created", new, now + 5)
            ),  # a retry, signed anew
            sender.post(
                stripe_event(6, "customer.updated", {**third, "name": "forged"}, now),
                secret="whsec_x",
            ),
            sender.post(
                stripe_event(7, "customer.updated", {**third, "name": "stale"}, now),
                ts=now - 400,
            ),
        ]
        assert [r.status_code for r in posted] == [200, 200, 200, 200, 200, 400, 400]
        assert posted[4].json()["status"] == "duplicate"
        # As `gen-source sync --events` composes it: the loop with the events runner.
        summary = run_sync(
            source,
            config,
            ["customers"],
            dest=dest,
            source_name="stripe",
            store=state,
            run=events_runner(events),
        )
        again = summary.results[0]
        # The pull asks only for newer rows (none); the events bring 2 updates and the
        # delete.
        assert summary.ok and again.incremental and again.rows == 3
        assert events.count("stripe", table="customers", applied=False) == 0
        assert (
            events.count("stripe", table="customers", applied=True) == 5
        )  # 1 superseded before

        # Trusting a running receiver, a complete table can be kept current by events alone.
        pulls_before = sum(1 for _ in emu.paths_requested("/v1/customers"))
        assert sender.post(
            stripe_event(8, "customer.updated", {**third, "name": "by event"}, now + 30)
        ).is_success
        third_run = sync_schema(
            source,
            config,
            "customers",
            dest=dest,
            source_name="stripe",
            store=state,
            events=events,
            skip_pull_when_complete=True,
        )
        assert third_run.pull is None and third_run.applied.upserted == 1
        assert sum(1 for _ in emu.paths_requested("/v1/customers")) == pulls_before

        # The same changes made at the vendor, then pulled afresh into another table.
        by_id = {c["id"]: c for c in customers}
        by_id[first["id"]]["name"] = "second edit"
        by_id[third["id"]]["name"] = "by event"
        del by_id[second["id"]]
        emu.store["customers"] = [*by_id.values(), new]
        fresh = run_schema(
            source,
            config,
            "customers",
            dest=str(tmp_path / "fresh"),
            source_name="stripe",
            store=StateStore(tmp_path / "fresh.db"),
        )
        assert table_rows(f"{dest}/stripe/customers") == table_rows(fresh.table_uri)
    finally:
        emu.stop()


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def test_subscription_calls_go_through_the_connector_client(stripe, httpserver):
    package, module = stripe
    config = package.config.StripeConfig(
        token=KEY, account="acct_1", base_url=httpserver.url_for("").rstrip("/")
    )
    url = "https://example.test/webhooks/stripe"
    httpserver.expect_oneshot_request(
        "/v1/webhook_endpoints", method="POST"
    ).respond_with_json(
        {
            "id": "we_1",
            "object": "webhook_endpoint",
            "url": url,
            "secret": "whsec_from_vendor",
        }
    )
    httpserver.expect_oneshot_request(
        "/v1/webhook_endpoints", method="GET"
    ).respond_with_json(
        {
            "object": "list",
            "data": [
                {"id": "we_0", "url": "https://other"},
                {"id": "we_1", "url": url, "enabled_events": ["customer.created"]},
            ],
        }
    )
    httpserver.expect_oneshot_request(
        "/v1/webhook_endpoints/we_1", method="DELETE"
    ).respond_with_json({"id": "we_1", "deleted": True})

    created = module.create_webhook(config, url, allow_private_hosts=True)
    found = module.get_external_webhook_info(
        config, webhook_id="we_1", allow_private_hosts=True
    )
    gone = module.delete_webhook(config, "we_1", allow_private_hosts=True)
    post, listing, delete = [r for r, _ in httpserver.log]
    form = parse_qsl(post.get_data(as_text=True))
    assert ("url", url) in form and post.headers["Authorization"] == f"Bearer {KEY}"
    subscribed = [v for k, v in form if k.startswith("enabled_events[")]
    assert (
        subscribed == list(module.SUBSCRIPTION.events)
        and ("enabled_events[0]", subscribed[0]) in form
    )
    assert (created.status, created.webhook_id, created.signing_secret) == (
        "created",
        "we_1",
        "whsec_from_vendor",
    )
    assert "whsec_from_vendor" not in repr(created) and "whsec_from_vendor" not in str(
        created.to_json()
    )
    assert (found.status, found.url, found.events) == (
        "exists",
        url,
        ("customer.created",),
    )
    assert gone.status == "deleted" and (listing.method, delete.method) == (
        "GET",
        "DELETE",
    )
    httpserver.check_assertions()


def test_the_config_webhook_events_field_picks_what_is_subscribed(stripe, httpserver):
    package, module = stripe
    config = package.config.StripeConfig(
        token=KEY,
        base_url=httpserver.url_for("").rstrip("/"),
        webhook_events="customer.created, customer.updated",
    )
    httpserver.expect_oneshot_request(
        "/v1/webhook_endpoints", method="POST"
    ).respond_with_json(
        {"id": "we_2", "object": "webhook_endpoint", "url": "https://example.test/h"}
    )
    created = module.create_webhook(
        config, "https://example.test/h", allow_private_hosts=True
    )
    form = parse_qsl(httpserver.log[0][0].get_data(as_text=True))
    assert [v for k, v in form if k.startswith("enabled_events[")] == [
        "customer.created",
        "customer.updated",
    ]
    assert created.events == ("customer.created", "customer.updated")


def test_a_failed_subscription_create_is_sent_once_and_fails_in_one_line(
    stripe, httpserver
):
    """Creating is never retried (two tries could leave two subscriptions at the vendor)."""
    package, module = stripe
    config = package.config.StripeConfig(
        token=KEY, account="acct_1", base_url=httpserver.url_for("").rstrip("/")
    )
    httpserver.expect_request("/v1/webhook_endpoints", method="POST").respond_with_data(
        f"upstream broke for {KEY}", status=503
    )
    with pytest.raises(Exception) as caught:
        module.create_webhook(
            config, "https://example.test/hook", allow_private_hosts=True
        )
    assert len(httpserver.log) == 1
    message = str(caught.value)
    assert "POST" in message and "HTTP 503" in message and "\n" not in message
    assert KEY not in message
