"""spec + overrides -> the webhook plan: which events change which tables, how they are signed,
and whether the connector can manage its own subscription.

From the spec: OpenAPI 3.1 `webhooks` and operation `callbacks` give event types and payload
schemas. An event type's object type is the type minus its action (`fine_tuning.job.succeeded`
-> `fine_tuning.job`), matched to the table whose path ends in those words (`/fine_tuning/jobs`).
Endpoints that create, list and delete subscriptions (a collection path named like `webhooks`)
become `create_webhook`/`delete_webhook`/`get_external_webhook_info`. Where a spec is silent,
the `webhooks:` section of `overrides/<source>.yaml` declares it (validated here, merged over the
spec's findings key by key; see docs/webhooks.md). Every decision carries a `why`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from generator.analysis.paths import split, strip_versions
from generator.analysis.schema_utils import singular, snake
from generator.errors import Warning
from generator.overrides import OverrideError
from generator.render.literals import class_name, py
from generator.spec.model import Node
from runtime.webhooks.config import SCHEMES, matches

if TYPE_CHECKING:
    from generator.plan import Endpoint, Plan
    from generator.spec.model import Spec

HOOK_WORD = re.compile(r"(^|[_\-])(web)?hooks?([_\-]|$)|webhook", re.I)
NOT_SUBSCRIPTION = {"deliveries", "attempts", "config", "test", "tests", "pings", "ping", "events", "logs"}
URL_FIELDS = ("url", "endpoint_url", "callback_url", "target_url", "endpoint", "address", "uri")
EVENT_FIELDS = ("enabled_events", "events", "event_types", "triggers", "topics", "types")
SECRET_FIELDS = ("secret", "signing_secret", "secret_key")
DELETE_ACTIONS = ("deleted", "removed", "destroyed")
ID_ONLY = re.compile(r"^(id|.*_id|object)$")
KEYS = {"signature", "event_id", "event_type", "created", "object", "object_type_field", "deletes", "events",
        "subscriptions", "manual_steps", "max_body_bytes"}
PATTERN_RE = re.compile(r"^(\*\*?|[A-Za-z0-9_\-]+)(\.(\*\*?|[A-Za-z0-9_\-]+))*$")


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
        return {"type": self.type, "table": self.table, "object_type": self.object_type,
                "object_mode": self.object_mode, "fetch_path": self.fetch_path,
                "payload_schema": self.payload_schema, "origin": self.origin, "why": self.why}


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
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()}


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
        return {"signature": dict(sorted(self.signature.items())), "event_id_path": self.event_id_path,
                "event_type_path": self.event_type_path, "created_path": self.created_path,
                "object_path": self.object_path, "object_type_field": self.object_type_field,
                "delete_event_types": list(self.delete_event_types), "delete_field": self.delete_field,
                "webhook_resource_map": self.resource_map,
                "events": [e.to_json() for e in sorted(self.events, key=lambda e: e.type)],
                "subscription": self.subscription.to_json() if self.subscription else None,
                "manual_steps": self.manual_steps, "max_body_bytes": self.max_body_bytes,
                "why": dict(sorted(self.why.items())), "warnings": [w.to_json() for w in self.warnings]}


# ------------------------------------------------------------------ reading the spec


@dataclass
class _Found:
    event: WebhookEvent
    paths: dict[str, str | None]  # event_id / event_type / created / object paths this payload uses
    deleted_flag: bool = False


def _json_body(spec: Spec, op: dict, base: str) -> Node | None:
    body = spec.sub(Node({}, base), op.get("requestBody"))
    content = body.value.get("content") if body else None
    for ctype in sorted(content or {}):
        if "json" in ctype and isinstance(content[ctype], dict) and isinstance(content[ctype].get("schema"), dict):
            return Node(content[ctype]["schema"], body.base)
    return None


def _const(spec: Spec, node: Node | None) -> str | None:
    node = spec.safe_deref(node)
    if node is None:
        return None
    if isinstance(node.value.get("const"), str):
        return node.value["const"]
    enum = node.value.get("enum")
    return enum[0] if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str) else None


def _read_payload(spec: Spec, name: str, schema: Node, origin: str) -> _Found:
    ref = schema.value.get("$ref", "")
    props = spec.properties(schema)
    type_path = next((k for k in ("type", "event_type", "event") if _const(spec, props.get(k))), None)
    title = spec.safe_deref(schema).value.get("title") if spec.safe_deref(schema) else None
    event_type = _const(spec, props.get(type_path)) if type_path else (title if isinstance(title, str) else name)
    obj_path, obj_props = "$", props
    if "data" in props:
        data_props = spec.properties(props["data"])
        inner = data_props.get("object")
        obj_path, obj_props = ("data.object", spec.properties(inner)) if inner else ("data", data_props)
    created = next((k for k in ("created_at", "created", "timestamp", "occurred_at") if k in props), None)
    partial = bool(obj_props) and all(ID_ONLY.match(k) for k in obj_props)
    segments = event_type.split(".")
    deleted_flag = "boolean" in spec.types(obj_props.get("deleted")) if "deleted" in obj_props else False
    event = WebhookEvent(
        type=event_type, table=None, object_type=".".join(segments[:-1]) or event_type,
        object_mode="partial" if partial else "full", payload_schema=ref.rsplit("/", 1)[-1],
        origin=origin, why=("payload object carries only identifiers" if partial else "payload carries the object")
        + f" at {obj_path!r}")
    return _Found(event, {"event_id": "id" if "id" in props else None, "event_type": type_path,
                          "created": created, "object": obj_path}, deleted_flag)


def spec_events(spec: Spec) -> list[_Found]:
    """Every event the spec declares: top-level `webhooks` (3.1) and operations' `callbacks`."""
    doc, root = spec.doc, spec.resolver.root_key
    sources: list[tuple[str, object, str, str]] = []
    for name, item in sorted((doc.get("webhooks") or {}).items()):
        sources.append((str(name), item, root, "spec"))
    for raw in (doc.get("paths") or {}).values():
        item = spec.sub(Node({}, root), raw)
        for op in (item.value if item else {}).values():
            if isinstance(op, dict) and isinstance(op.get("callbacks"), dict):
                for cb_name, cb in sorted(op["callbacks"].items()):
                    cb = spec.sub(item, cb)
                    for cb_item in (cb.value if cb else {}).values():
                        sources.append((str(cb_name), cb_item, cb.base, "callback"))
    found: list[_Found] = []
    for name, raw, base, origin in sources:
        item = spec.sub(Node({}, base), raw)
        for method in ("post", "put"):
            op = item.value.get(method) if item else None
            schema = _json_body(spec, op, item.base) if isinstance(op, dict) else None
            if schema is not None:
                found.append(_read_payload(spec, name, schema, origin))
                break
    return found


