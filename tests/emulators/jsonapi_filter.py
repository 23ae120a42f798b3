"""JSON:API filter expressions as Klaviyo documents them
(https://developers.klaviyo.com/en/docs/filtering_):

    equals(email,'a@b.c')   greater-than(updated,2024-01-01T00:00:00Z)
    any(id,['a','b'])       and(greater-or-equal(datetime,...),less-than(datetime,...))

Several expressions may also be listed with commas; all are ANDed. Strings are quoted
('...' or "..."), datetimes and numbers are not, lists use [...].
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

Condition = tuple[str, str, Any]  # (operator, field, value)

_TOKEN = re.compile(
    r"\s*(?:(\()|(\))|(,)|('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(\[)|(\])"
    r"|([^(),\[\]'\"]+))"
)
_KINDS = ("(", ")", ",", "str", "[", "]", "word")
_LITERALS = {"true": True, "false": False, "null": None}


class FilterError(ValueError):
    """The filter text is not a valid expression."""


def parse_iso(text: str) -> float:
    """ISO 8601 (with Z, an offset, or none = UTC; a bare date = midnight) -> epoch."""
    text = text.strip().replace(" ", "+")  # an unescaped '+' in a query decodes to ' '
    dt = datetime.fromisoformat(text + ("T00:00:00" if len(text) == 10 else ""))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def parse_filter(text: str) -> list[Condition]:
    """`and(greater-than(updated,2024-01-01T00:00:00Z),equals(name,'x'))` ->
    [(op, field, value), ...]; nested and(...) is flattened."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterError(f"cannot parse filter near {text[pos : pos + 20]!r}")
        kind = next(k for k, g in zip(_KINDS, m.groups(), strict=True) if g is not None)
        tokens.append((kind, m.group(m.lastindex or 0).strip()))
        pos = m.end()
    out: list[Condition] = []
    if _calls(tokens, 0, out) != len(tokens):
        raise FilterError("unexpected text after the filter expression")
    return out


def _calls(tokens: list[tuple[str, str]], i: int, out: list[Condition]) -> int:
    while True:
        if i + 1 >= len(tokens) or tokens[i][0] != "word" or tokens[i + 1][0] != "(":
            raise FilterError("expected operator(field,value)")
        op, i = tokens[i][1], i + 2
        if op == "and":
            i = _calls(tokens, i, out)
        else:
            if (
                i + 1 >= len(tokens)
                or tokens[i][0] != "word"
                or tokens[i + 1][0] != ","
            ):
                raise FilterError(f"{op}: expected field,value")
            field = tokens[i][1]
            value, i = _value(tokens, i + 2)
            out.append((op, field, value))
        if i >= len(tokens) or tokens[i][0] != ")":
            raise FilterError(f"{op}: missing ')'")
        i += 1
        if i < len(tokens) and tokens[i][0] == ",":
            i += 1
            continue
        return i


def _value(tokens: list[tuple[str, str]], i: int) -> tuple[Any, int]:
    if i >= len(tokens):
        raise FilterError("expected a value")
    kind, text = tokens[i]
    if kind == "[":
        items, i = [], i + 1
        while i < len(tokens) and tokens[i][0] != "]":
            if tokens[i][0] == ",":
                i += 1
                continue
            item, i = _value(tokens, i)
            items.append(item)
        return items, i + 1
    if kind == "str":
        return text[1:-1], i + 1
    if kind != "word":
        raise FilterError("expected a value")
    if text in _LITERALS:
        return _LITERALS[text], i + 1
    if re.fullmatch(r"-?\d+", text):
        return int(text), i + 1
    return text, i + 1  # an unquoted datetime


def matches(op: str, actual: Any, value: Any, is_time: bool) -> bool:
    """Does a row's `actual` value satisfy `op(field, value)`?"""
    if is_time and actual is not None and not isinstance(value, list):
        actual = parse_iso(actual) if isinstance(actual, str) else float(actual)
        value = parse_iso(value) if isinstance(value, str) else float(value)
    if op == "equals":
        return actual in value if isinstance(value, list) else actual == value
    if op == "any":
        return actual in (value if isinstance(value, list) else [value])
    if op == "has":
        return actual is not None
    if actual is None:
        return False
    tests = {
        "greater-than": lambda: actual > value,
        "greater-or-equal": lambda: actual >= value,
        "less-than": lambda: actual < value,
        "less-or-equal": lambda: actual <= value,
        "contains": lambda: str(value) in str(actual),
        "starts-with": lambda: str(actual).startswith(str(value)),
        "ends-with": lambda: str(actual).endswith(str(value)),
    }
    if op not in tests:
        raise FilterError(f"unknown operator {op!r}")
    return tests[op]()
