"""Twilio 2010-04-01 emulator: `PageSize`/`PageToken` pages with relative `next_page_uri`.

Documented rules it follows (twilio_api_v2010.yaml and
https://www.twilio.com/docs/usage/twilios-response#pagination):
- HTTP basic auth AccountSid:AuthToken; otherwise 401 with Twilio's error 20003.
- `PageSize` "The default is 50, and the maximum is 1000"; `Page` "The page index.
  This value is simply for client state" (it does not move the page: follow
  `next_page_uri`); `PageToken` "is provided by the API".
- Bodies: `{<resource>: [...], next_page_uri, previous_page_uri, first_page_uri, uri,
  page, page_size, start, end}`; the URIs are relative and `next_page_uri` is null on
  the last page.
- Date filters are parameter names ending in `<` / `>` (sent as `X<=D` / `X>=D`):
  Calls `StartTime`/`EndTime` ("started on or after" / "started before this date");
  Messages `DateSent` ("on and after", "on and before"); Conferences `DateCreated` /
  `DateUpdated` ("on or after", "on or before"). Addresses and Accounts have none.
- Dates in rows are RFC 2822 (`Mon, 01 Jan 2024 00:00:00 +0000`).
- Usage/Records: one record per category over `StartDate`..`EndDate` (defaults: the
  account's creation date .. today).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from .base import EPOCH_BASE, Request, Response
from .twilio_rows import API, NUMBER_TYPES, SCHEMA, TwilioRows

# resource -> (list key = store key, schema, newest first,
#              {filter param: (row field, upper bound inclusive)})
LISTS: dict[str, tuple[str, str, bool, dict[str, tuple[str, bool]]]] = {
    "Calls": ("calls", f"{SCHEMA}.call", True,
              {"StartTime": ("start_time", False), "EndTime": ("end_time", False)}),
    "Messages": ("messages", f"{SCHEMA}.message", True, {"DateSent": ("date_sent", True)}),
    "Conferences": ("conferences", f"{SCHEMA}.conference", True,
                    {"DateCreated": ("date_created", True),
                     "DateUpdated": ("date_updated", True)}),
    "Addresses": ("addresses", f"{SCHEMA}.address", False, {}),
}  # fmt: skip
EQUALS = {
    "To": "to",
    "From": "from",
    "Status": "status",
    "FriendlyName": "friendly_name",
    "CustomerName": "customer_name",
    "IsoCountry": "iso_country",
    "ParentCallSid": "parent_call_sid",
}


class TwilioEmulator(TwilioRows):
    name = "twilio"
    default_api_key = "emulator_auth_token"

    @property
    def credentials(self) -> dict[str, str]:
        return {"account_sid": self.account_sid, "auth_token": self.api_key}

    # ----- vendor shapes ------------------------------------------------------------
    def error(self, status: int, message: str, **extra: Any) -> Response:
        code = extra.pop(
            "code", {401: 20003, 404: 20404, 429: 20429, 500: 20500}.get(status, 20001)
        )
        body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
            **extra,
        }
        headers = (
            {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
        )
        return Response(status, body, headers)

    def check_auth(self, req: Request) -> Response | None:
        header = req.headers.get("authorization", "")
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            user = password = ""
        if not header.startswith("Basic ") or (user, password) != (
            self.account_sid,
            self.api_key,
        ):
            return self.error(
                401,
                "Authenticate",
                detail="Your AccountSid or AuthToken was incorrect.",
            )
        return None

    # ----- routing ------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.method == "GET" and req.path == f"{API}/Accounts.json":
            rows = [r for r in self.store["accounts"] if _equal_filters(req, r)]
            return self._page(req, "accounts", rows)
        m = re.fullmatch(rf"{API}/Accounts/(AC\w+)/(.+)\.json", req.path)
        if req.method != "GET" or not m:
            return self._not_found(req)
        account, rest = m.groups()
        if not any(a["sid"] == account for a in self.store["accounts"]):
            return self._not_found(req)
        mine = account == self.account_sid  # subaccounts exist but hold no data
        if rest in LISTS:
            key, _, newest_first, filters = LISTS[rest]
            rows = [r for r in self.store[key] if mine and _equal_filters(req, r)]
            for param, (row_field, upper_inclusive) in filters.items():
                rows, bad = _date_filter(
                    req, rows, param, row_field, upper_inclusive, self.parse_time
                )
                if bad:
                    return self.error(400, f"Invalid value for {bad}", code=20001)
            rows.sort(
                key=lambda r: (self.parse_time(r["date_created"]), r["sid"]),
                reverse=newest_first,
            )
            return self._page(req, key, rows)
        m2 = re.fullmatch(
            r"AvailablePhoneNumbers/([A-Z]{2})/(Local|Mobile|TollFree)", rest
        )
        if m2:
            rows = (
                self.store[f"available_phone_numbers/{NUMBER_TYPES[m2.group(2)]}"]
                if mine and m2.group(1) == "US"
                else []
            )
            return self._page(
                req, "available_phone_numbers", rows, id_field="phone_number"
            )
        if rest == "Usage/Records":
            try:
                start = (
                    _day(req.query.get("StartDate"), self._today())
                    or datetime.fromtimestamp(EPOCH_BASE, UTC).date()
                )
                end = _day(req.query.get("EndDate"), self._today()) or self._today()
            except ValueError:
                return self.error(
                    400, "Invalid value for StartDate or EndDate", code=20001
                )
            rows = [
                self._usage_between(r, start, end)
                for r in self.store["usage_records"]
                if mine
            ]
            if "Category" in req.query:
                rows = [r for r in rows if r["category"] == req.query["Category"]]
            return self._page(req, "usage_records", rows, id_field="category")
        return self._not_found(req)

    def _not_found(self, req: Request) -> Response:
        return self.error(404, f"The requested resource {req.path} was not found")

    def _page(
        self, req: Request, key: str, rows: list[dict], id_field: str = "sid"
    ) -> Response:
        try:
            size = min(max(int(req.query.get("PageSize", "50")), 1), 1000)
            page = max(int(req.query.get("Page", "0")), 0)
        except ValueError:
            return self.error(400, "Invalid PageSize or Page", code=20001)
        token = req.query.get("PageToken", "")
        ids = [str(r[id_field]) for r in rows]
        begin = 0
        if token[:2] in ("PA", "PB") and token[2:] in ids:
            at = ids.index(token[2:])
            begin = at + 1 if token[:2] == "PA" else max(0, at - size)
        elif token:
            return self.error(400, "Invalid PageToken", code=20001)
        chunk = rows[begin : begin + size]
        keep = {
            k: v
            for k, v in req.query.items()
            if k not in ("Page", "PageSize", "PageToken")
        }

        def uri(page_no: int, tok: str | None) -> str:
            q = {
                **keep,
                "PageSize": size,
                "Page": page_no,
                **({"PageToken": tok} if tok else {}),
            }
            return f"{req.path}?{urlencode(q)}"

        more = begin + size < len(rows)
        body = {
            key: chunk,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0),
            "uri": uri(page, token or None),
            "first_page_uri": uri(0, None),
            "next_page_uri": uri(page + 1, f"PA{ids[begin + size - 1]}")
            if more and chunk
            else None,
            "previous_page_uri": uri(page - 1, f"PB{ids[begin]}")
            if begin > 0 and chunk
            else None,
        }
        return Response(200, body)


def _equal_filters(req: Request, row: dict) -> bool:
    return all(
        row.get(field) == req.query[param]
        for param, field in EQUALS.items()
        if param in req.query and field in row
    )


def _date_filter(
    req, rows, param, row_field, upper_inclusive, parse
) -> tuple[list[dict], str | None]:
    """Apply `param` (= day), `param>` (on or after) and `param<` (before, or on or
    before when `upper_inclusive`); a bare date compares days, a datetime instants."""
    for suffix in ("", ">", "<"):
        name = param + suffix
        if name not in req.query:
            continue
        text = req.query[name].strip().replace(" ", "+")
        try:
            bound = datetime.fromisoformat(
                text.replace("Z", "+00:00") if len(text) > 10 else text
            )
        except ValueError:
            return rows, name
        if len(text) > 10 and bound.tzinfo is None:
            bound = bound.replace(tzinfo=UTC)
        kept = []
        for row in rows:
            if row.get(row_field) is None:
                continue
            when = datetime.fromtimestamp(parse(row[row_field]), UTC)
            a, b = (when.date(), bound.date()) if len(text) == 10 else (when, bound)
            ok = {"": a == b, ">": a >= b, "<": a <= b if upper_inclusive else a < b}[
                suffix
            ]
            if ok:
                kept.append(row)
        rows = kept
    return rows, None


def _day(text: str | None, today: date) -> date | None:
    """`YYYY-MM-DD`, or an offset from today such as `-30days` / `+30days`."""
    if not text:
        return None
    m = re.fullmatch(r"([+-]\d+)days", text.strip())
    return (
        today + timedelta(days=int(m.group(1)))
        if m
        else date.fromisoformat(text.strip())
    )