def _literals(ep: Endpoint) -> list[str]:
    return [s.text for s in strip_versions(split(ep.path), set()) if not s.is_param]


def table_for(object_type: str, plan: Plan) -> Endpoint | None:
    """The selected table whose path ends in the object type's words, singular
    (`eval.run` -> `/evals/{eval_id}/runs`); fewest path parameters, then shortest path, wins."""
    words = [snake(w) for w in object_type.split(".") if w]
    best = None
    for ep in plan.endpoints:
        lits = [singular(snake(t)) for t in _literals(ep)]
        if not ep.selected or ep.path.rstrip("/").endswith("}") or not words or lits[-len(words):] != words:
            continue
        rank = (ep.path.count("{"), len(ep.path), ep.name)
        if best is None or rank < best[0]:
            best = (rank, ep)
    return best[1] if best else None


def fetch_path(table: Endpoint, plan: Plan) -> str | None:
    """`<table path>/{id}` when the spec has it and the table path has no other parameter."""
    if "{" in table.path:
        return None
    for ep in plan.endpoints:
        rest = ep.path[len(table.path):]
        if ep.path.startswith(table.path + "/") and re.fullmatch(r"/\{[^/{}]+\}", rest):
            return ep.path
    return None


# ------------------------------------------------------------------ subscription endpoints


