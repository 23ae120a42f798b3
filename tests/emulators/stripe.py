"""Stripe emulator: cursor lists over /v1, as Stripe's API reference documents them.

Documented rules it follows (https://docs.stripe.com/api/pagination and the list
operations in spec3.json, API version 2020-08-27):
- Lists are `{object: "list", data, has_more, url}` and "sorted by creation date,
  with the most recent ... appearing first".
- `limit` "can range between 1 and 100, and the default is 10".
- `starting_after` / `ending_before` are object ids; using both is an error.
- `created` is a deepObject filter: `created[gt|gte|lt|lte]=<unix>` or `created=<unix>`.
- A parameter the operation does not declare is rejected: 400 `parameter_unknown`,
  "Received unknown parameter: x"; a missing required one is `parameter_missing`.
- Auth: `Authorization: Bearer sk_...`, or HTTP basic with the key as the username;
  otherwise 401 with an `invalid_request_error`.
"""

from __future__ import annotations

import base64
import random
from functools import cache
from typing import Any

from .base import Emulator, Request, ResourceDef, Response
from .fixtures import clone, path_pattern, stripe_fixtures, stripe_list_paths

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DOCS = "https://stripe.com/docs/error-codes/"

# store key -> (fixture object name, time field, parent store key)
# invoiceitems: Stripe's invoiceitem has `date`, not `created` (fixtures3.json), yet its
# list filter parameter is still `created[...]` (spec3.json GET /v1/invoiceitems).
CORE: dict[str, tuple[str, str, str | None]] = {
    "customers": ("customer", "created", None),
    "charges": ("charge", "created", None),
    "invoices": ("invoice", "created", None),
    "products": ("product", "created", None),
    "prices": ("price", "created", None),
    "subscriptions": ("subscription", "created", None),
    "refunds": ("refund", "created", None),
    "disputes": ("dispute", "created", None),
    "payouts": ("payout", "created", None),
    "balance_transactions": ("balance_transaction", "created", None),
    "credit_notes": ("credit_note", "created", None),
    "invoiceitems": ("invoiceitem", "date", None),
    "accounts": ("account", "created", None),
    "customers/balance_transactions": (
        "customer_balance_transaction",
        "created",
        "customers",
    ),
    "customers/payment_methods": ("payment_method", "created", "customers"),
    "customers/tax_ids": ("tax_id", "created", "customers"),
}
# Resources whose fixture carries a `customer` field: point it at a real customer so
# the documented `customer=<id>` list filter has something to match.
CUSTOMER_LINKED = {
    "charges",
    "invoices",
    "subscriptions",
    "credit_notes",
    "invoiceitems",
}
GENERIC_ROWS = 3  # rows served by fixture-backed lists outside CORE


@cache
def _declared_params() -> dict[
    str, tuple[frozenset[str], frozenset[str], frozenset[str]]
]:
    """Per GET path: (all query params, deepObject params, required params), from spec3.json."""
    from .fixtures import _load_json

    out = {}
    for path, item in _load_json("stripe/spec3.json")["paths"].items():
        params = [
            p
            for p in item.get("get", {}).get("parameters", [])
            if p.get("in") == "query"
        ]
        out[path] = (
            frozenset(p["name"] for p in params),
            frozenset(p["name"] for p in params if p.get("style") == "deepObject"),
            frozenset(p["name"] for p in params if p.get("required")),
        )
    return out


def _prefix(example_id: str) -> str:
    """`cus_L2eg...` -> `cus_`; ids without a type prefix (coupons) get none."""
    return example_id.split("_", 1)[0] + "_" if "_" in example_id else ""


def _id(prefix: str, rng: random.Random, index: int) -> str:
    tail, n = "", index
    for _ in range(
        4
    ):  # the index makes ids unique; the random part makes them look real
        tail, n = B62[n % 62] + tail, n // 62
    return prefix + "".join(rng.choice(B62) for _ in range(10)) + tail


