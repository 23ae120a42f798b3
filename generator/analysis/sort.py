"""Sort mode: the order rows arrive in along the incremental field, given what we send.

Where the API lets us choose, we ask for ascending order and put the choice into
`Endpoint.params`: along the incremental field (safe checkpoints: a run that stops mid-way
resumes where it stopped), or, for a table without one whose operation states no default
order, along its creation time or key (a full read in an unstable default order can skip or
repeat rows between pages):
- `jsonapi_sort_param`: `sort` with `field`/`-field` values -> `sort=updated`.
- `sort_and_direction_params`: a sort-by parameter listing the field (`sort=updated`) and a
  direction parameter offering ascending (`direction=asc`, `sortOrder=ASCENDING`).
- `sort_object_param`: a deepObject sort parameter with the field as member (`sort_by[date_created]=asc`).
Otherwise we report the API's natural order:
- `direction_default`: the direction parameter's default (declared or in its description).
- `sort_default`: a sort parameter defaulting to `-field` (descending) or `field`.
- `described_order`: "most recent first", "reverse chronological", "in chronological order".
- `spec_convention`: endpoints paged the same way that state an order agree (>= 3, >= 90%).
- `default_ascending`: nothing says otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.analysis.schema_utils import Schemas, desc, snake, tokens
from generator.spec.model import Node, Operation, Param
from runtime.catalog import IncrementalField, Pagination

SORT_BY_NAMES = (
    "sort",
    "sort_by",
    "order_by",
    "sortby",
    "orderby",
    "sort_field",
    "sort_key",
    "sort_on",
)
DIRECTION_NAMES = (
    "direction",
    "order",
    "sort_order",
    "sort_dir",
    "sort_direction",
    "order_direction",
    "dir",
    "sortorder",
    "order_dir",
)
DESC_RE = re.compile(
    r"(most[ -]recent(ly)?|newest|latest)\b[^.]{0,60}\b(first|appear(ing)? first|on top)"
    r"|reverse[ -]chronological|from newest to oldest|newest first|sorted by most recently"
    r"|(sorted|ordered|returned|listed) (by [\w\s]{1,30} )?in descending (order|date)"
    r"|(starting|beginning) with the most recent",
    re.I,
)
ASC_RE = re.compile(
    r"(?<!reverse )(?<!reverse-)\bchronological order|oldest first|from oldest to newest"
    r"|(sorted|ordered|returned|listed) (by [\w\s]{1,30} )?in ascending (order|date)",
    re.I,
)


@dataclass
class Decision:
    mode: str
    params: dict
    why: str


def order_statement(op: Operation) -> str | None:
    """`asc`/`desc` when the operation's own prose states the order rows come in."""
    text = " ".join([op.summary, op.description])
    if DESC_RE.search(text):
        return "desc"
    if ASC_RE.search(text):
        return "asc"
    return None


def pagination_signature(pag: Pagination) -> str:
    keys = ("cursor_param", "next_url_path", "offset_param", "page_param")
    return pag.type + ":" + ",".join(str(getattr(pag, k, None) or "") for k in keys)


def spec_convention(statements: list[tuple[str, str]]) -> dict[str, str]:
    """pagination signature -> order, where at least 3 endpoints state one and 90% agree."""
    by_sig: dict[str, list[str]] = {}
    for sig, order in statements:
        by_sig.setdefault(sig, []).append(order)
    out = {}
    for sig, orders in by_sig.items():
        for order in ("asc", "desc"):
            if len(orders) >= 3 and orders.count(order) >= 0.9 * len(orders):
                out[sig] = order
    return out


# Rules whose reason means the operation states its order.
STATED = ("direction_default", "sort_default", "described_order")


def decide(
    schemas: Schemas,
    op: Operation,
    incremental: list[IncrementalField],
    pag: Pagination,
    convention: dict[str, str],
    stable_fields: list[str] = (),
) -> Decision:
    """`stable_fields`: for a table without incremental fields, fields (a creation time,
    the key) an explicit ascending sort may use when the operation does not state its
    default order, so that a full read cannot skip or repeat rows between pages."""
    params = {snake(p.name): p for p in op.query_params()}
    for inc in incremental:
        chosen = _request_ascending(schemas, params, inc.field)
        if chosen is not None:
            return chosen
    natural = _natural_order(op, params, pag, convention)
    if incremental or natural.why.startswith(STATED):
        return natural
    for name in stable_fields:
        chosen = _request_ascending(schemas, params, name)
        if chosen is not None:
            chosen.why += " (no stated default order: a stable order for full reads)"
            return chosen
    return natural


def _values(schemas: Schemas, p: Param) -> list[str]:
    return _enum(schemas, p.schema)


