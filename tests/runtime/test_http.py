"""The client factory against a real loopback server: URL joining, host checks, the retry
policy (and the waits it asks for), metrics, logging context and redaction."""

from __future__ import annotations

import email.utils
import logging
import socket
import ssl

import httpx
import pytest

from runtime.http.hosts import UnsafeHostError, check_url, checked_transport
from runtime.http.client import HttpError, make_client
from runtime.http.redact import Redactor, protect
from tests.runtime.conftest import CONTEXT, Reply

NOW = 1_700_000_000.0


def test_relative_paths_keep_the_base_path(server, client_for):
    server.route("/api/v1/items", [Reply(200, {"ok": 1})])
    client = client_for(server.url + "/api/")
    client.get("/v1/items", endpoint="items")
    client.get("v1/items", {"limit": 5}, endpoint="items")
    assert [r.path for r in server.requests] == ["/api/v1/items", "/api/v1/items"]
    assert server.requests[1].query == {"limit": "5"}


def test_get_json_merges_params_into_an_absolute_url(server, client_for):
    server.route("/items", [Reply(200, {"data": [1, 2]})])
    client = client_for(server.url)
    response, body = client.get_json(
        server.url + "/items?page=2&limit=5", {"limit": 7}, endpoint="items"
    )
    assert body == {"data": [1, 2]}
    assert response.status_code == 200
    assert server.requests[0].query == {"page": "2", "limit": "7"}


def test_absolute_url_on_another_host_is_refused_before_sending(server, client_for):
    client = client_for(server.url)
    port = server.url.rsplit(":", 1)[1]
    with pytest.raises(UnsafeHostError, match="GET items: URL .* not on the API host"):
        client.get(f"http://localhost:{port}/items", endpoint="items")
    assert server.requests == []


def test_redirect_to_another_host_is_refused(server, client_for):
    port = server.url.rsplit(":", 1)[1]
    server.route(
        "/items", [Reply(302, headers={"Location": f"http://localhost:{port}/x"})]
    )
    server.route("/x", [Reply(200, [])])
    client = client_for(server.url)
    with pytest.raises(UnsafeHostError, match="leaves the API host"):
        client.get("/items", endpoint="items")
    assert server.hits("/x") == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/x", "loopback"),
        ("http://10.1.2.3/x", "private"),
        ("http://169.254.169.254/latest", "link-local"),
        ("http://224.0.0.1/x", "multicast"),
        ("http://[::1]:8080/x", "loopback"),
        ("http://[::ffff:192.168.0.1]/x", "private"),
        ("http://0.0.0.0/x", "unspecified"),
        ("http://100.64.0.1/x", "not global"),
    ],
)
def test_private_literal_addresses_are_refused(url, reason):
    with pytest.raises(UnsafeHostError, match=reason) as info:
        check_url(url)
    assert "\n" not in str(info.value)
    assert check_url(url, allow_private_hosts=True).host


def test_hostnames_are_resolved_before_trusting_them(monkeypatch):
    answers = {"inside.example": "10.0.0.7", "outside.example": "93.184.216.34"}

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(UnsafeHostError, match="inside.example.*10.0.0.7.*private"):
        make_client("https://inside.example/v1", auth=None, credentials={}, context={})
    client = make_client(
        "https://outside.example/v1", auth=None, credentials={}, context={}
    )
    client.close()


def test_a_name_that_re_resolves_to_a_private_address_is_refused_at_connect_time(
    server, monkeypatch
):
    """DNS rebinding: public when the client is made, loopback when it connects. The check on
    the address actually connected to refuses it, and the loopback server never sees a request."""
    port = int(server.url.rsplit(":", 1)[1])
    answers = iter(["93.184.216.34"])  # the first answer only; then the attacker's

    def rebinding_getaddrinfo(host, port_, *args, **kwargs):
        address = next(answers, "127.0.0.1") if host == "rebind.example" else host
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port_))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    client = make_client(
        f"http://rebind.example:{port}",
        auth=None,
        credentials={},
        context={},
        max_attempts=1,
    )
    try:
        with pytest.raises(
            UnsafeHostError,
            match=r"rebind.example.*127.0.0.1, a loopback address, when connecting",
        ):
            client.get("/items", endpoint="items")
    finally:
        client.close()
    assert server.requests == []


