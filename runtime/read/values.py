"""Small value helpers shared by the paginators and the reader.

`get_path` reads the body paths the generator writes into a catalog (`data`, `meta.next_cursor`,
`data[-1].id`, `_links.next.href`, `$`). `format_incremental` and `compare_key` let one
incremental cursor travel between epoch integers, ISO strings and datetimes, because APIs mix
them: a table stores `created` as an int while the filter parameter wants ISO text, or back.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

MISSING = object()
"""Returned by `get_path(..., default=MISSING)` to tell "absent" from "present and null"."""

_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def _parse_path(path: str) -> list[str | int]:
    """`a.b[-1].c` -> ["a", "b", -1, "c"]. A leading `$` / `$.` means the body itself."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        if text[pos] == ".":
            pos += 1
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            raise ValueError(f"body path {path!r}: cannot parse at character {pos}")
        key, index = match.groups()
        steps.append(int(index) if index is not None else key)
        pos = match.end()
    return steps


def get_path(body: object, path: str, default: object = None) -> object:
    """Follow a dotted/indexed path into a parsed JSON body; `default` when any step is missing.

    Paths: `$` (the body), `data`, `result.items`, `meta.next_cursor`, `data[-1].id`,
    `[-1].id` (last element of a top-level array), `_links.next.href`.
    """
    current = body
    for step in _parse_path(path):
        if isinstance(step, int):
            if not isinstance(current, list):
                return default
            if not -len(current) <= step < len(current):
                return default
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return default
            current = current[step]
    return current


def _parse_iso(text: str) -> datetime:
    """ISO-8601 text (with `Z`, an offset, or none = UTC), or the RFC 2822 dates some APIs
    return (`Mon, 01 Jan 2024 10:00:00 +0000`), to an aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"not an ISO-8601 or RFC 2822 time: {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_time_text(text: str) -> datetime | None:
    """`_parse_iso`, or None for text that is no time."""
    try:
        return _parse_iso(text)
    except ValueError:
        return None


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_datetime(value: object) -> datetime:
    """An epoch number, numeric string, ISO string, date or datetime as an aware UTC datetime."""
    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    if isinstance(value, str):
        if _looks_numeric(value):
            return datetime.fromtimestamp(float(value), tz=UTC)
        try:
            return _parse_iso(value)
        except ValueError:
            pass
    raise ValueError(f"cannot read {value!r} as a time")


def to_epoch(value: object) -> int:
    """Whole epoch seconds (floored, so a `>` filter never skips a row in the same second)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float | Decimal):
        return int(value // 1)
    if isinstance(value, str) and _looks_numeric(value):
        return int(Decimal(value) // 1)
    moment = to_datetime(value)
    return int(moment.timestamp() // 1)


def format_incremental(value: object, type_: str) -> str:
    """The text a filter query parameter gets for an incremental value of `type_`.

    integer / timestamp -> epoch seconds (`1704164645`); numeric -> `str(value)`;
    datetime -> `2024-01-02T03:04:05Z` (UTC, whole seconds: floored, so never later than the
    value); date -> `2024-01-02`. Input may be an epoch number, an ISO string or a datetime.
    """
    if value is None:
        raise ValueError("incremental value is None")
    if type_ in ("integer", "timestamp"):
        return str(to_epoch(value))
    if type_ == "numeric":
        return str(value)
    if type_ == "datetime":
        moment = to_datetime(value).replace(microsecond=0)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if type_ == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, str) and len(value.strip()) == 10:
            return date.fromisoformat(value.strip()).isoformat()
        return to_datetime(value).date().isoformat()
    raise ValueError(f"unknown incremental type {type_!r}")


def compare_key(value: object, type_: str) -> object:
    """Normalise a value of `type_` so `max`/`min` work across epoch ints and ISO strings.

    integer / timestamp -> int epoch seconds for times, the int itself for plain integers;
    numeric -> Decimal; datetime -> aware UTC datetime; date -> date. None stays None.
    """
    if value is None:
        return None
    if type_ == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return to_epoch(value)
    if type_ == "timestamp":
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return Decimal(str(value))
        if isinstance(value, str) and _looks_numeric(value):
            return Decimal(value)
        return Decimal(str(to_datetime(value).timestamp()))
    if type_ == "numeric":
        try:
            return Decimal(str(value))
        except InvalidOperation as exc:
            raise ValueError(f"cannot read {value!r} as a number") from exc
    if type_ == "datetime":
        return to_datetime(value)
    if type_ == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and len(value.strip()) == 10:
            return date.fromisoformat(value.strip())
        return to_datetime(value).date()
    raise ValueError(f"unknown incremental type {type_!r}")
