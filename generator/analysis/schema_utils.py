"""Memoised schema helpers on top of `Spec`, plus the small text helpers every rule shares.

Analysis asks the same questions of the same schemas many times (Stripe's list envelopes all
share one `customer` schema, Cloudflare's 760 operations share a handful of envelopes), so
answers are cached by the identity of the schema dict and the file it lives in. Specs are
never mutated during analysis, so identity is a safe key for the life of one `Schemas`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from generator.spec.model import Node, Spec

_CAMEL_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")


@functools.lru_cache(maxsize=65536)
def snake(text: str) -> str:
    """`DateCreated` -> `date_created`, `page[size]` -> `page_size`, `per-page` -> `per_page`."""
    text = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", text))
    return _NON_WORD.sub("_", text).strip("_").lower()


def tokens(text: str) -> list[str]:
    """The lower-case words of an identifier, whatever its casing convention."""
    return [t for t in snake(text).split("_") if t]


def singular(word: str) -> str:
    """A cheap English singular, enough for resource names (`customers`, `policies`, `addresses`)."""
    w = word
    lower = w.lower()
    if lower.endswith("ies") and len(w) > 4:
        return w[:-3] + ("Y" if w[-3].isupper() else "y")
    if lower.endswith("yses"):
        return w[:-2] + "is"
    if lower.endswith(("sses", "shes", "ches", "xes", "zzes", "uses")):
        return w[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")) and len(w) > 1:
        return w[:-1]
    return w


@dataclass(frozen=True)
class FieldInfo:
    """What a row property looks like, flattened to what rules need."""

    name: str
    types: frozenset[str]
    format: str
    description: str
    nullable: bool
    required: bool
    node: Node


class Schemas:
    """Cached structural questions about a spec's schemas."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self._props: dict[tuple[int, str], dict[str, Node]] = {}
        self._types: dict[tuple[int, str], frozenset[str]] = {}
        self._deref: dict[tuple[int, str], Node | None] = {}
        self._items: dict[tuple[int, str], Node | None] = {}
        self._required: dict[tuple[int, str], frozenset[str]] = {}
        self._fields: dict[tuple[int, str], dict[str, FieldInfo]] = {}
        self._field_infos: dict[tuple, FieldInfo] = {}
        self._field_shapes: dict[tuple[int, str], tuple] = {}
        self._keep: list[
            object
        ] = []  # keeps keyed objects alive so ids are never reused

    @staticmethod
    def _key(node: Node) -> tuple[int, str]:
        return (id(node.value), node.base)

    def deref(self, node: Node | None) -> Node | None:
        if node is None:
            return None
        key = self._key(node)
        if key not in self._deref:
            self._keep.append(node.value)
            self._deref[key] = self.spec.safe_deref(node)
        return self._deref[key]

    def _tuple_union(self, node: Node) -> list[Node] | None:
        """An untyped schema whose `items` is a list (`{"items": [{..}, {..}]}`): some specs
        write a union of objects this way. Its entries, dereferenced, or None."""
        items = node.value.get("items")
        if "type" in node.value or not isinstance(items, list):
            return None
        return [n for n in (self.spec.sub(node, i) for i in items) if n is not None]

    def types(self, node: Node | None) -> frozenset[str]:
        node = self.deref(node)
        if node is None:
            return frozenset()
        key = self._key(node)
        if key not in self._types:
            self._keep.append(node.value)
            union = self._tuple_union(node)
            if union:
                self._types[key] = frozenset().union(*(self.types(n) for n in union))
            else:
                self._types[key] = frozenset(self.spec.types(node))
        return self._types[key]

    def properties(self, node: Node | None) -> dict[str, Node]:
        node = self.deref(node)
        if node is None:
            return {}
        key = self._key(node)
        if key not in self._props:
            self._keep.append(node.value)
            union = self._tuple_union(node)
            if union:
                merged: dict[str, Node] = {}
                for entry in union:
                    for name, prop in self.properties(entry).items():
                        merged.setdefault(name, prop)
                self._props[key] = merged
            else:
                self._props[key] = self.spec.properties(node)
        return self._props[key]

    def required(self, node: Node | None) -> frozenset[str]:
        node = self.deref(node)
        if node is None:
            return frozenset()
        key = self._key(node)
        if key not in self._required:
            self._keep.append(node.value)
            self._required[key] = frozenset(self.spec.required(node))
        return self._required[key]

    def items(self, node: Node | None) -> Node | None:
        """The item schema of an array; also the first entry of a tuple-style `items: [..]`."""
        node = self.deref(node)
        if node is None:
            return None
        key = self._key(node)
        if key not in self._items:
            self._keep.append(node.value)
            found = (
                None if self._tuple_union(node) is not None else self.spec.items(node)
            )
            self._items[key] = found
        return self._items[key]

    def value(self, node: Node | None) -> dict:
        node = self.deref(node)
        return node.value if node is not None else {}

    def branches(self, node: Node | None) -> list[Node]:
        """The schema itself plus its anyOf/oneOf/allOf parts (one level), dereferenced."""
        node = self.deref(node)
        if node is None:
            return []
        out = [node]
        for key in ("anyOf", "oneOf", "allOf"):
            for part in node.value.get(key) or []:
                sub = self.spec.sub(node, part)
                if sub is not None:
                    out.append(sub)
        return out

    def format(self, node: Node | None) -> str:
        for branch in self.branches(node):
            fmt = branch.value.get("format")
            if isinstance(fmt, str):
                return fmt
        return ""

    def fields(self, node: Node | None) -> dict[str, FieldInfo]:
        """Properties of an object schema as `FieldInfo`s, in spec order."""
        node = self.deref(node)
        if node is None:
            return {}
        key = self._key(node)
        if key not in self._fields:
            self._keep.append(node.value)
            required = self.required(node)
            out: dict[str, FieldInfo] = {}
            for name, prop in self.properties(node).items():
                out[name] = self.field_info(name, prop, name in required)
            self._fields[key] = out
        return self._fields[key]

    def field_info(self, name: str, prop: Node, required: bool = False) -> FieldInfo:
        # Cached: a response walk meets the same property schemas under many paths, so
        # what the schema says is worked out once per schema, then named per path.
        node_key = self._key(prop)
        key = (*node_key, name, required)
        if key not in self._field_infos:
            shape = self._field_shapes.get(node_key)
            if shape is None:
                self._keep.append(prop.value)
                shape = self._field_shapes[node_key] = self._field_shape(prop)
            types, fmt, desc, nullable, resolved = shape
            self._field_infos[key] = FieldInfo(
                name, types, fmt, desc, nullable, required, resolved
            )
        return self._field_infos[key]

    def _field_shape(self, prop: Node) -> tuple[frozenset[str], str, str, bool, Node]:
        """A property's types, format, description, nullability and resolved node."""
        resolved = self.deref(prop) or prop
        value = resolved.value
        types = set(self.types(resolved))
        # 3.0 `nullable`, 2.0 `x-nullable`, 3.1 `type: [..., "null"]` or a `null` branch: one meaning
        nullable = (
            bool(value.get("nullable") or value.get("x-nullable")) or "null" in types
        )
        for branch in self.branches(resolved)[1:]:
            b = branch.value
            if b.get("nullable") or b.get("x-nullable") or b.get("type") == "null":
                nullable = True
        types.discard("null")
        desc = str(value.get("description") or prop.value.get("description") or "")
        return frozenset(types), self.format(resolved), desc, nullable, resolved


