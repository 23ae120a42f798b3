"""The webhook plan from a small spec with operation callbacks and JSON subscription endpoints,
override validation (one line naming the key) and merging, and the rendered module."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import black
import pytest

from generator.analysis import analyse
from generator.overrides import OverrideError
from generator.generate import Options, make_plan
from generator.spec.loader import load_path
from generator.webhooks.overrides import validate_webhook_overrides
from generator.webhooks.plan import plan_webhooks
from generator.webhooks.render import webhooks_context
from runtime.source.connector import load_connector

from .conftest import ROOT

SPEC = textwrap.dedent("""
    openapi: 3.1.0
    info: {title: Widgets, version: "1"}
    servers: [{url: https://api.widgets.test/v2}]
    paths:
      /v2/widgets:
        get:
          operationId: listWidgets
          responses:
            "200":
              description: ok
              content:
                application/json:
                  schema: {type: object, properties: {data: {type: array, items: {$ref: "#/components/schemas/Widget"}}}}
        post:
          operationId: createWidget
          responses: {"201": {description: created}}
          callbacks:
            widgetChanged:
              "{$request.body#/callback}":
                post:
                  requestBody:
                    content:
                      application/json:
                        schema: {$ref: "#/components/schemas/WidgetEvent"}
                  responses: {"200": {description: ok}}
      /v2/widgets/{widget_id}:
        get:
          operationId: getWidget
          parameters: [{name: widget_id, in: path, required: true, schema: {type: string}}]
          responses:
            "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}}
      /v2/hooks:
        get:
          operationId: listHooks
          responses:
            "200":
              description: ok
              content: {application/json: {schema: {type: object, properties: {data: {type: array, items: {type: object}}}}}}
        post:
          operationId: createHook
          requestBody:
            content:
              application/json:
                schema:
                  type: object
                  required: [url]
                  properties:
                    url: {type: string}
                    events: {type: array, items: {type: string, enum: [widget.updated, widget.deleted, gadget.updated]}}
          responses:
            "201":
              description: ok
              content: {application/json: {schema: {type: object, properties: {id: {type: string}, signing_secret: {type: string}}}}}
      /v2/hooks/{hook_id}:
        delete:
          operationId: deleteHook
          parameters: [{name: hook_id, in: path, required: true, schema: {type: string}}]
          responses: {"204": {description: gone}}
    components:
      schemas:
        Widget:
          type: object
          properties: {id: {type: string}, name: {type: string}, deleted: {type: boolean}, updated_at: {type: string, format: date-time}}
        WidgetEvent:
          type: object
          properties:
            id: {type: string}
            type: {type: string, enum: [widget.updated]}
            occurred_at: {type: string, format: date-time}
            data: {type: object, properties: {object: {$ref: "#/components/schemas/Widget"}}}
""")


@pytest.fixture
def widgets(tmp_path):
    path = tmp_path / "widgets.yaml"
    path.write_text(SPEC)
    spec = load_path(path, validate_spec=False)
    plan = analyse(spec, "widgets")
    for ep in plan.endpoints:
        ep.selected = ep.name == "widgets"
    return spec, plan


def test_callbacks_and_json_subscription_endpoints(widgets):
    spec, plan = widgets
    wp = plan_webhooks(spec, plan, None)
    (event,) = wp.events
    assert (event.type, event.table, event.object_type, event.origin) == (
        "widget.updated",
        "widgets",
        "widget",
        "callback",
    )
    assert (wp.object_path, wp.created_path, wp.delete_field) == (
        "data.object",
        "occurred_at",
        "deleted",
    )
    sub = wp.subscription
    assert (sub.create, sub.delete, sub.list, sub.body) == (
        "POST /v2/hooks",
        "DELETE /v2/hooks/{hook_id}",
        "GET /v2/hooks",
        "json",
    )
    assert (sub.url_field, sub.events_field, sub.events, sub.secret_path) == (
        "url",
        "events",
        ["widget.updated"],
        "signing_secret",
    )
    assert wp.resource_map == {"widgets": "widget"} and wp.supports_webhooks("widgets")


def test_overrides_merge_over_the_spec(widgets):
    spec, plan = widgets
    overrides = {
        "webhooks": {
            "signature": {
                "scheme": "hmac_sha256_hex",
                "header": "X-Widget-Signature",
                "id_header": "X-Delivery",
            },
            "events": {
                "widget.updated": None,
                "widget.*": {"table": "widgets", "mode": "partial"},
            },
            "deletes": {"event_types": ["widget.deleted"]},
            "subscriptions": "manual",
            "manual_steps": "Ask support to add the hook.",
        }
    }
    wp = plan_webhooks(spec, plan, overrides, "overrides/widgets.yaml")
    assert {e.type: e.table for e in wp.events} == {
        "widget.updated": None,
        "widget.*": "widgets",
    }
    assert (
        wp.signature["scheme"] == "hmac_sha256_hex"
        and wp.why["signature"] == "override"
    )
    assert wp.subscription is None and wp.manual_steps == "Ask support to add the hook."
    assert not [w for w in wp.warnings if w.where == "webhooks.signature"]
    context = webhooks_context(plan, wp)
    assert (
        "EventRoute('widget.*', 'widgets', object_type='widget', object_mode='partial')"
        in context["webhooks"]
    )


@pytest.mark.parametrize(
    "section, where, message",
    [
        ({"signatures": {}}, "webhooks.signatures", "unknown key"),
        ({"signature": {"scheme": "md5"}}, "webhooks.signature", "needs scheme"),
        (
            {"signature": {"scheme": "timestamped_hmac", "tolerance_seconds": 0}},
            "webhooks.signature.tolerance_seconds",
            "positive",
        ),
        (
            {"events": {"customer..x": "customers"}},
            "webhooks.events['customer..x']",
            "pattern",
        ),
        (
            {"events": {"a.*": {"table": "t", "mode": "sometimes"}}},
            "webhooks.events['a.*']",
            "full|partial",
        ),
        ({"deletes": {"event_types": "x.deleted"}}, "webhooks.deletes", "event_types"),
        ({"subscriptions": "auto"}, "webhooks.subscriptions", "manual"),
        ({"max_body_bytes": True}, "webhooks.max_body_bytes", "positive"),
    ],
)
def test_invalid_sections_fail_with_one_line_naming_the_key(section, where, message):
    with pytest.raises(OverrideError) as err:
        validate_webhook_overrides(section, "overrides/x.yaml")
    assert (
        err.value.where == f"overrides/x.yaml: {where}" and message in err.value.message
    )
    assert "\n" not in str(err.value)


def test_an_unselected_table_gets_no_events_and_a_warning(widgets):
    spec, plan = widgets
    wp = plan_webhooks(
        spec, plan, {"webhooks": {"events": {"hook.*": "hooks"}}}, "o.yaml"
    )
    hook = next(e for e in wp.events if e.type == "hook.*")
    assert hook.table is None and "hooks" not in wp.resource_map
    assert any(
        w.where == "webhooks: hook.*" and "not selected" in w.message
        for w in wp.warnings
    )


def test_stale_tables_and_operations_are_errors(widgets):
    spec, plan = widgets
    with pytest.raises(OverrideError, match="no endpoint of the plan"):
        plan_webhooks(
            spec, plan, {"webhooks": {"events": {"gizmo.*": "gizmos"}}}, "o.yaml"
        )
    with pytest.raises(OverrideError, match="not an operation of the spec"):
        plan_webhooks(
            spec,
            plan,
            {
                "webhooks": {
                    "subscriptions": {
                        "create": "POST /v2/nope",
                        "delete": "DELETE /v2/hooks/{hook_id}",
                    }
                }
            },
            "o.yaml",
        )


def test_no_webhooks_anywhere_means_no_plan(specs):
    plan, loaded = make_plan(
        "stripe", Options(root=ROOT, validate=False, no_overrides=True)
    )
    assert plan_webhooks(loaded.spec, plan, None) is None


def test_rendered_module_is_clean_and_matches_the_plan(stripe_build):
    plan, wp, folder = stripe_build
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "E4,E7,E9,F,B",
            str(folder / "webhooks.py"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout
    text = (folder / "webhooks.py").read_text()
    mode = black.Mode(target_versions={black.TargetVersion.PY311}, line_length=88)
    assert black.format_str(text, mode=mode) == text
    package = load_connector(folder)
    module = importlib.import_module(f"{package.__name__}.webhooks")
    assert module.WEBHOOK_RESOURCE_MAP == wp.resource_map
    assert [r.pattern for r in module.WEBHOOKS.routes] == sorted(
        e.type for e in wp.events
    )
    assert module.MANUAL_STEPS == wp.manual_steps and module.FETCH_PATHS == {}
