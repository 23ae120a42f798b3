"""The generated source's contract against a live (loopback) API: credential probe,
schemas, config form, non-retryable errors."""

from __future__ import annotations

import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .support import config_for


@pytest.fixture
def stripe(connector):
    return connector("stripe")


def test_probe_accepts_the_right_key_and_rejects_a_wrong_one_without_echoing_it(
    stripe, emulator
):
    emu = emulator("stripe", rows=5)
    source = stripe.source_cls(allow_private_hosts=True)
    good = source.parse_config(config_for(stripe, emu))
    assert source.validate_credentials(good) == (True, None)
    assert source.validate_credentials(good, "customers") == (True, None)

    bad = source.parse_config(
        {**config_for(stripe, emu), "token": "sk_test_WRONG_KEY_123"}
    )
    ok, message = source.validate_credentials(bad)
    assert ok is False and "401" in message and "sk_test_WRONG_KEY_123" not in message
    # The probe reads one page only.
    assert (
        len(
            [
                r
                for r in emu.requests
                if r[1] == "/v1/customers" or r[1].startswith("/v1/")
            ]
        )
        <= 3
    )


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
        config = source.parse_config(
            {"token": "sk_test_x", "base_url": f"http://127.0.0.1:{server.server_port}"}
        )
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
    assert [f.field for f in customers.incremental_fields] == [
        f.field for f in catalog["customers"].incremental_fields
    ]
    assert customers.supports_webhooks  # declared by overrides/stripe.yaml
    form = source.get_source_config()
    fields = {f.name: f for f in form.fields}
    # Stripe's spec declares bearer and basic auth: one select, an option each.
    auth = fields["auth_method"]
    options = {o.value: {f.name: f for f in o.fields} for o in auth.options}
    assert auth.default_value == "bearer_auth" and set(options) == {
        "bearer_auth",
        "basic_auth",
    }
    assert options["bearer_auth"]["token"].type == "password"
    assert set(options["basic_auth"]) == {"username", "password"}
    # The webhook settings are a group of their own, marked as such.
    webhooks = fields["webhooks"]
    assert webhooks.to_json()["group"] == "webhooks"
    assert {f.name for f in webhooks.fields} == {
        "webhook_signing_secret",
        "webhook_events",
    }
    assert "webhook_signing_secret" not in fields
    assert (
        form.release_status == "beta" and form.unreleased is False
    )  # overrides/stripe.yaml


def test_non_retryable_errors_match_by_type_not_by_message(stripe):
    from runtime.http.client import CredentialsRejected, HttpError, NotFound

    source = stripe.source_cls()
    errors = source.get_non_retryable_errors()
    assert isinstance(errors, dict) and "CredentialsRejected" in errors
    rejected = CredentialsRejected(
        "GET customers: HTTP 401: no", status=401, endpoint="customers", url=""
    )
    assert source.non_retryable_reason(rejected) == (
        True,
        errors["CredentialsRejected"],
    )
    assert source.non_retryable_reason(NotFound("x", status=404, endpoint="e", url=""))[
        0
    ]
    # A retryable failure whose text happens to say 401 is not matched.
    exhausted = HttpError(
        "GET customers: HTTP 401 after 6 attempts", status=401, endpoint="c", url=""
    )
    assert source.non_retryable_reason(exhausted) == (False, None)
    assert source.non_retryable_reason(RuntimeError("HTTP 401 in a message")) == (
        False,
        None,
    )


def test_incremental_field_is_the_one_picked_and_an_unknown_one_names_those_offered(
    connector, emulator, tmp_path
):
    from runtime.source.sources import UnknownIncrementalField
    from runtime.delta.storage import parse_destination
    from runtime.state.store import StateStore
    from runtime.sync import run_sync
    from runtime.temporal.activities import sync_with_checkpoints

    from .support import cli_command, config_for

    klaviyo = connector("klaviyo")
    emu = emulator("klaviyo", rows=6)
    source = klaviyo.source_cls(allow_private_hosts=True)
    config = source.parse_config(config_for(klaviyo, emu))
    assert [f.field for f in klaviyo.catalog["email_campaigns"].incremental_fields] == [
        "updated_at",
        "created_at",
    ]
    with StateStore(tmp_path / "state.db") as store:
        for _ in range(2):  # the second run filters from the first run's watermark
            summary = run_sync(
                source,
                config,
                ["email_campaigns"],
                dest=str(tmp_path / "wh"),
                source_name="klaviyo",
                store=store,
                incremental_field="created_at",
            )
            assert summary.ok, summary.results[0].error
        filters = [
            r.query.get("filter", "")
            for r in emu.requests
            if r.path.endswith("/campaigns")
        ]
        assert any("greater-than(created_at," in f for f in filters)
        assert not any("updated_at" in f for f in filters)

        summary = run_sync(
            source,
            config,
            ["email_campaigns"],
            dest=str(tmp_path / "wh"),
            source_name="klaviyo",
            store=store,
            incremental_field="sent_at",
        )
        result = summary.results[0]
        assert (
            "offered: updated_at, created_at" in result.error and result.non_retryable
        )
        # The Temporal activity takes the same field from the request and fails the same way.
        with pytest.raises(
            UnknownIncrementalField, match="offered: updated_at, created_at"
        ):
            sync_with_checkpoints(
                source,
                config,
                "email_campaigns",
                source_name="klaviyo",
                dest=parse_destination(str(tmp_path / "wh")),
                store=store,
                owner="t",
                heartbeat_details=None,
                send=lambda *a: None,
                incremental_field="sent_at",
            )

    stripe = connector("stripe")
    argv, env = cli_command(
        stripe, emulator("stripe", rows=2), ["customers"], tmp_path / "cli"
    )
    done = subprocess.run(
        [*argv, "--incremental-field", "updated"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and not (tmp_path / "cli" / "stripe").exists()
    assert done.stderr.strip() == (
        "gen-source: --incremental-field: table 'customers' offers no incremental "
        "field 'updated' (offered: created)"
    )