def column_type(info: FieldInfo, schemas: Schemas | None = None) -> str:
    """A warehouse column type for a property (runtime/delta/columns.py holds them).

    `date-time` strings -> timestamp, `date` -> date, integers marked as Unix time ->
    timestamp, decimals -> decimal(38,S) when `multipleOf` states the scale (else string:
    exact text), arrays of scalars -> list<T>; objects, other arrays and unions -> json."""
    types = set(info.types)
    fmt = info.format.lower()
    if not types:
        return "json" if info.node.value.get("properties") else "string"
    if types <= {"integer"}:
        return "timestamp" if unix_time(info) else "int64"
    if types <= {"integer", "number"} or types == {"string"} and fmt == "decimal":
        if fmt == "decimal":
            return _decimal(info.node.value.get("multipleOf"))
        return "float64"
    if types == {"boolean"}:
        return "bool"
    if types == {"string"}:
        if fmt in ("date-time", "date-time-rfc-2822"):
            return "timestamp"
        return "date" if fmt == "date" else "string"
    if types == {"array"} and schemas is not None:
        items = schemas.spec.sub(info.node, info.node.value.get("items"))
        if items is not None:
            inner = column_type(schemas.field_info("", items), None)
            if inner in ("string", "int64", "float64", "bool", "timestamp", "date"):
                return f"list<{inner}>"
    return "json"


