"""How long a server asks a client to wait before trying again.

Why a module of its own: reading `Retry-After` (seconds or an HTTP date) and
`X-RateLimit-Reset` (epoch seconds, or seconds when small) is pure header parsing; the retry
loop in `runtime.http.client` only asks it for a number.
"""

from __future__ import annotations

import email.utils

import httpx

# X-RateLimit-Reset above this is an epoch time, below it a number of seconds.
EPOCH_THRESHOLD = 1_000_000_000


def parse_wait_hint(response: httpx.Response, now: float) -> float | None:
    """Seconds the server asks us to wait: `Retry-After` (seconds or HTTP date), else
    `X-RateLimit-Reset` on a rate-limit answer (epoch seconds, or seconds when small)."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        text = retry_after.strip()
        try:
            return max(0.0, float(text))
        except ValueError:
            pass
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            moment = None
        if moment is not None:
            return max(0.0, moment.timestamp() - now)
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and is_rate_limited(response):
        try:
            value = float(reset.strip())
        except ValueError:
            return None
        return max(0.0, value - now if value > EPOCH_THRESHOLD else value)
    return None


def is_rate_limited(response: httpx.Response) -> bool:
    """429, or the `403 + X-RateLimit-Remaining: 0` pattern some APIs use for exhausted quotas."""
    if response.status_code == 429:
        return True
    remaining = response.headers.get("X-RateLimit-Remaining", "").strip()
    return response.status_code == 403 and remaining == "0"
