"""Signature schemes against published test vectors, tampering, staleness and secret rotation."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from runtime.webhooks.config import SignatureConfig
from runtime.webhooks.signatures import SignatureError, sign, verify

STANDARD = SignatureConfig("standard_webhooks")
HUB = SignatureConfig(
    "hmac_sha256_hex", header="X-Hub-Signature-256", id_header="X-GitHub-Delivery"
)
TIMESTAMPED = SignatureConfig("timestamped_hmac", header="Stripe-Signature")


def lower(headers: dict) -> dict:
    return {k.lower(): v for k, v in headers.items()}


def test_standard_webhooks_published_vector_verifies():
    # The example from the Standard Webhooks / Svix documentation.
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = b'{"test": 2432232314}'
    ok = verify(
        STANDARD,
        headers,
        body,
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
        now=1614265330 + 10,
    )
    assert (
        ok.timestamp == 1614265330 and ok.delivery_id == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    )
    with pytest.raises(SignatureError, match="does not match"):
        verify(
            STANDARD,
            headers,
            body.replace(b"2", b"3"),
            ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            now=1614265330,
        )
    with pytest.raises(SignatureError, match="tolerance"):
        verify(
            STANDARD,
            headers,
            body,
            ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            now=1614265330 + 301,
        )


def test_hub_signature_published_vector_verifies():
    # The example from GitHub's "validating webhook deliveries" documentation.
    headers = {
        "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "x-github-delivery": "d-1",
    }
    ok = verify(HUB, headers, b"Hello, World!", ["It's a Secret to Everybody"], now=0)
    assert ok.replay_key is None and ok.delivery_id == "d-1"
    with pytest.raises(SignatureError):
        verify(HUB, headers, b"Hello, World?", ["It's a Secret to Everybody"], now=0)


def test_timestamped_scheme_signs_t_dot_body_and_accepts_any_v1():
    body, secret, ts = b'{"id":"evt_1"}', "whsec_abc", 1_700_000_000
    mac = hmac.new(
        secret.encode(), f"{ts}.".encode() + body, hashlib.sha256
    ).hexdigest()
    header = {"stripe-signature": f"t={ts},v1={'0' * 64},v1={mac},v0=ignored"}
    assert verify(TIMESTAMPED, header, body, [secret], now=ts + 299).timestamp == ts
    assert sign(TIMESTAMPED, body, secret, timestamp=ts) == {
        "stripe-signature": f"t={ts},v1={mac}"
    }
    with pytest.raises(SignatureError, match="tolerance"):
        verify(TIMESTAMPED, header, body, [secret], now=ts - 301)  # from the future
    with pytest.raises(SignatureError, match="lacks"):
        verify(TIMESTAMPED, {"stripe-signature": f"v1={mac}"}, body, [secret], now=ts)
    # Changing the timestamp invalidates the signature: it is signed together with the body.
    with pytest.raises(SignatureError, match="does not match"):
        verify(
            TIMESTAMPED,
            {"stripe-signature": f"t={ts + 1},v1={mac}"},
            body,
            [secret],
            now=ts,
        )


@pytest.mark.parametrize("cfg", [STANDARD, HUB, TIMESTAMPED], ids=lambda c: c.scheme)
def test_rotation_wrong_secret_missing_header(cfg):
    body, ts = b'{"a":1}', 1_700_000_000
    old, new = "whsec_b2xkLXNlY3JldC1rZXk=", "whsec_bmV3LXNlY3JldC1rZXk="
    headers = lower(sign(cfg, body, old, timestamp=ts, msg_id="m1"))
    assert verify(
        cfg, headers, body, [new, old], now=ts
    )  # either configured secret may match
    with pytest.raises(SignatureError, match="does not match"):
        verify(cfg, headers, body, [new], now=ts)
    with pytest.raises(SignatureError, match="missing"):
        verify(cfg, {}, body, [old], now=ts)
    with pytest.raises(SignatureError, match="no signing secret"):
        verify(cfg, headers, body, [""], now=ts)


def test_replay_key_differs_per_delivery_and_never_holds_the_secret():
    body, secret = b'{"id":"evt_1"}', "whsec_abc"
    a = verify(
        TIMESTAMPED,
        sign(TIMESTAMPED, body, secret, timestamp=100),
        body,
        [secret],
        now=100,
    )
    b = verify(
        TIMESTAMPED,
        sign(TIMESTAMPED, body, secret, timestamp=101),
        body,
        [secret],
        now=101,
    )
    assert a.replay_key != b.replay_key  # a vendor retry is signed afresh: not a replay
    assert secret not in a.replay_key


def test_errors_never_contain_the_secret_or_expected_mac():
    body, secret, ts = b"{}", "whsec_c3VwZXItc2VjcmV0LWtleQ==", 1_700_000_000
    expected = sign(STANDARD, body, secret, timestamp=ts, msg_id="m")[
        "webhook-signature"
    ]
    forged = {
        "webhook-id": "m",
        "webhook-timestamp": str(ts),
        "webhook-signature": "v1,AAAA",
    }
    with pytest.raises(SignatureError) as err:
        verify(STANDARD, forged, body, [secret], now=ts)
    assert secret not in str(err.value) and expected[3:] not in str(err.value)