class StripeEmulator(Emulator):
    name = "stripe"
    default_api_key = "sk_test_emulator"

    def resource_defs(self) -> list[ResourceDef]:
        defs = []
        for key, (obj, time_field, parent) in CORE.items():
            defs.append(
                ResourceDef(
                    key,
                    self._maker(key, obj, time_field),
                    created_field=time_field,
                    parent=parent,
                    per_parent=(0, 3),
                    mutate=_mutate,
                )
            )
        return defs

    def _maker(self, key: str, obj: str, time_field: str):
        template = stripe_fixtures()[obj]
        prefix = _prefix(template["id"])

        def make(i: int, at: int, rng: random.Random, parent: str | None) -> dict:
            row = clone(template)
            row["id"] = _id(prefix, rng, i)
            row[time_field] = at
            if parent is not None:
                row["customer"] = parent
            elif key in CUSTOMER_LINKED and self.store.get("customers"):
                row["customer"] = rng.choice(self.store["customers"])["id"]
            return row

        return make

    # ----- vendor shapes ------------------------------------------------------------
    def error(self, status: int, message: str, **extra: Any) -> Response:
        kind = {429: "invalid_request_error", 500: "api_error"}.get(
            status, "invalid_request_error"
        )
        return Response(status, {"error": {"message": message, "type": kind, **extra}})

    def check_auth(self, req: Request) -> Response | None:
        header = req.headers.get("authorization", "")
        key = ""
        if header.startswith("Bearer "):
            key = header[7:].strip()
        elif header.startswith("Basic "):  # the key as the basic-auth username
            try:
                key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except ValueError:
                key = ""
        if not key:
            return self.error(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
            )
        if key != self.api_key:
            # Stripe masks the key it rejects; never echo a secret.
            return self.error(401, f"Invalid API Key provided: {key[:8]}{'*' * 8}")
        return None

    # ----- routing ------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        if req.method != "GET":
            return self._unrecognized(req)
        parts = req.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "v1" and parts[1] in self.store:
            return self._list(req, f"/v1/{parts[1]}", parts[1], self.store[parts[1]])
        if len(parts) == 4 and parts[:2] == ["v1", "customers"]:
            key = f"customers/{parts[3]}"
            if key in self.store:
                template = f"/v1/customers/{{customer}}/{parts[3]}"
                if (missing := self._missing_customer(parts[2])) is not None:
                    return missing
                return self._list(req, template, key, self.children(key, parts[2]))
        if len(parts) == 3 and parts[0] == "v1" and parts[1] in self.store:
            try:  # retrieve one object of a core list
                return Response(200, self.find(parts[1], parts[2]))
            except KeyError:
                obj = CORE[parts[1]][0]
                return self.error(
                    404,
                    f"No such {obj}: '{parts[2]}'",
                    code="resource_missing",
                    param="id",
                    doc_url=DOCS + "resource-missing",
                )
        for template, obj in stripe_list_paths().items():
            if path_pattern(template).match(req.path):
                return self._list(req, template, None, self._generic(req.path, obj))
        return self._unrecognized(req)

    def _unrecognized(self, req: Request) -> Response:
        return self.error(
            404,
            f"Unrecognized request URL ({req.method}: {req.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )

    def _missing_customer(self, customer: str) -> Response | None:
        if any(c["id"] == customer for c in self.store["customers"]):
            return None
        return self.error(
            404,
            f"No such customer: '{customer}'",
            code="resource_missing",
            param="customer",
            doc_url=DOCS + "resource-missing",
        )

    def _generic(self, path: str, obj: str) -> list[dict]:
        """Rows for a list outside CORE: a few copies of Stripe's example object."""
        template = stripe_fixtures().get(obj)
        if template is None or "id" not in template:
            return []
        rng = self.rng(path)
        prefix = _prefix(template["id"])
        rows = []
        for i in range(GENERIC_ROWS):
            row = clone(template)
            row["id"] = _id(prefix, rng, i)
            if "created" in row:
                row["created"] = self.now - (GENERIC_ROWS - i) * 3600
            rows.append(row)
        return rows

    # ----- the list operation ---------------------------------------------------------
    def _bad(
        self, message: str, param: str, code: str = "parameter_invalid_integer"
    ) -> Response:
        return self.error(
            400, message, code=code, param=param, doc_url=DOCS + code.replace("_", "-")
        )

    def _list(
        self, req: Request, template: str, key: str | None, rows: list[dict]
    ) -> Response:
        declared, deep, required = _declared_params().get(
            template, (frozenset(), frozenset(), frozenset())
        )
        for name in req.query:
            base = name.split("[", 1)[0]
            if base not in declared or ("[" in name and base not in deep):
                return self._bad(
                    f"Received unknown parameter: {name}", name, "parameter_unknown"
                )
        for name in sorted(required):
            if name not in req.query:
                return self._bad(
                    f"Missing required param: {name}.", name, "parameter_missing"
                )
        q = req.query
        try:
            limit = int(q.get("limit", "10"))
        except ValueError:
            return self._bad(f"Invalid integer: {q['limit']}", "limit")
        if not 1 <= limit <= 100:
            return self._bad(
                "Invalid limit: must be between 1 and 100", "limit", "parameter_invalid"
            )
        if "starting_after" in q and "ending_before" in q:
            return self._bad(
                "You may only specify one of these parameters: ending_before, starting_after.",
                "ending_before",
                "parameter_invalid",
            )
        time_field = CORE[key][1] if key else "created"
        bounds: list[tuple[str, int]] = []
        for name, value in q.items():
            if name == "created" or name.startswith("created["):
                op = name[8:-1] if "[" in name else "eq"
                if op not in ("gt", "gte", "lt", "lte", "eq"):
                    return self._bad(
                        f"Received unknown parameter: {name}", name, "parameter_unknown"
                    )
                try:
                    bounds.append((op, int(value)))
                except ValueError:
                    return self._bad(f"Invalid integer: {value}", name)
        order = sorted(
            rows, key=lambda r: (r.get(time_field) or 0, r["id"]), reverse=True
        )
        by_id = {r["id"]: r for r in order}
        for field_name in ("customer", "type"):  # documented equality filters
            if field_name in q and field_name in declared:
                order = [r for r in order if r.get(field_name) == q[field_name]]
        order = [
            r
            for r in order
            if all(_cmp(r.get(time_field) or 0, op, v) for op, v in bounds)
        ]
        cursor_name = "starting_after" if "starting_after" in q else "ending_before"
        if cursor_name in q:
            anchor = by_id.get(q[cursor_name])
            if anchor is None:
                obj = CORE[key][0] if key else "object"
                return self._bad(
                    f"No such {obj}: '{q[cursor_name]}'",
                    cursor_name,
                    "resource_missing",
                )
            pivot = (anchor.get(time_field) or 0, anchor["id"])
            if cursor_name == "starting_after":
                rest = [r for r in order if (r.get(time_field) or 0, r["id"]) < pivot]
                page, has_more = rest[:limit], len(rest) > limit
            else:  # the `limit` objects just newer than the anchor, still newest first
                rest = [r for r in order if (r.get(time_field) or 0, r["id"]) > pivot]
                page, has_more = rest[-limit:], len(rest) > limit
        else:
            page, has_more = order[:limit], len(order) > limit
        return Response(
            200, {"object": "list", "data": page, "has_more": has_more, "url": req.path}
        )


def _cmp(value: int, op: str, bound: int) -> bool:
    return {
        "gt": value > bound,
        "gte": value >= bound,
        "lt": value < bound,
        "lte": value <= bound,
        "eq": value == bound,
    }[op]


def _mutate(row: dict, stamp: int) -> None:
    """Stripe objects have no `updated` field: an update shows only in the data
    (its `created` never changes, so `created[gt]` syncs cannot see it)."""
    meta = row.get("metadata")
    if not isinstance(meta, dict):
        meta = row["metadata"] = {}
    meta["emulator_updated"] = str(stamp)
