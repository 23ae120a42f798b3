"""The one HTTP client every generated connector reads through.

`make_client` checks the API host is public, wires auth and redaction, and returns a
`TrackedClient` whose `get` retries what is worth retrying (429, 5xx, dropped connections,
truncated JSON), honours the server's `Retry-After` / `X-RateLimit-Reset`, counts what it did in
`client.metrics`, and never lets a secret reach a log line or an error message.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Self

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from runtime.errors import UserError
from runtime.http.auth import build_auth, token_url_of

# The host checks live in `runtime.http.hosts`. `UnsafeHostError` and `check_url` stay importable
# from here too, on purpose: code written against runtime.http.client keeps working.
from runtime.http.hosts import (
    DEFAULT_PORTS,
    UnsafeHostError,
    check_url,
    checked_transport,
)
from runtime.http.redact import Redactor, protect
from runtime.http.waits import is_rate_limited, parse_wait_hint

log = logging.getLogger("runtime.http.client")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_EXCEPTIONS = (
    httpx.TimeoutException,
    httpx.NetworkError,  # connect / read / write / close errors
    httpx.RemoteProtocolError,  # the server dropped the connection mid-body
    httpx.DecodingError,  # a truncated gzip body
)


class HttpError(UserError, RuntimeError):
    """A request that failed for good: a non-retryable status, or retries exhausted."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        endpoint: str,
        url: str,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint
        self.url = url
        self.attempts = attempts


class CredentialsRejected(HttpError):
    """HTTP 401: the API refused the credentials."""


class PermissionDenied(HttpError):
    """HTTP 403 (not a rate limit): the credentials lack a permission or scope."""


class NotFound(HttpError):
    """HTTP 404: the resource (or a config path parameter's value) does not exist."""


STATUS_ERRORS: dict[int, type[HttpError]] = {
    401: CredentialsRejected,
    403: PermissionDenied,
    404: NotFound,
}


class _Retryable(Exception):
    """Raised inside one attempt to ask tenacity for another; carries what went wrong."""

    def __init__(self, reason: str, response: httpx.Response | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response


@dataclass
class ClientMetrics:
    """What a client did: every attempt counts as a request."""

    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    transport_errors: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    latency_seconds: float = 0.0
    retries: int = 0
    wait_seconds: float = 0.0

    def as_dict(self) -> dict:
        return {
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "transport_errors": dict(sorted(self.transport_errors.items())),
            "bytes": self.bytes,
            "latency_seconds": round(self.latency_seconds, 6),
            "retries": self.retries,
            "wait_seconds": round(self.wait_seconds, 6),
        }


class ContextAdapter(logging.LoggerAdapter):
    """Puts the run context (`source`, `schema`, `job_id`) on every record as attributes and as
    `record.context`, keeping any `extra` the caller adds."""

    def process(self, msg, kwargs):
        kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}
        return msg, kwargs


def _context_extra(context: dict) -> dict:
    record_fields = logging.LogRecord("", 0, "", 0, "", None, None).__dict__
    reserved = set(record_fields) | {"message", "asctime"}
    extra = {k: v for k, v in context.items() if k not in reserved}
    extra["context"] = dict(context)
    return extra


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme, 0)