def _op(spec: Spec, path: str, method: str) -> tuple[dict, str] | None:
    item = spec.sub(Node({}, spec.resolver.root_key), (spec.doc.get("paths") or {}).get(path))
    op = item.value.get(method) if item else None
    return (op, item.base) if isinstance(op, dict) else None


def find_subscriptions(spec: Spec, routed: list[str]) -> tuple[SubscriptionPlan | None, list[Warning]]:
    """A collection named like `webhooks` with POST (create) and `/{id}` with DELETE."""
    paths = spec.doc.get("paths") or {}
    candidates = []
    for path in sorted(paths):
        lits = [s.text for s in split(path) if not s.is_param]
        if path.rstrip("/").endswith("}") or not lits or lits[-1].lower() in NOT_SUBSCRIPTION:
            continue
        create = _op(spec, path, "post")
        named = HOOK_WORD.search(lits[-1]) or (create and "webhook" in str(create[0].get("operationId", "")).lower())
        deletes = [p for p in paths if re.fullmatch(re.escape(path) + r"/\{[^/{}]+\}", p) and _op(spec, p, "delete")]
        if named and create and deletes:
            candidates.append((path.count("{"), len(path), path, create, deletes[0]))
    if not candidates:
        return None, []
    _, _, path, (op, base), delete = min(candidates)
    where = f"POST {path}"
    if "{" in path:
        return None, [Warning(where, "webhook subscriptions need path parameters; set them up by hand")]
    body = spec.sub(Node({}, base), op.get("requestBody"))
    content = (body.value.get("content") if body else None) or {}
    ctype = next((c for c in sorted(content) if "json" in c), None) or next(
        (c for c in sorted(content) if "form-urlencoded" in c), None)
    if ctype is None or not isinstance(content[ctype], dict):
        return None, [Warning(where, "no JSON or form body to create a webhook subscription with")]
    schema = Node(content[ctype].get("schema") or {}, body.base)
    props = spec.properties(schema)
    url_field = next((f for f in URL_FIELDS if f in props), None)
    events_field = next((f for f in EVENT_FIELDS if f in props and "array" in spec.types(props[f])), None)
    unknown = sorted(spec.required(schema) - {url_field, events_field})
    if url_field is None or unknown:
        missing = f"required {unknown[0]!r}" if unknown else "a URL field"
        return None, [Warning(where, f"cannot create webhook subscriptions: the body needs {missing}")]
    style = "json"
    if "form" in ctype:
        enc = (content[ctype].get("encoding") or {}).get(events_field or "") or {}
        style = "deepObject" if enc.get("style") == "deepObject" else "repeat"
    enum = []
    if events_field:
        items = spec.items(props[events_field])
        enum = [v for v in (items.value.get("enum") or []) if isinstance(v, str)] if items else []
    events = sorted({v for v in enum if v != "*" and any(matches(p, v) for p in routed)}) if enum else sorted(
        p for p in routed if "*" not in p)
    response = (op.get("responses") or {}).get("200") or (op.get("responses") or {}).get("201")
    secret = None
    resp = spec.sub(Node({}, base), response)
    for media in ((resp.value.get("content") or {}) if resp else {}).values():
        rprops = spec.properties(Node(media.get("schema") or {}, resp.base)) if isinstance(media, dict) else {}
        secret = secret or next((f for f in SECRET_FIELDS if f in rprops), None)
    listing = path if _op(spec, path, "get") else None
    return SubscriptionPlan(
        create=f"POST {path}", delete=f"DELETE {delete}", list=f"GET {listing}" if listing else None,
        body="json" if "json" in ctype else "form", url_field=url_field, events_field=events_field,
        events_style=style, events=events, secret_path=secret,
        why=f"{where} takes {url_field!r}" + (f" and {events_field!r}" if events_field else "")
        + f"; DELETE {delete} removes it"), []


