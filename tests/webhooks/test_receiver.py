"""The receiver over real HTTP (uvicorn on a loopback port): what is accepted, refused and stored."""

from __future__ import annotations

import logging
import time

import httpx

from runtime.webhooks.config import (
    DeleteRule,
    EventRoute,
    SignatureConfig,
    WebhookConfig,
)

from .conftest import STRIPE_SECRET, stripe_event

CONFIG = WebhookConfig(
    source="shop",
    signature=SignatureConfig(
        "timestamped_hmac", header="Stripe-Signature", tolerance_seconds=300
    ),
    routes=(
        EventRoute("customer.*", "customers", "customer"),
        EventRoute("customer.subscription.*", "subscriptions", "subscription"),
    ),
    object_type_field="object",
    deletes=DeleteRule(("**.deleted",), "deleted"),
)


def customer(cid: str, **fields) -> dict:
    return {"id": cid, "object": "customer", **fields}


def test_valid_event_is_stored_before_the_2xx(receive):
    sender, store = receive(CONFIG, STRIPE_SECRET)
    r = sender.post(
        stripe_event(
            1, "customer.updated", customer("cus_1", name="A"), int(time.time())
        )
    )
    assert r.status_code == 200
    assert r.json() == {
        "status": "stored",
        "event_id": "evt_0001",
        "table": "customers",
    }
    # Committed by the time the answer arrived: a separate connection sees it.
    pending = store.pending("shop", "customers")
    assert [(e.event_id, e.op, e.object["name"]) for e in pending] == [
        ("evt_0001", "upsert", "A")
    ]


def test_bad_signature_and_stale_timestamp_are_400_and_never_stored(receive):
    sender, store = receive(CONFIG, STRIPE_SECRET)
    now = int(time.time())
    wrong = sender.post(
        stripe_event(1, "customer.updated", customer("cus_1"), now),
        secret="whsec_other",
    )
    stale = sender.post(
        stripe_event(2, "customer.updated", customer("cus_1"), now), ts=now - 301
    )
    body, headers = sender.signed(
        stripe_event(3, "customer.updated", customer("cus_1"), now)
    )
    tampered = sender.send(body.replace(b"cus_1", b"cus_9"), headers)
    unsigned = sender.client.post(
        sender.url, content=body, headers={"content-type": "application/json"}
    )
    assert [r.status_code for r in (wrong, stale, tampered, unsigned)] == [
        400,
        400,
        400,
        400,
    ]
    assert "tolerance" in stale.json()["error"]
    assert store.count("shop") == 0


def test_replayed_delivery_is_refused_and_a_vendor_retry_is_a_duplicate(receive):
    sender, store = receive(CONFIG, STRIPE_SECRET)
    event = stripe_event(
        7, "customer.updated", customer("cus_7", name="x"), int(time.time())
    )
    body, headers = sender.signed(event, ts=time.time() - 5)
    assert sender.send(body, headers).status_code == 200
    replay = sender.send(body, headers)  # the very same signed bytes again
    assert replay.status_code == 409 and replay.json()["event_id"] == "evt_0007"
    retry = sender.post(event)  # the vendor re-signs a retry with a new timestamp
    assert retry.status_code == 200 and retry.json()["status"] == "duplicate"
    assert store.count("shop") == 1


def test_oversized_bodies_are_413_whether_declared_or_streamed(receive):
    sender, store = receive(CONFIG, STRIPE_SECRET, max_body_bytes=4096)
    big = stripe_event(
        1, "customer.updated", customer("cus_1", note="x" * 5000), int(time.time())
    )
    assert sender.post(big).status_code == 413

    def chunks():
        for _ in range(10):
            yield b"y" * 1000

    streamed = sender.client.post(
        sender.url, content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    small = stripe_event(
        2, "customer.updated", customer("cus_1", note="x"), int(time.time())
    )
    assert sender.post(small).status_code == 200
    assert store.count("shop") == 1


def test_routing_deletes_and_unrouted_events(receive):
    sender, store = receive(CONFIG, STRIPE_SECRET)
    now = int(time.time())
    sender.post(
        stripe_event(1, "customer.deleted", customer("cus_1", deleted=True), now)
    )
    sender.post(
        stripe_event(
            2,
            "customer.subscription.updated",
            {"id": "sub_1", "object": "subscription"},
            now,
        )
    )
    # `customer.*` is one segment: a discount event is not a customer, and is kept unrouted.
    r = sender.post(
        stripe_event(
            3, "customer.discount.created", {"id": "di_1", "object": "discount"}, now
        )
    )
    # An object whose type contradicts the route is not applied to the table.
    odd = sender.post(
        stripe_event(4, "customer.updated", {"id": "x", "object": "invoice"}, now)
    )
    assert r.json()["table"] is None and odd.json()["table"] is None
    assert [(e.event_id, e.op) for e in store.pending("shop", "customers")] == [
        ("evt_0001", "delete")
    ]
    assert [e.event_id for e in store.pending("shop", "subscriptions")] == ["evt_0002"]
    assert store.count("shop") == 4


def test_malformed_requests(receive):
    sender, store = receive(CONFIG, STRIPE_SECRET)
    base = sender.url.rsplit("/webhooks/", 1)[0]
    assert httpx.get(sender.url).status_code == 405
    assert httpx.post(base + "/elsewhere", content=b"{}").status_code == 404
    assert httpx.get(base + "/healthz").json() == {"ok": True}
    body = b"not json"
    headers = {
        "stripe-signature": sender.signed({})[1]["stripe-signature"]
    }  # signed for another body
    assert sender.send(body, headers).status_code == 400
    from runtime.webhooks.signatures import sign

    signed_garbage = sign(
        CONFIG.signature, body, STRIPE_SECRET, timestamp=int(time.time())
    )
    r = sender.send(body, signed_garbage)
    assert r.status_code == 400 and r.json() == {"error": "body is not JSON"}
    no_id = sender.post({"type": "customer.updated", "data": {"object": customer("c")}})
    assert no_id.status_code == 400 and "event id" in no_id.json()["error"]
    assert store.count("shop") == 0


def test_secret_never_reaches_logs_or_answers(receive, caplog):
    caplog.set_level(logging.DEBUG)
    sender, _ = receive(CONFIG, STRIPE_SECRET)
    now = int(time.time())
    answers = [
        sender.post(stripe_event(1, "customer.updated", customer("c"), now)).text,
        sender.post(
            stripe_event(2, "customer.updated", customer("c"), now), secret="whsec_bad"
        ).text,
        sender.post(
            stripe_event(3, "customer.updated", customer("c"), now), ts=now - 999
        ).text,
    ]
    text = caplog.text + "".join(answers)
    assert "rejected delivery" in caplog.text
    assert STRIPE_SECRET not in text and "whsec_bad" not in text
    assert "v1=" not in text  # no signature header value either
