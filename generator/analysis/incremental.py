"""Incremental fields: only where the API filters server-side on a row field.

Patterns recognised (each yields the parameter that takes the last value, and the row field
it filters):
- `range_object_param`: a deepObject / object parameter with `gt`/`gte`/`lt`/`lte` members
  (`created[gt]`, before `created[lt]`; `gt` preferred over `gte`).
- `comparison_suffix_param`: parameters named with an operator (`DateCreated>`, `created_at[gte]`,
  `updated__gt`), paired with their `<` counterpart.
- `named_lower_bound`: `since`, `updated_after`, `modified_since`, `start_time`, `min_date`,
  `ts_from`, `dateStart`... when the parameter holds a time (or, for `since`, an id).
- `jsonapi_filter_expression`: a `filter` parameter whose description lists `greater-than`
  for a field: `filter=greater-than(updated,{value})`.
- `scim_filter_expression`: a `filter`/`search` parameter documented with SCIM comparisons
  (`lastUpdated gt "..."`): `filter=lastUpdated gt "{value}"`.
- `if_modified_since_header`: a declared `If-Modified-Since` header parameter described as
  filtering results.
A filter documented as ignored unless another parameter has some value (`conditional_filter`)
is not used. The filtered field is read from the parameter's name, then its description (`since` on an
issues list "updated after" -> `updated_at`); a creation-time filter whose name is absent from
the row maps to the row's creation field. `updated_covers_created`: a filter on the update time
also selects every row created after the value, so the creation field is offered with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.analysis.rows import Rows
from generator.analysis.schema_utils import (
    FieldInfo,
    Schemas,
    desc,
    snake,
    time_kind,
    tokens,
)
from generator.analysis.time_roles import field_role, role
from generator.spec.model import Operation, Param
from runtime.catalog import IncrementalField

LOWER_OPS = ("gt", "gte", "after", "from", "since", "min", "start")
UPPER_OPS = ("lt", "lte", "before", "to", "until", "max", "end")
BOUND_WORDS = {"since", "after", "from", "start", "begin", "min", "oldest", "earliest"}
PAIRS = {
    "since": ("until", "before", "to"),
    "after": ("before",),
    "from": ("to", "until"),
    "start": ("end",),
    "begin": ("end",),
    "min": ("max",),
    "oldest": ("latest", "newest"),
    "earliest": ("latest",),
}
SUFFIX_RE = re.compile(
    r"^(?P<base>.+?)(?:(?P<sym>>=|>|<=|<)|\[(?P<br>gte|gt|lte|lt|after|before|from|to|min|max)\]"
    r"|__(?P<du>gte|gt|lte|lt)|\.(?P<dot>gte|gt|lte|lt))$"
)
ROLE_ORDER = {"updated": 0, "created": 1, "occurred": 2}
CONDITIONAL = re.compile(
    r"\b(will be|is|are) ignored\b|\bcan only be used (when|with|if)\b|\bonly applies (when|if)\b",
    re.I,
)


@dataclass
class Candidate:
    field: FieldInfo
    filter_param: str
    before_param: str | None
    expression: str | None
    value_type: str
    why: str


def decide(
    schemas: Schemas, op: Operation, rows: Rows
) -> tuple[list[IncrementalField], str]:
    if not rows.is_list or not rows.fields:
        return [], "not a list"
    found: list[Candidate] = []
    conditional = {p.name for p in op.parameters if CONDITIONAL.search(desc(p))}
    for rule in (
        _range_object_param,
        _comparison_suffix_param,
        _named_lower_bound,
        _jsonapi_filter_expression,
        _scim_filter_expression,
        _if_modified_since_header,
    ):
        for cand in rule(schemas, op, rows):
            if cand.filter_param.split("[")[0] in conditional:
                continue  # `conditional_filter`: ignored unless another parameter has some value
            if all(c.field.name != cand.field.name for c in found):
                found.append(cand)
    found = [
        c for c in found if field_role(c.field) in ROLE_ORDER or c.field.name in ("id",)
    ]
    found.extend(_updated_covers_created(found, rows))
    found.sort(key=lambda c: ROLE_ORDER.get(field_role(c.field) or "", 3))
    out = [
        IncrementalField(
            field=c.field.name,
            type=c.value_type,
            filter_param=c.filter_param,
            before_param=c.before_param,
            filter_expression=c.expression,
        )
        for c in found
    ]
    if not out:
        return [], "no server-side filter on a row time field"
    return out, "; ".join(c.why for c in found)


# ---- mapping a filter to its row field ------------------------------------------------------


def _row_field(
    rows: Rows, stem: str, description: str, value_type: str | None = None
) -> FieldInfo | None:
    """The row field a filter named `stem` (words left after the operator) restricts."""
    fields = rows.fields
    sn = snake(stem)
    for name, info in fields.items():
        if snake(name) == sn and time_kind(info) is not None:
            return info
    named = [w for w in re.findall(r"`([A-Za-z_][\w]*)`", description) if w in fields]
    for name in named:
        if (
            time_kind(fields[name]) is not None
            and role(name, fields[name].description) != "other"
        ):
            return fields[name]
    wanted = role(stem, "") if stem else "other"
    if wanted == "other" or wanted == "occurred":
        desc_role = _description_role(description)
        wanted = desc_role or wanted
    if wanted in ("updated", "created", "occurred"):
        matches = [f for f in fields.values() if field_role(f) == wanted]
        if wanted == "occurred" and not matches:
            matches = [f for f in fields.values() if field_role(f) == "created"]
        if matches:
            return _best(matches, value_type)
    return None


def _best(matches: list[FieldInfo], value_type: str | None) -> FieldInfo:
    def rank(f: FieldInfo) -> tuple:
        kind = time_kind(f)
        return (0 if value_type is None or kind == value_type else 1, len(f.name))

    return sorted(matches, key=rank)[0]


def _description_role(description: str) -> str | None:
    d = description.lower()
    if re.search(r"\b(updated|modified|changed)\b", d):
        return "updated"
    if re.search(r"\b(created|creation)\b", d):
        return "created"
    if re.search(
        r"\b(newer than|occurred|happened|events?|logs?|start of time range)\b", d
    ):
        return "occurred"
    return None


def _value_type(field: FieldInfo, param_schema: dict | None) -> str:
    """The type of the value sent to the filter: the row field's time kind, else the
    parameter's (a number parameter over text epochs like `"1512085950.000216"` is numeric)."""
    kind = time_kind(field)
    if kind:
        return kind
    t = (param_schema or {}).get("type")
    if t == "number":
        return "numeric"
    fmt = (param_schema or {}).get("format")
    if t in ("integer", "number"):
        return "integer"
    return "date" if fmt == "date" else "datetime"


