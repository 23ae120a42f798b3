"""The webhook plan -> `generated/<source>/webhooks.py` (template context of already-safe
literals) and the one-line caption of the config form."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.render.literals import py
from generator.webhooks.model import SubscriptionPlan, WebhookEvent, WebhookPlan

if TYPE_CHECKING:
    from generator.plan import Plan


def caption(wp: WebhookPlan) -> str:
    """One line for the config form's caption."""
    tables = ", ".join(wp.resource_map) or "no tables"
    how = (
        "create_webhook subscribes a URL and returns the signing secret"
        if wp.subscription
        else wp.manual_steps
    )
    return f"Webhooks keep {tables} current between syncs. {how.rstrip('.')}."


def _route_code(e: WebhookEvent) -> str:
    args = [py(e.type), py(e.table)]
    if e.object_type:
        args.append(f"object_type={py(e.object_type)}")
    if e.object_mode != "full":
        args.append(f"object_mode={py(e.object_mode)}")
    if e.fetch_path:
        args.append(f"fetch_path={py(e.fetch_path)}")
    return f"EventRoute({', '.join(args)})"


def _subscription_code(s: SubscriptionPlan | None) -> str:
    if s is None:
        return "None"
    args = {
        "create_path": s.create.partition(" ")[2],
        "delete_path": s.delete.partition(" ")[2],
        "list_path": s.list.partition(" ")[2] if s.list else None,
        "body": s.body,
        "url_field": s.url_field,
        "events_field": s.events_field,
        "events_style": s.events_style,
        "events": tuple(s.events),
        "secret_path": s.secret_path,
        "list_selector": s.list_selector,
    }
    return (
        "SubscriptionConfig(" + ", ".join(f"{k}={py(v)}" for k, v in args.items()) + ")"
    )


def webhooks_context(plan: Plan, wp: WebhookPlan) -> dict:
    """What templates/webhooks.py.j2 prints (already-safe literals), besides the common
    header/title/module/config_class."""
    sig = wp.signature
    signature = (
        f"SignatureConfig({py(sig['scheme'])}, header={py(sig.get('header', ''))}, "
        f"id_header={py(sig.get('id_header', ''))}, tolerance_seconds={py(sig['tolerance_seconds'])})"
    )
    routes = ", ".join(_route_code(e) for e in sorted(wp.events, key=lambda e: e.type))
    config = (
        f"WebhookConfig(source={py(plan.source)}, signature={signature}, routes=({routes}{',' if routes else ''}),"
        f" event_id_path={py(wp.event_id_path)}, event_type_path={py(wp.event_type_path)},"
        f" created_path={py(wp.created_path)}, object_path={py(wp.object_path)},"
        f" object_type_field={py(wp.object_type_field)}, deletes=DeleteRule({py(tuple(wp.delete_event_types))},"
        f" {py(wp.delete_field)}), max_body_bytes={py(wp.max_body_bytes)})"
    )
    fetch = {e.table: e.fetch_path for e in wp.events if e.table and e.fetch_path}
    return {
        "webhooks": config,
        "resource_map": py(wp.resource_map),
        "subscription": _subscription_code(wp.subscription),
        "manual_steps": py(wp.manual_steps),
        "fetch_paths": py(dict(sorted(fetch.items()))),
        "source_name": py(plan.source),
    }
