"""Klaviyo emulator: JSON:API lists under /api with `page[cursor]` and filter expressions.

Documented rules it follows (https://developers.klaviyo.com/en/reference/api-overview
and the operations in klaviyo/stable.json, revision 2026-07-15):
- Auth header `Authorization: Klaviyo-API-Key <private key>`; the `revision` header is
  required (format YYYY-MM-DD[.suffix]).
- Bodies are `{data: [{type, id, attributes, relationships, links}], links: {self,
  next, prev}}`; `links.next` is an absolute URL carrying `page[cursor]`.
- `page[size]` with a per-endpoint default and maximum (campaigns 100/100, events
  200/1000, flows 50/50, lists 10/10, profiles 20/100); metrics take no page[size].
- `filter` is an expression such as `greater-than(updated,2024-01-01T00:00:00Z)`;
  each endpoint allows only the field/operator pairs its docs list ("Allowed
  field(s)/operator(s)"); any other is a 400.
- `sort` takes one of the endpoint's documented fields, `-` for descending.
- campaigns: `filter` must include `equals(messages.channel,'email'|'sms'|...)`; the channel
  is a property of the campaign's messages, not an attribute of the campaign. This emulator
  makes every fourth campaign an SMS one (kept beside the row) and is lenient: without a
  channel condition it answers the email campaigns.
"""

from __future__ import annotations

import base64
import json
import random
import re
from datetime import UTC, datetime
from typing import Any

from .base import Emulator, Request, ResourceDef, Response, dig
from .jsonapi_filter import FilterError, matches, parse_filter, parse_iso

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
T = "greater-than,greater-or-equal,less-than,less-or-equal"

# endpoint -> (JSON:API type, page[size] (default, max) or None,
#              "field:allowed,ops ...", "sort fields")
# Copied from each operation's filter / page[size] / sort parameter in stable.json.
ENDPOINTS: dict[str, tuple[str, tuple[int, int] | None, str, str]] = {
    "campaigns": (
        "campaign",
        (100, 100),
        (
            f"id:any messages.channel:equals name:contains status:any,equals "
            f"archived:equals created_at:{T} scheduled_at:{T} updated_at:{T}"
        ),
        "created_at id name scheduled_at updated_at",
    ),
    "events": (
        "event",
        (200, 1000),
        (
            f"metric_id:equals profile_id:equals profile:has metric:has "
            f"datetime:{T} timestamp:{T}"
        ),
        "datetime timestamp",
    ),
    "flows": (
        "flow",
        (50, 50),
        (
            f"id:any name:contains,ends-with,equals,starts-with status:equals "
            f"archived:equals created:equals,{T} updated:equals,{T} trigger_type:equals"
        ),
        "created id name status trigger_type updated",
    ),
    "lists": (
        "list",
        (10, 10),
        "name:any,equals id:any,equals created:greater-than updated:greater-than",
        "created id name updated",
    ),
    "metrics": (
        "metric",
        None,
        "integration.name:equals integration.category:equals",
        "",
    ),
    "profiles": (
        "profile",
        (20, 100),
        (
            "id:any,equals email:any,equals phone_number:any,equals "
            "external_id:any,equals _kx:equals created:greater-than,less-than "
            "updated:greater-than,less-than"
        ),
        "created email id updated",
    ),
}
METRICS_PAGE = 200  # metrics take no page[size]; the API pages them itself
TIME_FIELDS = {"created", "updated", "created_at", "updated_at", "scheduled_at"}
TIME_FIELDS |= {"datetime", "timestamp"}
JSONAPI = {"Content-Type": "application/vnd.api+json"}


def allowed_ops(endpoint: str) -> dict[str, tuple[str, ...]]:
    pairs = (item.split(":") for item in ENDPOINTS[endpoint][2].split())
    return {field: tuple(ops.split(",")) for field, ops in pairs}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()  # `...+00:00`, as Klaviyo


def _ulid(at: int, rng: random.Random) -> str:
    ms, head = at * 1000, ""
    for _ in range(10):
        head, ms = CROCKFORD[ms % 32] + head, ms // 32
    return head + "".join(rng.choice(CROCKFORD) for _ in range(16))