def _param_is_time(p: Param) -> bool:
    schema = p.schema.value
    fmt = str(schema.get("format") or "").lower()
    text = desc(p).lower()
    if "date" in fmt or "time" in fmt:
        return True
    for part in schema.get("anyOf") or schema.get("oneOf") or []:
        if isinstance(part, dict) and "date" in str(part.get("format") or ""):
            return True
    if re.search(
        r"\b(iso[ -]?8601|timestamp|date|datetime|time|epoch|unix|rfc ?3339)\b", text
    ):
        return True
    return schema.get("type") in ("integer", "number") and bool(
        re.search(r"\b(seconds|epoch)\b", text)
    )


# ---- rules ------------------------------------------------------------------------------------


def _range_members(schemas: Schemas, p: Param) -> set[str]:
    members: set[str] = set()
    for branch in schemas.branches(p.schema):
        for name in schemas.properties(branch):
            if name in LOWER_OPS + UPPER_OPS:
                members.add(name)
    if not members and (p.style == "deepObject" or "object" in schemas.types(p.schema)):
        members = {
            op
            for op in ("gt", "gte", "lt", "lte")
            if f"`{op}`" in desc(p)
            or f"`{op}`" in str(schemas.value(p.schema).get("description") or "")
        }
    return members


def _range_object_param(schemas, op, rows):
    for p in op.query_params():
        members = _range_members(schemas, p)
        lower = next((m for m in ("gt", "gte") if m in members), None)
        if lower is None:
            continue
        upper = next((m for m in ("lt", "lte") if m in members), None)
        inner = None
        for branch in schemas.branches(p.schema):
            props = schemas.properties(branch)
            if lower in props:
                inner = schemas.value(props[lower])
        field = _row_field(rows, p.name, desc(p), _schema_kind(inner))
        if field is None:
            continue
        yield Candidate(
            field,
            f"{p.name}[{lower}]",
            f"{p.name}[{upper}]" if upper else None,
            None,
            _value_type(field, inner),
            f"range_object_param: '{p.name}[{lower}]' filters '{field.name}'",
        )