# ------------------------------------------------------------------ overrides


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
    if sig is not None and not (isinstance(sig, dict) and sig.get("scheme") in SCHEMES and set(sig) <= {
            "scheme", "header", "id_header", "tolerance_seconds"}):
        _fail(file, "signature", f"needs scheme in {list(SCHEMES)} (and optional header, id_header, tolerance_seconds)")
    if isinstance(sig, dict) and "tolerance_seconds" in sig and not _positive(sig["tolerance_seconds"]):
        _fail(file, "signature.tolerance_seconds", "must be a positive integer")
    for key in ("event_id", "event_type", "object", "object_type_field", "manual_steps"):
        if key in section and not (isinstance(section[key], str) and section[key]):
            _fail(file, key, "must be a non-empty string")
    if "created" in section and not (section["created"] is None or isinstance(section["created"], str)):
        _fail(file, "created", "must be a payload path or null")
    if "max_body_bytes" in section and not _positive(section["max_body_bytes"]):
        _fail(file, "max_body_bytes", "must be a positive integer")
    deletes = section.get("deletes")
    if deletes is not None and not (isinstance(deletes, dict) and set(deletes) <= {"event_types", "field"}
                                    and all(isinstance(p, str) and PATTERN_RE.match(p)
                                            for p in deletes.get("event_types") or [])):
        _fail(file, "deletes", "must be {event_types: [patterns], field: name}")
    events = section.get("events") or {}
    if not isinstance(events, dict):
        _fail(file, "events", "must map event-type patterns to a table name, null, or {table, object_type, mode}")
    for pattern, target in events.items():
        if not (isinstance(pattern, str) and PATTERN_RE.match(pattern)):
            _fail(file, f"events[{pattern!r}]", "not an event-type pattern (segments joined by '.', '*' or '**')")
        if isinstance(target, dict):
            ok = set(target) <= {"table", "object_type", "mode"} and target.get("mode", "full") in ("full", "partial")
            if not ok or not isinstance(target.get("table"), str | None):
                _fail(file, f"events[{pattern!r}]", "needs {table, object_type?, mode?: full|partial}")
        elif target is not None and not isinstance(target, str):
            _fail(file, f"events[{pattern!r}]", "must be a table name, null, or a mapping")
    subs = section.get("subscriptions")
    if subs is not None and subs != "manual" and not (
            isinstance(subs, dict) and isinstance(subs.get("create"), str) and isinstance(subs.get("delete"), str)):
        _fail(file, "subscriptions", "must be 'manual' or {create: 'POST /path', delete: 'DELETE /path/{id}', ...}")


