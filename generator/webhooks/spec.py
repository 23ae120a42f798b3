"""Reading the spec: events from OpenAPI 3.1 `webhooks` and operation `callbacks` (payload
shape, object type), the table each object type belongs to, and the endpoints that create, list
and delete subscriptions (a collection path named like `webhooks`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.analysis.paths import split, strip_versions
from generator.analysis.schema_utils import singular, snake
from generator.errors import Warning
from generator.spec.model import Node
from generator.webhooks.model import SubscriptionPlan, WebhookEvent
from runtime.webhooks.config import matches

if TYPE_CHECKING:
    from generator.plan import Endpoint, Plan
    from generator.spec.model import Spec

HOOK_WORD = re.compile(r"(^|[_\-])(web)?hooks?([_\-]|$)|webhook", re.I)
NOT_SUBSCRIPTION = {
    "deliveries",
    "attempts",
    "config",
    "test",
    "tests",
    "pings",
    "ping",
    "events",
    "logs",
}
URL_FIELDS = (
    "url",
    "endpoint_url",
    "callback_url",
    "target_url",
    "endpoint",
    "address",
    "uri",
)
EVENT_FIELDS = (
    "enabled_events",
    "events",
    "event_types",
    "triggers",
    "topics",
    "types",
)
SECRET_FIELDS = ("secret", "signing_secret", "secret_key")
ID_ONLY = re.compile(r"^(id|.*_id|object)$")


@dataclass
class _Found:
    event: WebhookEvent
    paths: dict[
        str, str | None
    ]  # event_id / event_type / created / object paths this payload uses
    deleted_flag: bool = False


def _json_body(spec: Spec, op: dict, base: str) -> Node | None:
    body = spec.sub(Node({}, base), op.get("requestBody"))
    content = body.value.get("content") if body else None
    for ctype in sorted(content or {}):
        if (
            "json" in ctype
            and isinstance(content[ctype], dict)
            and isinstance(content[ctype].get("schema"), dict)
        ):
            return Node(content[ctype]["schema"], body.base)
    return None


def _const(spec: Spec, node: Node | None) -> str | None:
    node = spec.safe_deref(node)
    if node is None:
        return None
    if isinstance(node.value.get("const"), str):
        return node.value["const"]
    enum = node.value.get("enum")
    return (
        enum[0]
        if isinstance(enum, list) and len(enum) == 1 and isinstance(enum[0], str)
        else None
    )


def _read_payload(spec: Spec, name: str, schema: Node, origin: str) -> _Found:
    ref = schema.value.get("$ref", "")
    props = spec.properties(schema)
    type_path = next(
        (k for k in ("type", "event_type", "event") if _const(spec, props.get(k))), None
    )
    title = (
        spec.safe_deref(schema).value.get("title") if spec.safe_deref(schema) else None
    )
    event_type = (
        _const(spec, props.get(type_path))
        if type_path
        else (title if isinstance(title, str) else name)
    )
    obj_path, obj_props = "$", props
    if "data" in props:
        data_props = spec.properties(props["data"])
        inner = data_props.get("object")
        obj_path, obj_props = (
            ("data.object", spec.properties(inner)) if inner else ("data", data_props)
        )
    created = next(
        (
            k
            for k in ("created_at", "created", "timestamp", "occurred_at")
            if k in props
        ),
        None,
    )
    partial = bool(obj_props) and all(ID_ONLY.match(k) for k in obj_props)
    segments = event_type.split(".")
    deleted_flag = (
        "boolean" in spec.types(obj_props.get("deleted"))
        if "deleted" in obj_props
        else False
    )
    event = WebhookEvent(
        type=event_type,
        table=None,
        object_type=".".join(segments[:-1]) or event_type,
        object_mode="partial" if partial else "full",
        payload_schema=ref.rsplit("/", 1)[-1],
        origin=origin,
        why=(
            "payload object carries only identifiers"
            if partial
            else "payload carries the object"
        )
        + f" at {obj_path!r}",
    )
    return _Found(
        event,
        {
            "event_id": "id" if "id" in props else None,
            "event_type": type_path,
            "created": created,
            "object": obj_path,
        },
        deleted_flag,
    )


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
        if (
            not ep.selected
            or ep.path.rstrip("/").endswith("}")
            or not words
            or lits[-len(words) :] != words
        ):
            continue
        rank = (ep.path.count("{"), len(ep.path), ep.name)
        if best is None or rank < best[0]:
            best = (rank, ep)
    return best[1] if best else None


def _one_param_below(parent: str, path: str) -> bool:
    """`path` is `parent/{one_parameter}`."""
    rest = path[len(parent) + 1 :] if path.startswith(parent + "/") else ""
    return (
        len(rest) > 2
        and rest[0] == "{"
        and rest[-1] == "}"
        and not any(c in rest[1:-1] for c in "/{}")
    )


def fetch_path(table: Endpoint, plan: Plan) -> str | None:
    """`<table path>/{id}` when the spec has it and the table path has no other parameter."""
    if "{" in table.path:
        return None
    for ep in plan.endpoints:
        if _one_param_below(table.path, ep.path):
            return ep.path
    return None


# ------------------------------------------------------------------ subscription endpoints


def spec_operation(spec: Spec, path: str, method: str) -> tuple[dict, str] | None:
    item = spec.sub(
        Node({}, spec.resolver.root_key), (spec.doc.get("paths") or {}).get(path)
    )
    op = item.value.get(method) if item else None
    return (op, item.base) if isinstance(op, dict) else None


def find_subscriptions(
    spec: Spec, routed: list[str]
) -> tuple[SubscriptionPlan | None, list[Warning]]:
    """A collection named like `webhooks` with POST (create) and `/{id}` with DELETE."""
    paths = spec.doc.get("paths") or {}
    candidates = []
    for path in sorted(paths):
        lits = [s.text for s in split(path) if not s.is_param]
        if (
            path.rstrip("/").endswith("}")
            or not lits
            or lits[-1].lower() in NOT_SUBSCRIPTION
        ):
            continue
        create = spec_operation(spec, path, "post")
        named = HOOK_WORD.search(lits[-1]) or (
            create and "webhook" in str(create[0].get("operationId", "")).lower()
        )
        if not (named and create):
            continue
        deletes = [
            p
            for p in paths
            if _one_param_below(path, p) and spec_operation(spec, p, "delete")
        ]
        if deletes:
            candidates.append((path.count("{"), len(path), path, create, deletes[0]))
    if not candidates:
        return None, []
    _, _, path, (op, base), delete = min(candidates)
    where = f"POST {path}"
    if "{" in path:
        return None, [
            Warning(
                where, "webhook subscriptions need path parameters; set them up by hand"
            )
        ]
    body = spec.sub(Node({}, base), op.get("requestBody"))
    content = (body.value.get("content") if body else None) or {}
    ctype = next((c for c in sorted(content) if "json" in c), None) or next(
        (c for c in sorted(content) if "form-urlencoded" in c), None
    )
    if ctype is None or not isinstance(content[ctype], dict):
        return None, [
            Warning(where, "no JSON or form body to create a webhook subscription with")
        ]
    schema = Node(content[ctype].get("schema") or {}, body.base)
    props = spec.properties(schema)
    url_field = next((f for f in URL_FIELDS if f in props), None)
    events_field = next(
        (f for f in EVENT_FIELDS if f in props and "array" in spec.types(props[f])),
        None,
    )
    unknown = sorted(spec.required(schema) - {url_field, events_field})
    if url_field is None or unknown:
        missing = f"required {unknown[0]!r}" if unknown else "a URL field"
        return None, [
            Warning(
                where, f"cannot create webhook subscriptions: the body needs {missing}"
            )
        ]
    style = "json"
    if "form" in ctype:
        enc = (content[ctype].get("encoding") or {}).get(events_field or "") or {}
        style = "deepObject" if enc.get("style") == "deepObject" else "repeat"
    enum = []
    if events_field:
        items = spec.items(props[events_field])
        enum = (
            [v for v in (items.value.get("enum") or []) if isinstance(v, str)]
            if items
            else []
        )
    events = (
        sorted({v for v in enum if v != "*" and any(matches(p, v) for p in routed)})
        if enum
        else sorted(p for p in routed if "*" not in p)
    )
    response = (op.get("responses") or {}).get("200") or (
        op.get("responses") or {}
    ).get("201")
    secret = None
    resp = spec.sub(Node({}, base), response)
    for media in ((resp.value.get("content") or {}) if resp else {}).values():
        rprops = (
            spec.properties(Node(media.get("schema") or {}, resp.base))
            if isinstance(media, dict)
            else {}
        )
        secret = secret or next((f for f in SECRET_FIELDS if f in rprops), None)
    listing = path if spec_operation(spec, path, "get") else None
    return SubscriptionPlan(
        create=f"POST {path}",
        delete=f"DELETE {delete}",
        list=f"GET {listing}" if listing else None,
        body="json" if "json" in ctype else "form",
        url_field=url_field,
        events_field=events_field,
        events_style=style,
        events=events,
        secret_path=secret,
        why=f"{where} takes {url_field!r}"
        + (f" and {events_field!r}" if events_field else "")
        + f"; DELETE {delete} removes it",
    ), []