def test_connect_time_check_keeps_connect_errors_retryable_and_steps_aside_for_proxies(
    monkeypatch, waits
):
    def public_but_unreachable(host, port, *args, **kwargs):
        raise OSError(-2, "Name or service not known")

    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: (
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
            if host == "api.example"
            else public_but_unreachable(host, port)
        ),
    )
    client = make_client(
        "https://api.example/v1",
        auth=None,
        credentials={},
        context={},
        max_attempts=2,
        sleep=waits,
    )
    monkeypatch.setattr(
        socket, "getaddrinfo", public_but_unreachable
    )  # DNS fails at connect time
    try:
        with pytest.raises(HttpError, match="ConnectError.*after 2 attempts"):
            client.get("/items", endpoint="items")
    finally:
        client.close()
    assert len(waits.waits) == 1  # retried like any connect error
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert (
        checked_transport(ssl.create_default_context()) is None
    )  # the proxy resolves; httpx's proxy handling stays


def test_loopback_base_url_needs_allow_private_hosts(server):
    with pytest.raises(UnsafeHostError, match="loopback"):
        make_client(server.url, auth=None, credentials={}, context={})


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "file:///etc/passwd", "nonsense"]
)
def test_only_http_and_https_are_accepted(url):
    with pytest.raises(UnsafeHostError):
        check_url(url, allow_private_hosts=True)


def test_429_retry_after_seconds_is_honoured(server, client_for, waits):
    server.route(
        "/items", [Reply(429, {}, {"Retry-After": "7"}), Reply(200, {"ok": True})]
    )
    client = client_for(server.url)
    _, body = client.get_json("/items", endpoint="items")
    assert body == {"ok": True}
    assert waits.waits == [7.0]
    assert client.metrics.by_status == {429: 1, 200: 1}
    assert client.metrics.retries == 1
    assert client.metrics.wait_seconds == 7.0


def test_429_retry_after_http_date_is_honoured(server, client_for, waits):
    later = email.utils.formatdate(NOW + 12, usegmt=True)
    server.route("/items", [Reply(429, {}, {"Retry-After": later}), Reply(200, [])])
    client = client_for(server.url, clock=lambda: NOW)
    client.get("/items", endpoint="items")
    assert waits.waits == [12.0]