def _schema_kind(schema: dict | None) -> str | None:
    if not schema:
        return None
    if schema.get("type") in ("integer", "number"):
        return "integer"
    return "date" if schema.get("format") == "date" else "datetime"


def _comparison_suffix_param(schemas, op, rows):
    params = {p.name: p for p in op.query_params()}
    for name, p in params.items():
        m = SUFFIX_RE.match(name)
        if not m:
            continue
        opname = m.group("sym") or m.group("br") or m.group("du") or m.group("dot")
        if opname not in (">", ">=", "gt", "gte", "after", "from", "min"):
            continue
        base = m.group("base")
        if not _param_is_time(p) and p.schema.value.get("type") not in (
            "integer",
            "number",
        ):
            continue
        field = _row_field(rows, base, desc(p))
        if field is None:
            continue
        before = next(
            (
                c
                for c in (
                    f"{base}<",
                    f"{base}<=",
                    f"{base}[lt]",
                    f"{base}[lte]",
                    f"{base}[before]",
                    f"{base}[to]",
                    f"{base}__lt",
                    f"{base}.lt",
                )
                if c in params
            ),
            None,
        )
        yield Candidate(
            field,
            name,
            before,
            None,
            _value_type(field, p.schema.value),
            f"comparison_suffix_param: '{name}' filters '{field.name}'",
        )


def _named_lower_bound(schemas, op, rows):
    params = {p.name: p for p in op.query_params()}
    for name, p in params.items():
        words = tokens(name)
        bound = [w for w in words if w in BOUND_WORDS]
        if (
            not bound
            or SUFFIX_RE.match(name)
            or set(words) & {"id", "cursor", "token", "page", "index"}
        ):
            continue
        if words[0] in ("min", "max") and not _param_is_time(p):
            continue  # min_duration_ms, min_popularity: value ranges, not time
        stem_words = [
            w
            for w in words
            if w not in BOUND_WORDS
            and w not in ("at", "date", "time", "datetime", "timestamp", "ts")
        ]
        if (
            re.search(r"\b(id|identifier)\b", desc(p), re.I)
            and "since" in bound
            and "id" in rows.fields
            and p.schema.value.get("type") == "integer"
        ):
            yield Candidate(
                rows.fields["id"],
                name,
                None,
                None,
                "integer",
                f"named_lower_bound: '{name}' returns rows with a larger id",
            )
            continue
        if not _param_is_time(p):
            continue
        stem = "_".join(stem_words)
        field = (
            _row_field(rows, stem, desc(p), _schema_kind(p.schema.value))
            if stem
            else None
        )
        if field is None:
            field = (
                _row_field(
                    rows, "_".join(w for w in words if w not in BOUND_WORDS), desc(p)
                )
                if len(words) > 1
                else None
            )
        if field is None:
            field = _row_field(rows, "", desc(p), _schema_kind(p.schema.value))
        if field is None:
            continue
        before = _upper_partner(name, params)
        yield Candidate(
            field,
            name,
            before,
            None,
            _value_type(field, p.schema.value),
            f"named_lower_bound: '{name}' filters '{field.name}'",
        )


