"""The generated source's contract against a live (loopback) API: credential probe,
schemas, config form, non-retryable errors."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .support import config_for


@pytest.fixture
def stripe(connector):
    return connector("stripe")


def test_probe_accepts_the_right_key_and_rejects_a_wrong_one_without_echoing_it(stripe, emulator):
    emu = emulator("stripe", rows=5)
    source = stripe.source_cls(allow_private_hosts=True)
    good = source.parse_config(config_for(stripe, emu))
    assert source.validate_credentials(good) == (True, None)
    assert source.validate_credentials(good, "customers") == (True, None)

    bad = source.parse_config({**config_for(stripe, emu), "token": "sk_test_WRONG_KEY_123"})
    ok, message = source.validate_credentials(bad)
    assert ok is False and "401" in message and "sk_test_WRONG_KEY_123" not in message
    # The probe reads one page only.
    assert len([r for r in emu.requests if r[1] == "/v1/customers" or r[1].startswith("/v1/")]) <= 3


class _Forbidden(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        body = b'{"error": {"message": "this key lacks a permission"}}'
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_403_is_accepted_only_when_no_table_is_named(stripe):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = stripe.source_cls(allow_private_hosts=True)
        config = source.parse_config({"token": "sk_test_x", "base_url": f"http://127.0.0.1:{server.server_port}"})
        assert source.validate_credentials(config) == (True, None)
        ok, message = source.validate_credentials(config, "charges")
        assert ok is False and "403" in message
    finally:
        server.shutdown()
        server.server_close()


def test_schemas_config_form_and_errors_follow_the_catalog(stripe):
    source = stripe.source_cls()
    catalog = stripe.package.settings.ENDPOINTS
    schemas = {s.name: s for s in source.get_schemas(None)}
    assert set(schemas) == {n for n, e in catalog.items() if e.selected}
    customers = schemas["customers"]
    assert customers.supports_incremental and customers.primary_key == ["id"]
    assert [f.field for f in customers.incremental_fields] == [f.field for f in catalog["customers"].incremental_fields]
    assert customers.supports_webhooks  # declared by overrides/stripe.yaml
    form = source.get_source_config()
    fields = {f.name: f for f in form.fields}
    # Stripe's spec declares bearer and basic auth: one select, an option each.
    auth = fields["auth_method"]
    options = {o.value: {f.name: f for f in o.fields} for o in auth.options}
    assert auth.default_value == "bearer_auth" and set(options) == {"bearer_auth", "basic_auth"}
    assert options["bearer_auth"]["token"].type == "password"
    assert set(options["basic_auth"]) == {"username", "password"}
    # The webhook settings are a group of their own, marked as such.
    webhooks = fields["webhooks"]
    assert webhooks.to_json()["group"] == "webhooks"
    assert {f.name for f in webhooks.fields} == {"webhook_signing_secret", "webhook_events"}
    assert "webhook_signing_secret" not in fields
    assert form.release_status == "beta" and form.unreleased is False  # overrides/stripe.yaml


def test_non_retryable_errors_match_by_type_not_by_message(stripe):
    from runtime.http.client import CredentialsRejected, HttpError, NotFound

    source = stripe.source_cls()
    errors = source.get_non_retryable_errors()
    assert isinstance(errors, dict) and "CredentialsRejected" in errors
    rejected = CredentialsRejected("GET customers: HTTP 401: no", status=401, endpoint="customers", url="")
    assert source.non_retryable_reason(rejected) == (True, errors["CredentialsRejected"])
    assert source.non_retryable_reason(NotFound("x", status=404, endpoint="e", url=""))[0]
    # A retryable failure whose text happens to say 401 is not matched.
    exhausted = HttpError("GET customers: HTTP 401 after 6 attempts", status=401, endpoint="c", url="")
    assert source.non_retryable_reason(exhausted) == (False, None)
    assert source.non_retryable_reason(RuntimeError("HTTP 401 in a message")) == (False, None)