class ServerHintWait(wait_base):
    """Wait what the server asked (capped by `max_wait`), else exponential backoff with jitter."""

    def __init__(
        self, *, max_wait: float, multiplier: float, clock: Callable[[], float]
    ) -> None:
        self.max_wait = max_wait
        self.clock = clock
        self.fallback = wait_exponential_jitter(
            multiplier=multiplier, jitter=multiplier, max=max_wait
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        response = getattr(exc, "response", None)
        if response is not None:
            hinted = parse_wait_hint(response, self.clock())
            if hinted is not None:
                return min(hinted, self.max_wait)
        return self.fallback(retry_state)


class TrackedClient:
    """An `httpx.Client` bound to one API: host-checked, retried, measured, redacted."""

    def __init__(
        self,
        base_url: httpx.URL,
        http: httpx.Client,
        *,
        redactor: Redactor,
        context: dict,
        max_attempts: int,
        max_wait: float,
        backoff: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.base_url = base_url
        self.redactor = redactor
        self.context = dict(context)
        self.log = ContextAdapter(log, _context_extra(self.context))
        self.metrics = ClientMetrics()
        self.max_attempts = max_attempts
        self._http = http
        self._sleep = sleep
        self._wait = ServerHintWait(max_wait=max_wait, multiplier=backoff, clock=clock)
        self._lock = threading.Lock()
        # A rate-limited answer pauses the whole API, not only its own request: while a
        # thread sleeps the wait the server asked for, no other thread starts a request
        # (`sync --concurrency` reads fan-out children on several threads).
        self._paused = threading.Condition()
        self._pausing = 0  # threads sleeping a rate-limit wait
        self._local = threading.local()  # whether this thread's next sleep is one

    # -- URLs -------------------------------------------------------------------------------
    def resolve(self, url_or_path: str, *, endpoint: str) -> httpx.URL:
        """A path joins the base URL (keeping its path); an absolute URL must be on the API host."""
        if "://" in url_or_path:
            url = httpx.URL(url_or_path)
            base_scheme, base_host, base_port = _origin(self.base_url)
            scheme, host, port = _origin(url)
            upgraded = base_scheme == "http" and scheme == "https"
            if (
                host != base_host
                or (scheme != base_scheme and not upgraded)
                or (port != base_port and not upgraded)
            ):
                raise UnsafeHostError(
                    f"GET {endpoint}: URL {self.redact(url_or_path)} is not on the API host"
                    f" {base_host}; refusing to follow it"
                )
            return url
        base = str(self.base_url.copy_with(query=None, fragment=None)).rstrip("/")
        sep = "" if url_or_path.startswith("/") else "/"
        return httpx.URL(base + sep + url_or_path)

    def redact(self, text: object) -> str:
        return self.redactor.redact(text)

    def strip_secrets(self, url: str) -> str:
        """`url` without query parameters whose value is a secret (safe to store in resume
        state; a query API key is added back by the auth on every request)."""
        parsed = httpx.URL(url)
        keep = [
            (k, v)
            for k, v in parsed.params.multi_items()
            if not self.redactor.contains_secret(v)
        ]
        if len(keep) == len(parsed.params.multi_items()):
            return url
        return str(parsed.copy_with(params=httpx.QueryParams(keep)))

    # -- requests ---------------------------------------------------------------------------
    def get(
        self,
        url_or_path: str,
        params: dict | None = None,
        *,
        endpoint: str,
        expect_json: bool = True,
    ) -> httpx.Response:
        """GET with retries. Raises `HttpError` (redacted, one line) when it finally fails."""
        return self._request(
            url_or_path, params, endpoint=endpoint, expect_json=expect_json
        )[0]

    def get_json(
        self, url_or_path: str, params: dict | None = None, *, endpoint: str
    ) -> tuple[httpx.Response, object]:
        """GET and parse the body with orjson; a 2xx body that does not parse is retried."""
        return self._request(url_or_path, params, endpoint=endpoint, expect_json=True)

    def send_once(
        self,
        method: str,
        url: httpx.URL,
        *,
        content: bytes | None = None,
        json: dict | None = None,
        headers: dict | None = None,
    ) -> httpx.Response:
        """One request that is never retried (a POST that creates something must not run
        twice), counted in the metrics like any other. Transport errors are raised as they are."""
        started = time.perf_counter()
        try:
            response = self._http.request(
                method, url, content=content, json=json, headers=headers
            )
        except httpx.HTTPError as exc:
            self._count(None, 0, time.perf_counter() - started, type(exc).__name__)
            raise
        self._count(
            response.status_code,
            len(response.content),
            time.perf_counter() - started,
            None,
        )
        return response

    def _request(
        self, url_or_path: str, params: dict | None, *, endpoint: str, expect_json: bool
    ) -> tuple[httpx.Response, object]:
        url = self.resolve(url_or_path, endpoint=endpoint)
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        if clean:
            url = url.copy_merge_params(clean)
        safe_url = self.redact(str(url))
        where = f"GET {endpoint} {safe_url}"
        self._wait_while_paused()
        retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep_and_count,
            before_sleep=lambda state: self._log_retry(state, where),
            reraise=True,
        )
        try:
            return retrying(self._attempt, url, where, expect_json)
        except _Retryable as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise HttpError(
                f"{where}: {self.redact(exc.reason)} after {self.max_attempts} attempts",
                status=status,
                endpoint=endpoint,
                url=safe_url,
                attempts=self.max_attempts,
            ) from None
        except HttpError as exc:
            exc.endpoint, exc.url = endpoint, safe_url
            raise
        except UnsafeHostError as exc:
            raise UnsafeHostError(f"{where}: {self.redact(exc)}") from None

    def _attempt(
        self, url: httpx.URL, where: str, expect_json: bool
    ) -> tuple[httpx.Response, object]:
        started = time.perf_counter()
        try:
            response = self._http.get(url)
        except RETRY_EXCEPTIONS as exc:
            self._count(None, 0, time.perf_counter() - started, type(exc).__name__)
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise _Retryable(reason) from None
        except httpx.HTTPError as exc:
            self._count(None, 0, time.perf_counter() - started, type(exc).__name__)
            raise HttpError(
                f"{where}: {type(exc).__name__}: {self.redact(exc)}",
                status=None,
                endpoint="",
                url="",
            ) from None
        elapsed = time.perf_counter() - started
        status = response.status_code
        self._count(status, len(response.content), elapsed, None)
        self.log.debug(
            "%s -> %s (%d bytes, %.3fs)", where, status, len(response.content), elapsed
        )
        if status in RETRY_STATUSES or (status == 403 and is_rate_limited(response)):
            raise _Retryable(f"HTTP {status}", response)
        if not 200 <= status < 300:
            # Redact before cutting, so a cut cannot leave half a secret unmasked.
            excerpt = self.redact(" ".join(response.text[:2000].split()))[:200]
            raise STATUS_ERRORS.get(status, HttpError)(
                f"{where}: HTTP {status}: {excerpt}",
                status=status,
                endpoint="",
                url="",
            )
        if not expect_json or status == 204 or (not response.content and status != 200):
            return response, None
        try:
            return response, orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise _Retryable(
                f"HTTP {status} with a body that is not valid JSON", response
            ) from None

    def _count(
        self, status: int | None, size: int, elapsed: float, error: str | None
    ) -> None:
        with self._lock:
            m = self.metrics
            m.requests += 1
            m.bytes += size
            m.latency_seconds += elapsed
            if status is not None:
                m.by_status[status] = m.by_status.get(status, 0) + 1
            if error:
                m.transport_errors[error] = m.transport_errors.get(error, 0) + 1

    def _sleep_and_count(self, seconds: float) -> None:
        with self._lock:
            self.metrics.retries += 1
            self.metrics.wait_seconds += seconds
        pausing = getattr(self._local, "rate_limited", False)
        self._local.rate_limited = False
        if not pausing:
            self._sleep(seconds)
            return
        with self._paused:
            self._pausing += 1
        try:
            self._sleep(seconds)
        finally:
            with self._paused:
                self._pausing -= 1
                self._paused.notify_all()

    def _wait_while_paused(self) -> None:
        with self._paused:
            self._paused.wait_for(lambda: not self._pausing)

    def _log_retry(self, state: RetryCallState, where: str) -> None:
        exc = state.outcome.exception() if state.outcome else None
        response = getattr(exc, "response", None)
        self._local.rate_limited = response is not None and is_rate_limited(response)
        reason = exc.reason if isinstance(exc, _Retryable) else repr(exc)
        wait = state.next_action.sleep if state.next_action else 0.0
        self.log.warning(
            "%s: %s; retry %d/%d in %.2fs",
            where,
            self.redact(reason),
            state.attempt_number,
            self.max_attempts - 1,
            wait,
        )

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building one costs 30-60 ms, and a sync makes a
    client per table (a replay suite, hundreds)."""
    import certifi  # httpx's own CA bundle, as its default `verify=True` uses

    return ssl.create_default_context(cafile=certifi.where())


def make_client(
    base_url: str,
    *,
    auth: dict | None,
    credentials: dict,
    context: dict,
    allow_private_hosts: bool = False,
    timeout: float = 30.0,
    max_attempts: int = 6,
    max_wait: float = 60.0,
    transport: httpx.BaseTransport | None = None,
    headers: dict | None = None,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> TrackedClient:
    """The client for one API. `backoff` scales the exponential waits, `sleep` and `clock` are
    injectable so tests can record the waits instead of sleeping them."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    parsed = check_url(base_url, allow_private_hosts=allow_private_hosts)
    redactor = Redactor()
    protect(redactor)
    httpx_auth = build_auth(auth, credentials, redactor)
    allowed = {parsed.host}
    token_url = token_url_of(httpx_auth)
    if token_url:
        allowed.add(check_url(token_url, allow_private_hosts=allow_private_hosts).host)

    def check_request_host(request: httpx.Request) -> None:
        """Every request, redirects and token fetches included, stays on the allowed hosts."""
        url = request.url
        if url.host not in allowed or url.scheme not in ("http", "https"):
            raise UnsafeHostError(
                f"request to {redactor.redact(request.url.copy_with(query=None))} leaves the"
                f" API host {parsed.host}; refusing it"
            )

    if transport is None and not allow_private_hosts:
        transport = checked_transport(
            tls_context()
        )  # re-checks addresses at connect time
    http = httpx.Client(
        auth=httpx_auth,
        headers={
            "User-Agent": "gen-source-runtime",
            "Accept": "application/json",
            **(headers or {}),
        },
        timeout=timeout,
        transport=transport,
        verify=tls_context(),
        follow_redirects=True,
        event_hooks={"request": [check_request_host]},
    )
    return TrackedClient(
        parsed,
        http,
        redactor=redactor,
        context=context,
        max_attempts=max_attempts,
        max_wait=max_wait,
        backoff=backoff,
        sleep=sleep,
        clock=clock,
    )
