"""Twilio rows: every property of the spec's schema (twilio_api_v2010.yaml), with
sids, numbers, RFC 2822 dates and usage counts derived from the seed."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from .base import EPOCH_BASE, Emulator, ResourceDef
from .fixtures import twilio_schema_properties

API = "/2010-04-01"
SCHEMA = "api.v2010.account"
CATEGORIES = (
    "calls",
    "calls-inbound",
    "calls-outbound",
    "sms",
    "sms-inbound",
    "sms-outbound",
    "mms",
    "mms-inbound",
    "mms-outbound",
    "phonenumbers",
    "phonenumbers-local",
    "phonenumbers-mobile",
    "phonenumbers-tollfree",
    "recordings",
    "recordingstorage",
    "transcriptions",
    "conference",
    "totalprice",
    "lookups",
    "pv",
)
NUMBER_TYPES = {"Local": "local", "Mobile": "mobile", "TollFree": "toll_free"}


def rfc2822(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, UTC))


def _sid(prefix: str, rng: random.Random, i: int) -> str:
    return f"{prefix}{rng.getrandbits(96):024x}{i:08x}"


def _shape(schema: str, values: dict) -> dict:
    """Every property of the spec's schema, with ours filled in (others null)."""
    row = {name: None for name in twilio_schema_properties().get(schema, ())}
    row.update(values)
    return row


class TwilioRows(Emulator):
    """The data half of the Twilio emulator (the API half is `twilio.TwilioEmulator`)."""

    def __init__(self, **kwargs: Any) -> None:
        self.account_sid = _sid(
            "AC", random.Random(f"twilio:{kwargs.get('seed', 1)}:account"), 0
        )
        super().__init__(**kwargs)

    def fmt_time(self, epoch: int) -> str:
        return rfc2822(epoch)

    def parse_time(self, value: Any) -> float:
        return parsedate_to_datetime(value).timestamp()

    # ----- data ---------------------------------------------------------------------
    def resource_defs(self) -> list[ResourceDef]:
        def d(key: str, make, **kw: Any) -> ResourceDef:
            kw.setdefault("created_field", "date_created")
            kw.setdefault("updated_field", "date_updated")
            return ResourceDef(key, make, id_field=kw.pop("id_field", "sid"), **kw)

        pool = max(1, min(self.rows, 40))
        return [
            d("accounts", self._account, count=3),
            d("addresses", self._address),
            d("calls", self._call),
            d("conferences", self._conference),
            d("messages", self._message),
            *(
                d(
                    f"available_phone_numbers/{kind}",
                    self._number(kind),
                    id_field="phone_number",
                    count=pool,
                    created_field=None,
                    updated_field=None,
                )
                for kind in NUMBER_TYPES.values()
            ),
            d(
                "usage_records",
                self._usage,
                id_field="category",
                count=len(CATEGORIES),
                created_field=None,
                updated_field=None,
            ),
        ]

    def _base(self, sid: str, at: int, resource: str, schema: str) -> dict:
        return _shape(
            schema,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "date_created": rfc2822(at),
                "date_updated": rfc2822(at + 30),
                "api_version": "2010-04-01",
                "uri": f"{API}/Accounts/{self.account_sid}/{resource}/{sid}.json",
            },
        )

    def _account(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        sid = self.account_sid if i == 0 else _sid("AC", rng, i)
        return _shape(
            SCHEMA,
            {
                "sid": sid,
                "friendly_name": "Main account" if i == 0 else f"Subaccount {i}",
                "owner_account_sid": self.account_sid,
                "status": "active",
                "type": "Full",
                "auth_token": f"{rng.getrandbits(128):032x}",  # never the configured token
                "date_created": rfc2822(at),
                "date_updated": rfc2822(at + 30),
                "uri": f"{API}/Accounts/{sid}.json",
                "subresource_uris": {},
            },
        )

    def _address(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = self._base(_sid("AD", rng, i), at, "Addresses", f"{SCHEMA}.address")
        row.update(
            customer_name=f"Customer {i}",
            friendly_name=f"Address {i}",
            street=f"{i} Main St",
            city="San Francisco",
            region="CA",
            postal_code="94105",
            iso_country="US",
            emergency_enabled=False,
            validated=True,
            verified=True,
        )
        return row

    def _call(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = self._base(_sid("CA", rng, i), at, "Calls", f"{SCHEMA}.call")
        duration = rng.randrange(5, 600)
        row.update(
            to=f"+1415555{i % 10000:04d}",
            **{"from": "+14155550000"},
            status="completed",
            start_time=rfc2822(at),
            end_time=rfc2822(at + duration),
            duration=str(duration),
            direction="outbound-api",
            price="-0.01300",
            price_unit="USD",
        )
        return row

    def _conference(
        self, i: int, at: int, rng: random.Random, parent: str | None
    ) -> dict:
        row = self._base(_sid("CF", rng, i), at, "Conferences", f"{SCHEMA}.conference")
        row.update(friendly_name=f"Room {i}", status="completed", region="us1")
        return row

    def _message(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = self._base(_sid("SM", rng, i), at, "Messages", f"{SCHEMA}.message")
        row.update(
            to=f"+1415555{i % 10000:04d}",
            **{"from": "+14155550000"},
            body=f"Message {i}",
            status="delivered",
            direction="outbound-api",
            date_sent=rfc2822(at + 1),
            num_segments="1",
            num_media="0",
            price="-0.00750",
            price_unit="USD",
        )
        return row

    def _number(self, kind: str):
        schema = (
            f"{SCHEMA}.available_phone_number_country.available_phone_number_{kind}"
        )
        area = {"local": "415", "mobile": "628", "toll_free": "888"}[kind]

        def make(i: int, at: int, rng: random.Random, parent: str | None) -> dict:
            number = f"+1{area}{rng.randrange(200, 999)}{i:04d}"
            return _shape(
                schema,
                {
                    "phone_number": number,
                    "friendly_name": f"({area}) {number[5:8]}-{number[8:]}",
                    "iso_country": "US",
                    "region": "CA",
                    "beta": False,
                    "address_requirements": "none",
                    "capabilities": {
                        "voice": True,
                        "SMS": True,
                        "MMS": kind != "toll_free",
                    },
                },
            )

        return make

    def _usage(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        category = CATEGORIES[i]
        return _shape(
            f"{SCHEMA}.usage.usage_record",
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "category": category,
                "description": category.replace("-", " ").title(),
                "count_unit": "calls" if "call" in category else "messages",
                "usage_unit": "minutes" if "call" in category else "segments",
                "price_unit": "usd",
                "subresource_uris": {},
                "uri": f"{API}/Accounts/{self.account_sid}/Usage/Records.json?Category={category}",
            },
        )

    def _usage_between(self, row: dict, start: date, end: date) -> dict:
        """A usage record over [start, end]: sums deterministic daily counts."""
        first = datetime.fromtimestamp(EPOCH_BASE, UTC).date()
        count, day = 0, max(start, first)
        while day <= min(end, self._today()):
            count += random.Random(
                f"twilio:{self.seed}:{row['category']}:{day}"
            ).randrange(0, 20)
            day += timedelta(days=1)
        return {
            **row,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "count": str(count),
            "usage": str(count),
            "price": round(count * 0.0075, 4),
            "as_of": datetime.fromtimestamp(self.now, UTC).isoformat(),
        }

    def _today(self) -> date:
        return datetime.fromtimestamp(self.now, UTC).date()