def _upper_partner(name: str, params: dict[str, Param]) -> str | None:
    words = tokens(name)
    by_snake = {snake(n): n for n in params}
    for i, w in enumerate(words):
        for partner in PAIRS.get(w, ()):
            cand = "_".join(words[:i] + [partner] + words[i + 1 :])
            if cand in by_snake and by_snake[cand] != name:
                return by_snake[cand]
    return None


_FILTER_ENTRY = re.compile(r"`([\w.\-]+)`\s*:\s*((?:`[\w\-]+`\s*,?\s*)+)")


def _jsonapi_filter_expression(schemas, op, rows):
    p = op.param("filter")
    if p is None:
        return
    for m in _FILTER_ENTRY.finditer(desc(p)):
        field_name, ops = m.group(1), re.findall(r"`([\w\-]+)`", m.group(2))
        opname = next(
            (o for o in ("greater-than", "greater-or-equal") if o in ops), None
        )
        if opname is None or field_name not in rows.fields:
            continue
        field = rows.fields[field_name]
        if time_kind(field) is None:
            continue
        yield Candidate(
            field,
            "filter",
            None,
            f"{opname}({field_name},{{value}})",
            _value_type(field, None),
            f"jsonapi_filter_expression: filter allows {opname} on '{field_name}'",
        )


_SCIM = re.compile(r"(?:(\w+)=)?\b([A-Za-z_][\w.]*)\s+(gt|ge)\s+\\?\"")


def _scim_filter_expression(schemas, op, rows):
    """SCIM-style filter parameters (`filter=lastUpdated gt "2013-06-01T00:00:00.000Z"`)."""
    params = {p.name: p for p in op.query_params()}
    for p in params.values():
        if p.name.lower() not in ("filter", "search", "q", "query"):
            continue
        text = desc(p) + " " + str(p.schema.value.get("example") or "")
        for m in _SCIM.finditer(text):
            target = params.get(m.group(1) or p.name) or p
            name = m.group(2)
            field = rows.fields.get(name)
            if field is None or time_kind(field) is None:
                continue
            yield Candidate(
                field,
                target.name,
                None,
                f'{name} {m.group(3)} "{{value}}"',
                _value_type(field, None),
                f"scim_filter_expression: '{target.name}' takes `{name} {m.group(3)} \"...\"`",
            )


def _if_modified_since_header(schemas, op, rows):
    for p in op.parameters:
        if (
            p.location == "header"
            and p.name.lower() == "if-modified-since"
            and re.search(r"\b(return|only|items|results|records)\b", desc(p), re.I)
        ):
            field = _row_field(rows, "updated", desc(p))
            if field is not None:
                yield Candidate(
                    field,
                    p.name,
                    None,
                    None,
                    _value_type(field, None),
                    f"if_modified_since_header: '{p.name}' filters '{field.name}'",
                )


def _updated_covers_created(found: list[Candidate], rows: Rows) -> list[Candidate]:
    updated = next((c for c in found if field_role(c.field) == "updated"), None)
    if updated is None or any(field_role(c.field) == "created" for c in found):
        return []
    created = [f for f in rows.fields.values() if field_role(f) == "created"]
    if not created:
        return []
    field = sorted(created, key=lambda f: len(f.name))[0]
    return [
        Candidate(
            field,
            updated.filter_param,
            None,
            updated.expression,
            _value_type(field, None),
            f"updated_covers_created: rows created after a time were updated after it, "
            f"so '{updated.filter_param}' also serves '{field.name}'",
        )
    ]