_UNIX_WORDS = re.compile(
    r"(seconds since the (unix )?epoch|unix (epoch|time|timestamp)|epoch (seconds|time))"
)


def unix_time(info: FieldInfo) -> bool:
    """An integer the spec marks as Unix time: `format: unix-time`, or an int64 whose
    description says epoch seconds."""
    fmt = info.format.lower()
    if fmt == "unix-time":
        return True
    return fmt in ("", "int64") and bool(_UNIX_WORDS.search(info.description.lower()))


def _decimal(multiple_of: object) -> str:
    """decimal(38,S) when `multipleOf` is 10^-S (the stated scale), else string."""
    if isinstance(multiple_of, int | float) and not isinstance(multiple_of, bool):
        text = f"{multiple_of:.12f}".rstrip("0")
        whole, _, fraction = text.partition(".")
        if (
            whole == "0"
            and fraction
            and set(fraction[:-1]) <= {"0"}
            and fraction[-1] == "1"
        ):
            return f"decimal(38,{len(fraction)})"
    return "string"


TIME_FORMATS = ("date-time", "date", "datetime", "unix-time", "timestamp")


def time_kind(info: FieldInfo) -> str | None:
    """`integer` (epoch seconds), `datetime` or `date` when a property holds a point in time.

    A string with no format counts only when its description says it is a time; a string
    whose format names another encoding (`date-time-rfc-2822`) is a datetime that does not
    sort as text, which callers that need ordering must check with `sortable_time`.
    """
    fmt = info.format.lower()
    desc = info.description.lower()
    if _DURATION.search(desc) and not _epoch_words(desc):
        return None
    if info.types & {"integer", "number"} and not info.types & {
        "string",
        "object",
        "array",
    }:
        if (
            fmt in ("unix-time", "timestamp")
            or _epoch_words(desc)
            or _time_name(info.name)
        ):
            return "integer"
        return None
    if "string" in info.types and not info.types & {"object", "array"}:
        if fmt == "date":
            return "date"
        if "date" in fmt or "time" in fmt:
            return "datetime"
        if (
            not fmt
            and tokens(info.name)[-1:] != ["ts"]
            and (
                _time_name(info.name)
                or re.search(r"\b(iso[ -]?8601|timestamp|date)\b", desc)
            )
        ):
            return "datetime"  # `ts` strings are epoch seconds as text, not ISO times
    return None


def sortable_time(info: FieldInfo) -> bool:
    """Whether a time property's values sort in time order (ISO text or epoch numbers)."""
    fmt = info.format.lower()
    return fmt in (
        "",
        "date-time",
        "date",
        "unix-time",
        "timestamp",
        "int32",
        "int64",
        "datetime",
    )


_DURATION = re.compile(
    r"\b(milliseconds|in seconds|in minutes|duration|how long|wait time|elapsed|number of "
    r"(seconds|minutes|days))\b"
)


def _epoch_words(desc: str) -> bool:
    return bool(re.search(r"(epoch|unix|seconds since|timestamp|time at which)", desc))


def _time_name(name: str) -> bool:
    words = tokens(name)
    if not words:
        return False
    if words[-1] in (
        "at",
        "date",
        "time",
        "timestamp",
        "datetime",
        "on",
        "ts",
        "created",
        "updated",
        "modified",
    ):
        return True
    return len(words) == 1 and words[0] in ("published", "when")


def desc(param: object) -> str:
    """A parameter's description, falling back to its schema's (`schema.description`)."""
    text = str(getattr(param, "description", "") or "")
    if text:
        return text
    schema = getattr(param, "schema", None)
    value = getattr(schema, "value", None)
    return str(value.get("description") or "") if isinstance(value, dict) else ""