def _short(i: int, rng: random.Random) -> str:
    """Six characters like Klaviyo's list/metric/flow ids, unique by index."""
    tail = ALNUM[i // 3844 % 62] + ALNUM[i // 62 % 62] + ALNUM[i % 62]
    return "".join(rng.choice(ALNUM) for _ in range(3)) + tail


class KlaviyoEmulator(Emulator):
    name = "klaviyo"
    default_api_key = "pk_emulator_private_key"

    @property
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key, "revision": "2026-07-15"}

    def fmt_time(self, epoch: int) -> str:
        return iso(epoch)

    def parse_time(self, value: Any) -> float:
        return parse_iso(value)

    # ----- data ---------------------------------------------------------------------
    def resource_defs(self) -> list[ResourceDef]:
        small = max(1, min(self.rows, 30))
        defs = [
            ResourceDef(
                "campaigns",
                self._campaign,
                created_field="attributes.created_at",
                updated_field="attributes.updated_at",
                mutate=_rename,
            )
        ]
        for key, make, count in (
            ("flows", self._flow, small),
            ("lists", self._list_row, small),
            ("metrics", self._metric, small),
            ("profiles", self._profile, None),
        ):
            defs.append(
                ResourceDef(
                    key,
                    make,
                    count=count,
                    created_field="attributes.created",
                    updated_field="attributes.updated",
                    mutate=_rename,
                )
            )
        # events come last: they point at profiles and metrics; they are immutable
        defs.append(
            ResourceDef("events", self._event, created_field="attributes.datetime")
        )
        return defs

    @staticmethod
    def _row(kind: str, rid: str, attrs: dict, rel: dict | None = None) -> dict:
        return {
            "type": kind,
            "id": rid,
            "attributes": attrs,
            "relationships": rel or {},
            "links": {"self": f"https://a.klaviyo.com/api/{kind}s/{rid}/"},
        }

    def _campaign(self, i: int, at: int, rng: random.Random, _p: str | None) -> dict:
        attrs = {
            "name": f"Campaign {i}",
            "status": rng.choice(["Draft", "Sent", "Scheduled"]),
            "archived": False,
            "audiences": {"included": [], "excluded": []},
            "send_options": {"use_smart_sending": True},
            "tracking_options": None,
            # A static send strategy carries its send time (the spec requires `datetime`).
            "send_strategy": {"method": "static", "datetime": iso(at + 3600)},
            "created_at": iso(at),
            "scheduled_at": None,
            "updated_at": iso(at + rng.randrange(1800)),
            "send_time": None,
        }
        row = self._row("campaign", _ulid(at, rng), attrs)
        self.channels()[row["id"]] = "sms" if i % 4 == 3 else "email"
        return row

    def channels(self) -> dict[str, str]:
        """Campaign id -> the channel of its messages (not part of the campaign's body)."""
        return self.__dict__.setdefault("_channels", {})

    def _flow(self, i: int, at: int, rng: random.Random, _p: str | None) -> dict:
        attrs = {
            "name": f"Flow {i}",
            "status": rng.choice(["draft", "live", "manual"]),
            "archived": False,
            "created": iso(at),
            "updated": iso(at + rng.randrange(1800)),
            "trigger_type": "Added to List",
        }
        return self._row("flow", _short(i, rng), attrs)

    def _list_row(self, i: int, at: int, rng: random.Random, _p: str | None) -> dict:
        attrs = {
            "name": f"List {i}",
            "created": iso(at),
            "updated": iso(at + rng.randrange(1800)),
            "opt_in_process": rng.choice(["single_opt_in", "double_opt_in"]),
        }
        return self._row("list", _short(i, rng), attrs)

    def _metric(self, i: int, at: int, rng: random.Random, _p: str | None) -> dict:
        category = rng.choice(["API", "eCommerce", "Email"])
        integration = {"object": "integration", "id": f"0{i}", "name": category}
        attrs = {
            "name": f"Metric {i}",
            "created": iso(at),
            "updated": iso(at + rng.randrange(1800)),
            "integration": {
                **integration,
                "key": category.lower(),
                "category": category,
            },
        }
        return self._row("metric", _short(i, rng), attrs)

    def _profile(self, i: int, at: int, rng: random.Random, _p: str | None) -> dict:
        attrs = dict.fromkeys(
            ("phone_number", "external_id", "organization", "title", "image"), None
        )
        attrs.update(
            email=f"person{i}@example.com",
            first_name=f"First{i}",
            last_name=f"Last{i}",
            locale="en-US",
            created=iso(at),
            updated=iso(at + rng.randrange(1800)),
            last_event_date=None,
            location=None,
            properties={},
        )
        return self._row("profile", _ulid(at, rng), attrs)

    def _event(self, i: int, at: int, rng: random.Random, _p: str | None) -> dict:
        rel = {
            kind: {
                "data": {"type": kind, "id": rng.choice(self.store[f"{kind}s"])["id"]}
            }
            for kind in ("profile", "metric")
            if self.store.get(f"{kind}s")
        }
        attrs = {
            "timestamp": at,
            "event_properties": {"value": i},
            "datetime": iso(at),
            "uuid": f"{rng.getrandbits(128):032x}",
        }
        return self._row("event", _ulid(at, rng), attrs, rel)

    # ----- vendor shapes ------------------------------------------------------------
    def error(self, status: int, message: str, **extra: Any) -> Response:
        code, title = {
            400: ("invalid", "Invalid input."),
            401: ("not_authenticated", "Authentication credentials were not provided."),
            404: ("not_found", "Not found."),
            429: ("throttled", "Request was throttled."),
        }.get(status, ("error", "A server error occurred."))
        err = {
            "id": f"emulator-{len(self.requests)}",
            "status": status,
            "code": extra.pop("code", code),
            "title": title,
            "detail": message,
            "source": extra.pop("source", {"pointer": "/data/"}),
        }
        return Response(status, {"errors": [err]}, dict(JSONAPI))

    def wrong_shape(self, body: Any) -> Any:
        links = body.get("links", {}) if isinstance(body, dict) else {}
        return {"data": {"unexpected": True}, "links": links}

    def check_auth(self, req: Request) -> Response | None:
        scheme, _, key = req.headers.get("authorization", "").partition(" ")
        if scheme != "Klaviyo-API-Key" or not key.strip():
            return self.error(401, "Missing or invalid private key.")
        if key.strip() != self.api_key:
            detail = "Incorrect authentication credentials."
            return self.error(401, detail, code="authentication_failed")
        if not re.fullmatch(
            r"\d{4}-\d{2}-\d{2}(\.\w+)?", req.headers.get("revision", "")
        ):
            detail = "A valid `revision` header (YYYY-MM-DD) is required."
            return self.error(400, detail, source={"header": "revision"})
        return None

    # ----- the list operation ---------------------------------------------------------
    def handle(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")
        if req.method != "GET" or len(parts) != 2 or parts[0] != "api":
            return self.error(404, f"{req.path} was not found.")
        name = parts[1]
        if name not in ENDPOINTS:
            return self.error(404, f"{req.path} was not found.")
        rows = self._filtered(req, name)
        if isinstance(rows, Response):
            return rows
        if "sort" in req.query:
            sort, field = req.query["sort"], req.query["sort"].lstrip("-")
            if field not in ENDPOINTS[name][3].split():
                return self._bad(
                    f"'{sort}' is not a valid sort for /api/{name}.", "sort"
                )
            rows.sort(
                key=lambda r: (
                    _field(r, field) is None,
                    _field(r, field) or "",
                    r["id"],
                ),
                reverse=sort.startswith("-"),
            )
        size = self._page_size(req, name)
        if isinstance(size, Response):
            return size
        offset = 0
        if "page[cursor]" in req.query:
            try:
                raw = base64.urlsafe_b64decode(req.query["page[cursor]"] + "===")
                offset = int(json.loads(raw)["o"])
            except (ValueError, KeyError, TypeError):
                return self._bad("Invalid page cursor.", "page[cursor]")
        links = {"self": req.url(), "next": None, "prev": None}
        if offset + size < len(rows):
            links["next"] = req.url(**{"page[cursor]": _cursor(offset + size)})
        if offset > 0:
            links["prev"] = req.url(**{"page[cursor]": _cursor(max(0, offset - size))})
        body = {"data": rows[offset : offset + size], "links": links}
        return Response(200, body, dict(JSONAPI))

    def _filtered(self, req: Request, name: str) -> list[dict] | Response:
        rows = list(self.store[name])
        allowed = allowed_ops(name)
        try:
            conditions = (
                parse_filter(req.query["filter"]) if req.query.get("filter") else []
            )
            if name == "campaigns" and not any(
                c[1] == "messages.channel" for c in conditions
            ):
                conditions.append(
                    ("equals", "messages.channel", "email")
                )  # lenient default
            for op, field, value in conditions:
                if op not in allowed.get(field, ()):
                    detail = f"'{op}' on '{field}' is not supported for /api/{name}."
                    return self._bad(detail, "filter")
                if field == "messages.channel":
                    channel = self.channels()
                    rows = [
                        r
                        for r in rows
                        if matches(op, channel.get(r["id"]), value, False)
                    ]
                    continue
                is_time = field in TIME_FIELDS
                rows = [
                    r for r in rows if matches(op, _field(r, field), value, is_time)
                ]
        except (FilterError, ValueError) as exc:
            return self._bad(f"Invalid filter: {exc}", "filter")
        return rows

    def _page_size(self, req: Request, name: str) -> int | Response:
        paging = ENDPOINTS[name][1]
        if paging is None:
            if "page[size]" in req.query:
                detail = f"'page[size]' is not a valid parameter for /api/{name}."
                return self._bad(detail, "page[size]")
            return METRICS_PAGE
        try:
            size = int(req.query.get("page[size]", paging[0]))
        except ValueError:
            return self._bad("page[size] must be an integer.", "page[size]")
        if not 1 <= size <= paging[1]:
            return self._bad(
                f"page[size] must be between 1 and {paging[1]}.", "page[size]"
            )
        return size

    def _bad(self, detail: str, parameter: str) -> Response:
        return self.error(400, detail, source={"parameter": parameter})


def _cursor(offset: int) -> str:
    raw = json.dumps({"o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _field(row: dict, field: str) -> Any:
    if field == "id":
        return row["id"]
    if field in ("metric_id", "profile_id"):
        return dig(row, f"relationships.{field[:-3]}.data.id")
    if field in ("metric", "profile"):
        return dig(row, f"relationships.{field}.data")
    return dig(row, f"attributes.{field}")


def _rename(row: dict, stamp: int) -> None:
    attrs = row["attributes"]
    key = "name" if "name" in attrs else "first_name"
    attrs[key] = f"{str(attrs[key]).split(' (edited')[0]} (edited {stamp})"
