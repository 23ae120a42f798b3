"""The `webhooks:` section of `overrides/<source>.yaml`: validated here (errors name the key),
then merged over what the spec declares, key by key (see docs/webhooks.md)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from generator.errors import OverrideError, Warning
from generator.webhooks.model import SubscriptionPlan, WebhookEvent, WebhookPlan
from generator.webhooks.spec import spec_operation
from runtime.webhooks.config import SCHEMES

if TYPE_CHECKING:
    from generator.plan import Plan
    from generator.spec.model import Spec

KEYS = {
    "signature",
    "event_id",
    "event_type",
    "created",
    "object",
    "object_type_field",
    "deletes",
    "events",
    "subscriptions",
    "manual_steps",
    "max_body_bytes",
}
PATTERN_RE = re.compile(r"^(\*\*?|[A-Za-z0-9_\-]+)(\.(\*\*?|[A-Za-z0-9_\-]+))*$")


def _fail(file: str, key: str, message: str) -> None:
    raise OverrideError(message, where=f"{file}: webhooks.{key}")


def validate_webhook_overrides(section: object, file: str) -> None:
    """Check the `webhooks:` section of an overrides file; errors name the key."""
    if not isinstance(section, dict):
        _fail(file, "", "must be a mapping")
    for key in section:
        if key not in KEYS:
            _fail(file, key, f"unknown key (allowed: {', '.join(sorted(KEYS))})")
    sig = section.get("signature")
    if sig is not None and not (
        isinstance(sig, dict)
        and sig.get("scheme") in SCHEMES
        and set(sig) <= {"scheme", "header", "id_header", "tolerance_seconds"}
    ):
        _fail(
            file,
            "signature",
            f"needs scheme in {list(SCHEMES)} (and optional header, id_header, tolerance_seconds)",
        )
    if (
        isinstance(sig, dict)
        and "tolerance_seconds" in sig
        and not _positive(sig["tolerance_seconds"])
    ):
        _fail(file, "signature.tolerance_seconds", "must be a positive integer")
    for key in (
        "event_id",
        "event_type",
        "object",
        "object_type_field",
        "manual_steps",
    ):
        if key in section and not (isinstance(section[key], str) and section[key]):
            _fail(file, key, "must be a non-empty string")
    if "created" in section and not (
        section["created"] is None or isinstance(section["created"], str)
    ):
        _fail(file, "created", "must be a payload path or null")
    if "max_body_bytes" in section and not _positive(section["max_body_bytes"]):
        _fail(file, "max_body_bytes", "must be a positive integer")
    deletes = section.get("deletes")
    if deletes is not None and not (
        isinstance(deletes, dict)
        and set(deletes) <= {"event_types", "field"}
        and all(
            isinstance(p, str) and PATTERN_RE.match(p)
            for p in deletes.get("event_types") or []
        )
    ):
        _fail(file, "deletes", "must be {event_types: [patterns], field: name}")
    events = section.get("events") or {}
    if not isinstance(events, dict):
        _fail(
            file,
            "events",
            "must map event-type patterns to a table name, null, or {table, object_type, mode}",
        )
    for pattern, target in events.items():
        if not (isinstance(pattern, str) and PATTERN_RE.match(pattern)):
            _fail(
                file,
                f"events[{pattern!r}]",
                "not an event-type pattern (segments joined by '.', '*' or '**')",
            )
        if isinstance(target, dict):
            ok = set(target) <= {"table", "object_type", "mode"} and target.get(
                "mode", "full"
            ) in ("full", "partial")
            if not ok or not isinstance(target.get("table"), str | None):
                _fail(
                    file,
                    f"events[{pattern!r}]",
                    "needs {table, object_type?, mode?: full|partial}",
                )
        elif target is not None and not isinstance(target, str):
            _fail(
                file, f"events[{pattern!r}]", "must be a table name, null, or a mapping"
            )
    subs = section.get("subscriptions")
    if (
        subs is not None
        and subs != "manual"
        and not (
            isinstance(subs, dict)
            and isinstance(subs.get("create"), str)
            and isinstance(subs.get("delete"), str)
        )
    ):
        _fail(
            file,
            "subscriptions",
            "must be 'manual' or {create: 'POST /path', delete: 'DELETE /path/{id}', ...}",
        )


def _positive(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _override_event(
    pattern: str, target: object, plan: Plan, file: str, warnings: list[Warning]
) -> WebhookEvent:
    spec = target if isinstance(target, dict) else {"table": target}
    table, why = spec.get("table"), "override"
    endpoint = plan.endpoint(table) if table is not None else None
    if table is not None and endpoint is None:
        _fail(
            file,
            f"events[{pattern!r}]",
            f"table {table!r} is no endpoint of the plan (stale override?)",
        )
    if endpoint is not None and not endpoint.selected:
        warnings.append(
            Warning(
                f"webhooks: {pattern}",
                f"table {table!r} is not selected; its events are kept "
                "but change nothing",
            )
        )
        table, why = None, f"override: {endpoint.name} is not a selected table"
    object_type = spec.get("object_type") or re.sub(r"(\.\*\*?)+$", "", pattern)
    return WebhookEvent(
        type=pattern,
        table=table,
        object_type=object_type,
        object_mode=spec.get("mode", "full"),
        origin="override",
        why=why,
    )


def _override_subscription(subs: dict, spec: Spec, file: str) -> SubscriptionPlan:
    for key in ("create", "delete", "list"):
        if subs.get(key):
            method, _, path = str(subs[key]).partition(" ")
            if spec_operation(spec, path.strip(), method.lower()) is None:
                _fail(
                    file,
                    f"subscriptions.{key}",
                    f"{subs[key]!r} is not an operation of the spec",
                )
    known = set(SubscriptionPlan.__dataclass_fields__) - {"why"}
    return SubscriptionPlan(
        **{k: v for k, v in subs.items() if k in known}, why="override"
    )


def merge_section(
    wp: WebhookPlan, section: dict, spec: Spec, plan: Plan, file: str
) -> None:
    """Apply a validated `webhooks:` section to the spec's findings in place; each key it sets
    replaces the spec's value and records `override` as the reason."""
    for key, attr in (
        ("event_id", "event_id_path"),
        ("event_type", "event_type_path"),
        ("created", "created_path"),
        ("object", "object_path"),
        ("object_type_field", "object_type_field"),
        ("max_body_bytes", "max_body_bytes"),
    ):
        if key in section:
            setattr(wp, attr, section[key])
            wp.why[attr] = "override"
    if "deletes" in section:
        wp.delete_event_types = list(section["deletes"].get("event_types") or [])
        wp.delete_field = section["deletes"].get("field")
        wp.why["deletes"] = "override"
    if wp.delete_event_types and "deletes" not in wp.why:
        wp.why["deletes"] = "event types ending in " + ", ".join(
            p[3:] for p in wp.delete_event_types
        )
    by_type = {e.type: e for e in wp.events}
    for pattern, target in (section.get("events") or {}).items():
        by_type[pattern] = _override_event(pattern, target, plan, file, wp.warnings)
    wp.events = sorted(by_type.values(), key=lambda e: e.type)
    if "signature" in section:
        wp.signature = {"tolerance_seconds": 300, **section["signature"]}
        wp.why["signature"] = "override"
    else:
        wp.signature = {"scheme": "standard_webhooks", "tolerance_seconds": 300}
        wp.why["signature"] = (
            "not declared: assuming the Standard Webhooks headers (webhook-id/-timestamp/-signature)"
        )
        wp.warnings.append(
            Warning(
                "webhooks.signature",
                "the spec does not say how deliveries are signed; assuming "
                f"Standard Webhooks (set webhooks.signature in {file} to be sure)",
            )
        )
    if isinstance(section.get("subscriptions"), dict):
        wp.subscription = _override_subscription(section["subscriptions"], spec, file)
    elif section.get("subscriptions") == "manual":
        wp.why["subscription"] = "override: set up by hand"