def _positive(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


def _override_event(pattern: str, target: object, plan: Plan, file: str, warnings: list[Warning]) -> WebhookEvent:
    spec = target if isinstance(target, dict) else {"table": target}
    table, why = spec.get("table"), "override"
    endpoint = plan.endpoint(table) if table is not None else None
    if table is not None and endpoint is None:
        _fail(file, f"events[{pattern!r}]", f"table {table!r} is no endpoint of the plan (stale override?)")
    if endpoint is not None and not endpoint.selected:
        warnings.append(Warning(f"webhooks: {pattern}", f"table {table!r} is not selected; its events are kept "
                                "but change nothing"))
        table, why = None, f"override: {endpoint.name} is not a selected table"
    object_type = spec.get("object_type") or re.sub(r"(\.\*\*?)+$", "", pattern)
    return WebhookEvent(type=pattern, table=table, object_type=object_type, object_mode=spec.get("mode", "full"),
                        origin="override", why=why)


def _override_subscription(subs: dict, spec: Spec, file: str) -> SubscriptionPlan:
    for key in ("create", "delete", "list"):
        if subs.get(key):
            method, _, path = str(subs[key]).partition(" ")
            if _op(spec, path.strip(), method.lower()) is None:
                _fail(file, f"subscriptions.{key}", f"{subs[key]!r} is not an operation of the spec")
    known = set(SubscriptionPlan.__dataclass_fields__) - {"why"}
    return SubscriptionPlan(**{k: v for k, v in subs.items() if k in known}, why="override")


# ------------------------------------------------------------------ the plan


def _most_common(values: list[str | None], default: str | None) -> str | None:
    present = [v for v in values if v is not None]
    return max(sorted(set(present)), key=present.count) if present else default


def plan_webhooks(spec: Spec, plan: Plan, overrides: dict | None = None,
                  file: str = "overrides") -> WebhookPlan | None:
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
            wp.warnings.append(Warning(f"webhooks: {ev.type}", f"no table holds {ev.object_type!r} objects; "
                                       "the event is kept but changes no table"))
        else:
            ev.table = target.name
            ev.fetch_path = fetch_path(target, plan) if ev.object_mode == "partial" else None
            ev.why += f"; {ev.object_type!r} objects are rows of {target.path}"
        wp.events.append(ev)
    for key, attr in (("event_id", "event_id_path"), ("event_type", "event_type_path"),
                      ("created", "created_path"), ("object", "object_path")):
        setattr(wp, attr, _most_common([f.paths[key] for f in found], getattr(wp, attr)))
    actions = sorted({e.event.type.rsplit(".", 1)[-1] for e in found} & set(DELETE_ACTIONS))
    wp.delete_event_types = [f"**.{a}" for a in actions]
    wp.delete_field = "deleted" if any(f.deleted_flag for f in found) else None
    if found:
        wp.why["events"] = f"{len(found)} event types declared by the spec's webhooks/callbacks"
    _merge_section(wp, section, spec, plan, file)
    if wp.subscription is None and section.get("subscriptions") != "manual":
        routed = [e.type for e in wp.events if e.table]
        wp.subscription, warnings = find_subscriptions(spec, routed)
        wp.warnings.extend(warnings)
    if wp.subscription is not None:
        wp.why["subscription"] = wp.subscription.why
    wp.manual_steps = section.get("manual_steps") or manual_steps(plan.source, wp)
    return wp


def _merge_section(wp: WebhookPlan, section: dict, spec: Spec, plan: Plan, file: str) -> None:
    for key, attr in (("event_id", "event_id_path"), ("event_type", "event_type_path"), ("created", "created_path"),
                      ("object", "object_path"), ("object_type_field", "object_type_field"),
                      ("max_body_bytes", "max_body_bytes")):
        if key in section:
            setattr(wp, attr, section[key])
            wp.why[attr] = "override"
    if "deletes" in section:
        wp.delete_event_types = list(section["deletes"].get("event_types") or [])
        wp.delete_field = section["deletes"].get("field")
        wp.why["deletes"] = "override"
    if wp.delete_event_types and "deletes" not in wp.why:
        wp.why["deletes"] = "event types ending in " + ", ".join(p[3:] for p in wp.delete_event_types)
    by_type = {e.type: e for e in wp.events}
    for pattern, target in (section.get("events") or {}).items():
        by_type[pattern] = _override_event(pattern, target, plan, file, wp.warnings)
    wp.events = sorted(by_type.values(), key=lambda e: e.type)
    if "signature" in section:
        wp.signature = {"tolerance_seconds": 300, **section["signature"]}
        wp.why["signature"] = "override"
    else:
        wp.signature = {"scheme": "standard_webhooks", "tolerance_seconds": 300}
        wp.why["signature"] = "not declared: assuming the Standard Webhooks headers (webhook-id/-timestamp/-signature)"
        wp.warnings.append(Warning("webhooks.signature", "the spec does not say how deliveries are signed; assuming "
                                   f"Standard Webhooks (set webhooks.signature in {file} to be sure)"))
    if isinstance(section.get("subscriptions"), dict):
        wp.subscription = _override_subscription(section["subscriptions"], spec, file)
    elif section.get("subscriptions") == "manual":
        wp.why["subscription"] = "override: set up by hand"


def manual_steps(source: str, wp: WebhookPlan) -> str:
    events = sorted({e.type for e in wp.events if e.table})
    shown = ", ".join(events[:12]) + (f" and {len(events) - 12} more" if len(events) > 12 else "")
    return (f"Create a webhook in the vendor's dashboard pointing at https://<your host>/webhooks/{source}, "
            f"subscribed to {shown or 'the events you need'}; put its signing secret in 'Webhook signing secret' "
            f"and run `gen-source webhooks serve {source} --port N` behind that URL.")


def caption(wp: WebhookPlan) -> str:
    """One line for the config form's caption."""
    tables = ", ".join(wp.resource_map) or "no tables"
    how = ("create_webhook subscribes a URL and returns the signing secret" if wp.subscription
           else wp.manual_steps)
    return f"Webhooks keep {tables} current between syncs. {how.rstrip('.')}."


# ------------------------------------------------------------------ rendering


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
    args = {"create_path": s.create.partition(" ")[2], "delete_path": s.delete.partition(" ")[2],
            "list_path": s.list.partition(" ")[2] if s.list else None, "body": s.body, "url_field": s.url_field,
            "events_field": s.events_field, "events_style": s.events_style, "events": tuple(s.events),
            "secret_path": s.secret_path, "list_selector": s.list_selector}
    return "SubscriptionConfig(" + ", ".join(f"{k}={py(v)}" for k, v in args.items()) + ")"


def webhooks_context(plan: Plan, wp: WebhookPlan) -> dict:
    """What templates/webhooks.py.j2 prints (already-safe literals), besides the common
    header/title/module/config_class."""
    sig = wp.signature
    signature = (f"SignatureConfig({py(sig['scheme'])}, header={py(sig.get('header', ''))}, "
                 f"id_header={py(sig.get('id_header', ''))}, tolerance_seconds={py(sig['tolerance_seconds'])})")
    routes = ", ".join(_route_code(e) for e in sorted(wp.events, key=lambda e: e.type))
    config = (f"WebhookConfig(source={py(plan.source)}, signature={signature}, routes=({routes}{',' if routes else ''}),"
              f" event_id_path={py(wp.event_id_path)}, event_type_path={py(wp.event_type_path)},"
              f" created_path={py(wp.created_path)}, object_path={py(wp.object_path)},"
              f" object_type_field={py(wp.object_type_field)}, deletes=DeleteRule({py(tuple(wp.delete_event_types))},"
              f" {py(wp.delete_field)}), max_body_bytes={py(wp.max_body_bytes)})")
    fetch = {e.table: e.fetch_path for e in wp.events if e.table and e.fetch_path}
    return {"webhooks": config, "resource_map": py(wp.resource_map), "subscription": _subscription_code(wp.subscription),
            "manual_steps": py(wp.manual_steps), "fetch_paths": py(dict(sorted(fetch.items()))),
            "source_name": py(plan.source)}


def render_webhooks_file(plan: Plan, wp: WebhookPlan) -> str:
    """`generated/<source>/webhooks.py`, before formatting (render_source formats all files)."""
    from generator.render.files import env, header, module_name
    from generator.render.literals import comment

    module = module_name(plan.source)
    common = {"header": header(plan), "title": comment(plan.spec.title or plan.source, 80), "source": plan.source,
              "module": module, "config_class": f"{class_name(module)}Config"}
    return env().get_template("webhooks.py.j2").render(**common, **webhooks_context(plan, wp))