def test_rate_limit_reset_epoch_and_max_wait_cap(server, client_for, waits):
    server.route(
        "/items",
        [
            Reply(429, {}, {"X-RateLimit-Reset": str(int(NOW) + 5)}),
            Reply(429, {}, {"Retry-After": "999"}),
            Reply(403, {}, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"}),
            Reply(200, []),
        ],
    )
    client = client_for(server.url, clock=lambda: NOW, max_wait=60.0)
    client.get("/items", endpoint="items")
    assert waits.waits == [5.0, 60.0, 3.0]


def test_5xx_burst_backs_off_exponentially_then_succeeds(server, client_for, waits):
    server.route(
        "/items", [Reply(500), Reply(502), Reply(503), Reply(504), Reply(200, [1])]
    )
    client = client_for(server.url, backoff=0.01)
    _, body = client.get_json("/items", endpoint="items")
    assert body == [1]
    assert len(waits.waits) == 4
    for attempt, wait in enumerate(waits.waits):
        base = 0.01 * 2**attempt
        assert (
            base <= wait <= base + 0.01
        )  # exponential plus at most one unit of jitter
    assert client.metrics.requests == 5
    assert client.metrics.by_status == {500: 1, 502: 1, 503: 1, 504: 1, 200: 1}


def test_exhausted_attempts_raise_a_clear_error(server, client_for, waits):
    server.route("/items", [Reply(503, {"error": "down"})])
    client = client_for(server.url, max_attempts=3, backoff=0.001)
    with pytest.raises(HttpError) as info:
        client.get("/items", {"limit": 2}, endpoint="items")
    error = info.value
    assert (
        str(error) == f"GET items {server.url}/items?limit=2: HTTP 503 after 3 attempts"
    )
    assert (error.status, error.endpoint, error.attempts) == (503, "items", 3)
    assert error.url == f"{server.url}/items?limit=2"
    assert len(server.hits("/items")) == 3
    assert len(waits.waits) == 2


def test_non_retryable_4xx_fails_at_once_with_an_excerpt(server, client_for, waits):
    server.route("/items", [Reply(404, {"message": "no such\nthing"})])
    client = client_for(server.url)
    with pytest.raises(
        HttpError, match=r'HTTP 404: \{"message": "no such\\nthing"\}'
    ) as info:
        client.get("/items", endpoint="items")
    assert info.value.status == 404
    assert "\n" not in str(info.value)
    assert len(server.requests) == 1
    assert waits.waits == []


def test_connection_reset_mid_body_is_retried(server, client_for):
    full = {"data": list(range(50))}
    server.route("/items", [Reply(200, full, cut_after=10), Reply(200, full)])
    client = client_for(server.url, backoff=0.001)
    _, body = client.get_json("/items", endpoint="items")
    assert body == full
    assert client.metrics.transport_errors == {"RemoteProtocolError": 1}
    assert client.metrics.retries == 1


def test_truncated_json_then_success(server, client_for):
    server.route(
        "/items", [Reply(200, b'{"data": [1, 2'), Reply(200, {"data": [1, 2]})]
    )
    client = client_for(server.url, backoff=0.001)
    _, body = client.get_json("/items", endpoint="items")
    assert body == {"data": [1, 2]}
    assert len(server.requests) == 2


def test_truncated_json_every_time_names_the_problem(server, client_for):
    server.route("/items", [Reply(200, b'{"data": [')])
    client = client_for(server.url, backoff=0.001, max_attempts=2)
    with pytest.raises(HttpError, match="not valid JSON after 2 attempts"):
        client.get_json("/items", endpoint="items")


def test_read_timeout_is_retried(server, client_for):
    # 0.5 s: the retried answer must come within it even on a loaded machine.
    server.route("/items", [Reply(200, [], delay=1.5), Reply(200, [7])])
    client = client_for(server.url, timeout=0.5, backoff=0.001)
    _, body = client.get_json("/items", endpoint="items")
    assert body == [7]
    assert client.metrics.transport_errors == {"ReadTimeout": 1}


def test_connect_errors_exhaust_into_http_error(client_for, waits):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = client_for(f"http://127.0.0.1:{port}", max_attempts=2, backoff=0.001)
    with pytest.raises(HttpError, match="ConnectError.*after 2 attempts") as info:
        client.get("/x", endpoint="x")
    assert info.value.status is None
    assert len(waits.waits) == 1


def test_metrics_count_bytes_and_latency(server, client_for):
    server.route("/a", [Reply(200, b"[1,2,3]")])
    server.route("/b", [Reply(200, b'{"x": "yyyy"}')])
    client = client_for(server.url)
    client.get("/a", endpoint="a")
    client.get("/b", endpoint="b")
    assert client.metrics.requests == 2
    assert client.metrics.bytes == len(b"[1,2,3]") + len(b'{"x": "yyyy"}')
    assert client.metrics.latency_seconds > 0
    assert client.metrics.as_dict()["by_status"] == {"200": 2}


def test_log_lines_carry_the_run_context(server, client_for, caplog):
    server.route("/items", [Reply(503), Reply(200, [])])
    client = client_for(server.url, backoff=0.001)
    with caplog.at_level(logging.DEBUG, logger="runtime"):
        client.get("/items", endpoint="items")
    ours = [r for r in caplog.records if r.name.startswith("runtime")]
    assert any("retry 1/5" in r.getMessage() for r in ours)
    assert ours
    for record in ours:
        assert (record.source, record.schema, record.job_id) == (
            "testsrc",
            "things",
            "job-42",
        )
        assert record.context == CONTEXT


def test_context_manager_closes_the_client(server, client_for):
    server.route("/items", [Reply(200, [])])
    with client_for(server.url) as client:
        client.get("/items", endpoint="items")
    with pytest.raises(RuntimeError):
        client.get("/items", endpoint="items")


SECRET_TOKEN = "tok_live_S3cr3t+/value"
SECRET_KEY = "key-9f8e7d6c5b4a"


def test_secrets_never_reach_logs_or_errors(server, client_for, caplog):
    def echo(seen):  # a hostile API that echoes credentials back in error bodies
        return Reply(
            401, {"error": f"bad {seen.headers.get('authorization')} {seen.raw_query}"}
        )

    server.route("/echo", echo)
    server.route("/down", [Reply(503)])
    server.route(
        "/cut", [Reply(200, b'{"x": "' + SECRET_KEY.encode() + b'"}', cut_after=5)]
    )
    bearer = client_for(
        server.url, auth={"type": "bearer"}, credentials={"token": SECRET_TOKEN}
    )
    keyed = client_for(
        server.url,
        auth={"type": "api_key", "name": "api_key", "in": "query"},
        credentials={"api_key": SECRET_KEY},
        max_attempts=2,
        backoff=0.001,
    )
    errors = []
    with caplog.at_level(logging.DEBUG):
        for client in (bearer, keyed):
            for path in ("/echo", "/down", "/cut"):
                with pytest.raises(HttpError) as info:
                    client.get(path, {"q": "x"}, endpoint="items")
                errors.append(str(info.value))
        logging.getLogger("runtime.http.client").warning("planted %s", SECRET_KEY)
    # The secrets were really sent (the test would be empty otherwise) ...
    assert server.hits("/echo")[0].headers["authorization"] == f"Bearer {SECRET_TOKEN}"
    assert server.hits("/echo")[1].query["api_key"] == SECRET_KEY
    assert any(
        "api_key=" in r.getMessage() for r in caplog.records if r.name == "httpx"
    )
    # ... and appear nowhere in what we log or raise, in any encoding.
    text = caplog.text + "\n".join(errors)
    for secret in (SECRET_TOKEN, SECRET_KEY, "tok_live_S3cr3t%2B%2Fvalue", "S3cr3t"):
        assert secret not in text
    assert "***" in errors[0]


def test_injected_transport_is_used():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={"ok": 1})

    client = make_client(
        "https://93.184.216.34/base",
        auth=None,
        credentials={},
        context={},
        transport=httpx.MockTransport(handler),
        headers={"X-Extra": "1"},
    )
    with client:
        _, body = client.get_json("/things", endpoint="things")
    assert body == {"ok": 1}
    assert seen == ["https://93.184.216.34/base/things"]


def test_redactor_masks_encoded_forms_and_ignores_short_values():
    redactor = Redactor(["a b/c+d=", "abc", ""])
    assert redactor.redact("raw a b/c+d= url a%20b%2Fc%2Bd%3D form a+b%2Fc%2Bd%3D") == (
        "raw *** url *** form ***"
    )
    assert redactor.redact("abc stays") == "abc stays"
    redactor.add_basic("user", "pass-word")
    assert redactor.redact("Basic dXNlcjpwYXNzLXdvcmQ=") == "Basic ***"


def test_protect_extends_to_named_loggers(caplog):
    redactor = Redactor(["zz-secret-zz"])
    protect(redactor, "tests.elsewhere")
    with caplog.at_level(logging.INFO, logger="tests.elsewhere"):
        logging.getLogger("tests.elsewhere").info("token=%s", "zz-secret-zz")
        try:
            raise ValueError("zz-secret-zz")
        except ValueError:
            logging.getLogger("tests.elsewhere").exception("failed")
    assert "zz-secret-zz" not in caplog.text
    assert "token=***" in caplog.text
