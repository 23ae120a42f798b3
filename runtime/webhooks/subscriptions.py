"""Creating, finding and deleting the vendor-side webhook subscription.

When the spec has endpoints that manage subscriptions (create / list / delete), the generated
`webhooks.py` passes their description here as a `SubscriptionConfig`; without one, every call
answers `status="manual"` with the steps to do it by hand. Requests go through the connector's
own `TrackedClient` (its auth, host checks and redaction). They are not retried: creating a
subscription twice would leave two.

The signing secret a create call returns is handed back in `WebhookInfo.signing_secret`
(store it as the config's signing secret); it is left out of `repr` and `to_json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

import httpx
import orjson

from runtime.http.client import HttpError, TrackedClient
from runtime.webhooks.config import dig


@dataclass(frozen=True)
class SubscriptionConfig:
    create_path: str  # POST here with the URL (and events)
    delete_path: str  # DELETE, with one `{param}` for the subscription id
    list_path: str | None = None  # GET: the subscriptions, to find one by id or URL
    body: Literal["form", "json"] = "json"
    url_field: str = "url"
    events_field: str | None = None
    events_style: Literal["deepObject", "repeat", "json"] = "json"
    events: tuple[str, ...] = ()  # what to subscribe to (empty: the vendor's default)
    id_path: str = "id"
    secret_path: str | None = None
    list_selector: str = "data"  # where the list response keeps its items


@dataclass(frozen=True)
class WebhookInfo:
    status: Literal["created", "deleted", "exists", "missing", "manual"]
    webhook_id: str | None = None
    url: str | None = None
    events: tuple[str, ...] = ()
    message: str = ""
    signing_secret: str | None = field(default=None, repr=False)

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "webhook_id": self.webhook_id,
            "url": self.url,
            "events": list(self.events),
            "message": self.message,
            "signing_secret_returned": self.signing_secret is not None,
        }


def manual(steps: str) -> WebhookInfo:
    return WebhookInfo("manual", message=steps)


def _send(
    http: TrackedClient,
    method: str,
    path: str,
    *,
    endpoint: str,
    form: list | None = None,
    body: dict | None = None,
) -> Any:
    """One request, not retried; errors are one redacted line naming the endpoint."""
    url = http.resolve(path, endpoint=endpoint)
    where = f"{method} {endpoint}"
    try:
        if (
            form is not None
        ):  # repeated keys (`events[0]`, ...) in order: encode the form ourselves
            response = http.send_once(
                method,
                url,
                content=urlencode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            response = http.send_once(method, url, json=body)
    except httpx.HTTPError as exc:
        raise HttpError(
            f"{where}: {type(exc).__name__}: {http.redact(exc)}",
            status=None,
            endpoint=endpoint,
            url=http.redact(str(url)),
        ) from None
    if not 200 <= response.status_code < 300:
        excerpt = http.redact(" ".join(response.text[:2000].split()))[:200]
        raise HttpError(
            f"{where}: HTTP {response.status_code}: {excerpt}",
            status=response.status_code,
            endpoint=endpoint,
            url=http.redact(str(url)),
        )
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _form(
    sub: SubscriptionConfig, url: str, events: tuple[str, ...]
) -> list[tuple[str, str]]:
    pairs = [(sub.url_field, url)]
    if sub.events_field and events:
        if sub.events_style == "deepObject":
            pairs += [(f"{sub.events_field}[{i}]", e) for i, e in enumerate(events)]
        else:
            pairs += [(sub.events_field, e) for e in events]
    return pairs


def create(
    sub: SubscriptionConfig | None,
    http: TrackedClient | None,
    url: str,
    *,
    manual_steps: str,
    events: tuple[str, ...] | None = None,
) -> WebhookInfo:
    """Subscribe `url` to the events the connector routes to tables."""
    if sub is None or http is None:
        return manual(manual_steps)
    chosen = tuple(events if events is not None else sub.events)
    if sub.body == "form":
        data = _send(
            http,
            "POST",
            sub.create_path,
            endpoint=sub.create_path,
            form=_form(sub, url, chosen),
        )
    else:
        body: dict = {sub.url_field: url}
        if sub.events_field and chosen:
            body[sub.events_field] = list(chosen)
        data = _send(http, "POST", sub.create_path, endpoint=sub.create_path, body=body)
    webhook_id = dig(data, sub.id_path) if isinstance(data, dict) else None
    secret = (
        dig(data, sub.secret_path)
        if isinstance(data, dict) and sub.secret_path
        else None
    )
    return WebhookInfo(
        "created",
        str(webhook_id) if webhook_id is not None else None,
        url,
        chosen,
        "subscription created"
        + ("; store the returned signing secret in the config" if secret else ""),
        signing_secret=str(secret) if secret else None,
    )


def _fill(path: str, value: str) -> str:
    start, end = path.rfind("{"), path.rfind("}")
    if start < 0 or end < start:
        raise ValueError(f"{path}: no {{param}} for the subscription id")
    return path[:start] + quote(value, safe="") + path[end + 1 :]


def delete(
    sub: SubscriptionConfig | None,
    http: TrackedClient | None,
    webhook_id: str,
    *,
    manual_steps: str,
) -> WebhookInfo:
    if sub is None or http is None:
        return manual(manual_steps)
    if not webhook_id or "/" in webhook_id:
        raise ValueError(
            f"{sub.delete_path}: subscription id {webhook_id!r} is not usable in a path"
        )
    _send(http, "DELETE", _fill(sub.delete_path, webhook_id), endpoint=sub.delete_path)
    return WebhookInfo("deleted", webhook_id, message="subscription deleted")


def info(
    sub: SubscriptionConfig | None,
    http: TrackedClient | None,
    *,
    manual_steps: str,
    webhook_id: str | None = None,
    url: str | None = None,
) -> WebhookInfo:
    """Find the subscription by id or URL through the list endpoint."""
    if sub is None or http is None or sub.list_path is None:
        return manual(manual_steps)
    _, data = http.get_json(sub.list_path, endpoint=sub.list_path)
    items = dig(data, sub.list_selector) if isinstance(data, dict) else data
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        found_id = dig(item, sub.id_path)
        found_url = item.get(sub.url_field)
        if (webhook_id and str(found_id) == webhook_id) or (url and found_url == url):
            events = item.get(sub.events_field) if sub.events_field else None
            return WebhookInfo(
                "exists",
                str(found_id),
                found_url,
                tuple(events) if isinstance(events, list) else (),
                "subscription found",
            )
    return WebhookInfo(
        "missing", webhook_id, url, message="no such subscription at the vendor"
    )
