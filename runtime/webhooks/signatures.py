"""Verifying (and, for loopback senders and tests, producing) webhook signatures.

Each scheme recomputes the HMAC over the exact bytes received and compares in constant time.
Timestamped schemes reject deliveries older or newer than `tolerance_seconds`, and give a
`replay_key` (a digest of what was signed) so an identical delivery seen again is a replay:
a vendor's own retry is signed afresh with a new timestamp. Errors are one line and never
contain the secret or the expected signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from runtime.webhooks.config import SignatureConfig

STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"
SECRET_PREFIX = "whsec_"


class SignatureError(ValueError):
    """Why a delivery was refused (safe to log and to answer with)."""


@dataclass(frozen=True)
class Verified:
    timestamp: int | None  # the signed send time, when the scheme has one
    replay_key: str | None  # None: the scheme cannot tell a replay from a redelivery
    delivery_id: str | None = None


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def standard_key(secret: str) -> bytes:
    """A Standard Webhooks secret is `whsec_` + base64 of the key; other text is the key."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError(
                "the configured signing secret is not whsec_<base64>"
            ) from None
    return secret.encode()


def _timestamp(raw: str | None, now: float, tolerance: int) -> int:
    if raw is None or not raw.strip().lstrip("-").isdigit():
        raise SignatureError("missing or malformed signature timestamp")
    ts = int(raw.strip())
    if abs(now - ts) > tolerance:
        raise SignatureError(
            f"signature timestamp is outside the {tolerance}s tolerance"
        )
    return ts


def _digest_key(*parts: bytes) -> str:
    return hashlib.sha256(b"\x00".join(parts)).hexdigest()


def verify(
    cfg: SignatureConfig,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float,
) -> Verified:
    """Check one delivery. `headers` has lower-case names. Any of `secrets` may match (so a
    secret can be rotated without downtime). Raises `SignatureError`."""
    keys = [s for s in secrets if s]
    if not keys:
        raise SignatureError("no signing secret is configured")
    header = headers.get(cfg.signature_header)
    if not header:
        raise SignatureError(f"missing {cfg.signature_header} header")
    if cfg.scheme == "timestamped_hmac":
        return _verify_timestamped(cfg, header, body, keys, now)
    if cfg.scheme == "hmac_sha256_hex":
        return _verify_body_hex(cfg, headers, header, body, keys)
    return _verify_standard(cfg, headers, header, body, keys, now)


def _verify_timestamped(
    cfg: SignatureConfig, header: str, body: bytes, keys: list[str], now: float
) -> Verified:
    items = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [v.strip() for k, v in items if k.strip() == "t"]
    given = [v.strip() for k, v in items if k.strip() == "v1"]
    if len(stamps) != 1 or not given:
        raise SignatureError("signature header lacks t=... and v1=...")
    message = stamps[0].encode() + b"." + body
    if not any(
        hmac.compare_digest(_hmac(k.encode(), message).hex(), g)
        for k in keys
        for g in given
    ):
        raise SignatureError("signature does not match")
    ts = _timestamp(stamps[0], now, cfg.tolerance_seconds)
    return Verified(ts, _digest_key(b"t", stamps[0].encode(), body))


def _verify_body_hex(
    cfg: SignatureConfig,
    headers: Mapping[str, str],
    header: str,
    body: bytes,
    keys: list[str],
) -> Verified:
    algo, _, given = header.strip().partition("=")
    if algo != "sha256" or not given:
        raise SignatureError("signature header is not sha256=<hex>")
    if not any(
        hmac.compare_digest(_hmac(k.encode(), body).hex(), given.lower()) for k in keys
    ):
        raise SignatureError("signature does not match")
    delivery = headers.get(cfg.id_header.lower()) if cfg.id_header else None
    return Verified(None, None, delivery)


def _verify_standard(
    cfg: SignatureConfig,
    headers: Mapping[str, str],
    header: str,
    body: bytes,
    keys: list[str],
    now: float,
) -> Verified:
    msg_id = headers.get(STANDARD_ID)
    raw_ts = headers.get(STANDARD_TIMESTAMP)
    if not msg_id:
        raise SignatureError(f"missing {STANDARD_ID} header")
    message = f"{msg_id}.{(raw_ts or '').strip()}.".encode() + body
    given = [part.split(",", 1)[1] for part in header.split() if part.startswith("v1,")]
    if not given:
        raise SignatureError("signature header has no v1,<base64> entry")
    expected = [
        base64.b64encode(_hmac(standard_key(k), message)).decode() for k in keys
    ]
    if not any(hmac.compare_digest(e, g) for e in expected for g in given):
        raise SignatureError("signature does not match")
    ts = _timestamp(raw_ts, now, cfg.tolerance_seconds)
    return Verified(
        ts, _digest_key(b"s", msg_id.encode(), str(ts).encode(), body), msg_id
    )


def sign(
    cfg: SignatureConfig, body: bytes, secret: str, *, timestamp: int, msg_id: str = ""
) -> dict[str, str]:
    """The headers a sender using `cfg` would attach (loopback senders, tests, docs examples)."""
    if cfg.scheme == "timestamped_hmac":
        mac = _hmac(secret.encode(), str(timestamp).encode() + b"." + body).hex()
        return {cfg.signature_header: f"t={timestamp},v1={mac}"}
    if cfg.scheme == "hmac_sha256_hex":
        out = {cfg.signature_header: "sha256=" + _hmac(secret.encode(), body).hex()}
        if cfg.id_header and msg_id:
            out[cfg.id_header.lower()] = msg_id
        return out
    mac = base64.b64encode(
        _hmac(standard_key(secret), f"{msg_id}.{timestamp}.".encode() + body)
    ).decode()
    return {
        STANDARD_ID: msg_id,
        STANDARD_TIMESTAMP: str(timestamp),
        cfg.signature_header: f"v1,{mac}",
    }
