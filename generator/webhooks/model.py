"""The webhook plan's data: which events change which tables, how deliveries are signed, and
the subscription endpoints. Plain dataclasses, printed in the plan JSON (`to_json`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.errors import Warning


@dataclass
class WebhookEvent:
    type: str  # an exact event type or a pattern (`customer.*`)
    table: str | None  # None: accepted and kept, never applied
    object_type: str = ""
    object_mode: str = "full"  # full | partial (the payload carries only identifiers)
    fetch_path: str | None = None  # reads the whole object of a partial payload
    payload_schema: str = ""
    origin: str = "spec"  # spec | callback | override
    why: str = ""

    def to_json(self) -> dict:
        return {
            "type": self.type,
            "table": self.table,
            "object_type": self.object_type,
            "object_mode": self.object_mode,
            "fetch_path": self.fetch_path,
            "payload_schema": self.payload_schema,
            "origin": self.origin,
            "why": self.why,
        }


@dataclass
class SubscriptionPlan:
    create: str  # "POST /path"
    delete: str  # "DELETE /path/{id}"
    list: str | None = None
    body: str = "json"  # json | form
    url_field: str = "url"
    events_field: str | None = None
    events_style: str = "json"  # json | deepObject | repeat
    events: list[str] = field(default_factory=list)
    secret_path: str | None = None
    list_selector: str = "data"
    why: str = ""

    def to_json(self) -> dict:
        return {
            k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()
        }


@dataclass
class WebhookPlan:
    events: list[WebhookEvent]
    signature: dict  # scheme, header, id_header, tolerance_seconds
    event_id_path: str = "id"
    event_type_path: str = "type"
    created_path: str | None = "created"
    object_path: str = "data.object"
    object_type_field: str | None = None
    delete_event_types: list[str] = field(default_factory=list)
    delete_field: str | None = None
    subscription: SubscriptionPlan | None = None
    manual_steps: str = ""
    max_body_bytes: int = 1 << 20
    why: dict[str, str] = field(default_factory=dict)
    warnings: list[Warning] = field(default_factory=list)

    @property
    def resource_map(self) -> dict[str, str]:
        """`webhook_resource_map`: table (schema name) -> the vendor's object type."""
        out: dict[str, str] = {}
        for e in sorted(self.events, key=lambda e: e.type):
            if e.table and e.table not in out:
                out[e.table] = e.object_type
        return dict(sorted(out.items()))

    def supports_webhooks(self, table: str) -> bool:
        return table in self.resource_map

    def to_json(self) -> dict:
        return {
            "signature": dict(sorted(self.signature.items())),
            "event_id_path": self.event_id_path,
            "event_type_path": self.event_type_path,
            "created_path": self.created_path,
            "object_path": self.object_path,
            "object_type_field": self.object_type_field,
            "delete_event_types": list(self.delete_event_types),
            "delete_field": self.delete_field,
            "webhook_resource_map": self.resource_map,
            "events": [e.to_json() for e in sorted(self.events, key=lambda e: e.type)],
            "subscription": self.subscription.to_json() if self.subscription else None,
            "manual_steps": self.manual_steps,
            "max_body_bytes": self.max_body_bytes,
            "why": dict(sorted(self.why.items())),
            "warnings": [w.to_json() for w in self.warnings],
        }