def _enum(schemas: Schemas, node: Node) -> list[str]:
    schema = schemas.value(node)
    enum = schema.get("enum")
    if not enum and schema.get("type") == "array":
        enum = schemas.value(schemas.items(node)).get("enum")
    return [str(v) for v in enum or [] if v is not None]


def _field_values(field: str) -> list[str]:
    words = tokens(field)
    stems = [field]
    if words and words[-1] in ("at", "date", "time", "on") and len(words) > 1:
        stems.append("_".join(words[:-1]))
    return stems


def _request_ascending(
    schemas: Schemas, params: dict[str, Param], field: str
) -> Decision | None:
    sort_by = next((params[n] for n in SORT_BY_NAMES if n in params), None)
    direction = next(
        (
            params[n]
            for n in DIRECTION_NAMES
            if n in params and params[n] is not sort_by
        ),
        None,
    )
    if sort_by is not None:
        values = _values(schemas, sort_by)
        for stem in _field_values(field):
            if stem in values and f"-{stem}" in values:
                return Decision(
                    "asc",
                    {sort_by.name: stem},
                    f"jsonapi_sort_param: {sort_by.name}={stem} sorts ascending by '{field}'",
                )
        members = schemas.properties(sort_by.schema)
        for branch in schemas.branches(sort_by.schema):
            members = members or schemas.properties(branch)
        for stem in _field_values(field):
            if stem in members:
                asc = _asc_value(_enum(schemas, members[stem]) or ["asc"])
                if asc:
                    return Decision(
                        "asc",
                        {f"{sort_by.name}[{stem}]": asc},
                        f"sort_object_param: {sort_by.name}[{stem}]={asc}",
                    )
        stem = next((s for s in _field_values(field) if s in values), None)
        if stem is not None and direction is not None:
            asc = _asc_value(
                _values(schemas, direction) or _described_values(direction)
            )
            if asc:
                return Decision(
                    "asc",
                    {sort_by.name: stem, direction.name: asc},
                    f"sort_and_direction_params: {sort_by.name}={stem}&{direction.name}={asc}",
                )
        return None
    if direction is not None and _direction_sorts_by(direction, field):
        asc = _asc_value(_values(schemas, direction) or _described_values(direction))
        if asc:
            return Decision(
                "asc",
                {direction.name: asc},
                f"sort_and_direction_params: {direction.name}={asc} orders by '{field}'",
            )
    return None


def _direction_sorts_by(direction: Param, field: str) -> bool:
    d = desc(direction).lower()
    words = [w for w in tokens(field) if w not in ("at", "date", "time")]
    if any(w in d for w in words) or re.search(
        r"chronolog|\b(time|date|newest|oldest|recent)", d
    ):
        return True
    return not re.search(r"\b(sort|order)(ed)? by\b", d) and bool(
        re.search(r"\b(asc|ascending)\b", d)
    )


def _described_values(p: Param) -> list[str]:
    return re.findall(r"`(asc|desc|ascending|descending|ASC|DESC)`", desc(p))


def _asc_value(values: list[str]) -> str | None:
    for v in values:
        if v.lower() in ("asc", "ascending"):
            return v
    return None


def _natural_order(
    op: Operation, params: dict[str, Param], pag: Pagination, convention: dict[str, str]
) -> Decision:
    direction = next((params[n] for n in DIRECTION_NAMES if n in params), None)
    if direction is not None:
        default = direction.schema.value.get("default")
        if isinstance(default, str) and default.lower() in (
            "asc",
            "desc",
            "ascending",
            "descending",
        ):
            mode = "asc" if default.lower().startswith("asc") else "desc"
            return Decision(
                mode, {}, f"direction_default: '{direction.name}' defaults to {default}"
            )
        m = re.search(
            r"default(?:s to|:|\s+is)?\s*`?(asc|desc)`?", desc(direction), re.I
        )
        if m:
            return Decision(
                m.group(1).lower(),
                {},
                f"direction_default: '{direction.name}' description says "
                f"default {m.group(1)}",
            )
    sort_by = next((params[n] for n in SORT_BY_NAMES if n in params), None)
    if sort_by is not None:
        default = sort_by.schema.value.get("default")
        if isinstance(default, str) and default.startswith("-"):
            return Decision(
                "desc", {}, f"sort_default: '{sort_by.name}' defaults to {default}"
            )
    stated = order_statement(op)
    if stated:
        return Decision(
            stated, {}, "described_order: the operation's description states the order"
        )
    sig = pagination_signature(pag)
    if sig in convention:
        return Decision(
            convention[sig],
            {},
            f"spec_convention: endpoints paged like this one state "
            f"{convention[sig]} order",
        )
    return Decision("asc", {}, "default_ascending: nothing states an order")
