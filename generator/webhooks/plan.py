"""spec + overrides -> the webhook plan (`plan_webhooks`): the spec's events routed to tables,
payload paths by majority, delete events by their action word, the overrides merged over
that, then the subscription endpoints and the manual set-up steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.errors import Warning
from generator.webhooks.model import WebhookPlan
from generator.webhooks.overrides import merge_section, validate_webhook_overrides
from generator.webhooks.spec import (
    fetch_path,
    find_subscriptions,
    spec_events,
    table_for,
)

if TYPE_CHECKING:
    from generator.plan import Plan
    from generator.spec.model import Spec

DELETE_ACTIONS = ("deleted", "removed", "destroyed")


def _most_common(values: list[str | None], default: str | None) -> str | None:
    present = [v for v in values if v is not None]
    return max(sorted(set(present)), key=present.count) if present else default


def plan_webhooks(
    spec: Spec, plan: Plan, overrides: dict | None = None, file: str = "overrides"
) -> WebhookPlan | None:
    """The webhook plan, or None when neither the spec nor the overrides declare webhooks.
    `overrides` is the whole overrides mapping; its `webhooks:` section wins key by key."""
    section = (overrides or {}).get("webhooks")
    if section is not None:
        validate_webhook_overrides(section, file)
    section = section or {}
    found = spec_events(spec)
    if not found and not section:
        return None
    wp = WebhookPlan(events=[], signature={})
    for f in found:
        ev = f.event
        target = table_for(ev.object_type, plan)
        if target is None:
            wp.warnings.append(
                Warning(
                    f"webhooks: {ev.type}",
                    f"no table holds {ev.object_type!r} objects; "
                    "the event is kept but changes no table",
                )
            )
        else:
            ev.table = target.name
            ev.fetch_path = (
                fetch_path(target, plan) if ev.object_mode == "partial" else None
            )
            ev.why += f"; {ev.object_type!r} objects are rows of {target.path}"
        wp.events.append(ev)
    for key, attr in (
        ("event_id", "event_id_path"),
        ("event_type", "event_type_path"),
        ("created", "created_path"),
        ("object", "object_path"),
    ):
        setattr(
            wp, attr, _most_common([f.paths[key] for f in found], getattr(wp, attr))
        )
    actions = sorted(
        {e.event.type.rsplit(".", 1)[-1] for e in found} & set(DELETE_ACTIONS)
    )
    wp.delete_event_types = [f"**.{a}" for a in actions]
    wp.delete_field = "deleted" if any(f.deleted_flag for f in found) else None
    if found:
        wp.why["events"] = (
            f"{len(found)} event types declared by the spec's webhooks/callbacks"
        )
    merge_section(wp, section, spec, plan, file)
    if wp.subscription is None and section.get("subscriptions") != "manual":
        routed = [e.type for e in wp.events if e.table]
        wp.subscription, warnings = find_subscriptions(spec, routed)
        wp.warnings.extend(warnings)
    if wp.subscription is not None:
        wp.why["subscription"] = wp.subscription.why
    wp.manual_steps = section.get("manual_steps") or manual_steps(plan.source, wp)
    return wp


def manual_steps(source: str, wp: WebhookPlan) -> str:
    events = sorted({e.type for e in wp.events if e.table})
    shown = ", ".join(events[:12]) + (
        f" and {len(events) - 12} more" if len(events) > 12 else ""
    )
    return (
        f"Create a webhook in the vendor's dashboard pointing at https://<your host>/webhooks/{source}, "
        f"subscribed to {shown or 'the events you need'}; put its signing secret in 'Webhook signing secret' "
        f"and run `gen-source webhooks serve {source} --port N` behind that URL."
    )
