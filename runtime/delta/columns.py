"""Value conversion and typing shared by the Delta writer and the webhook merge.

Why a module of its own: how a value becomes a column's type (`"42"` -> 42 in an int64
column, `"2024-01-02T03:04:05Z"` or epoch seconds -> a UTC timestamp, a value that does
not fit raises naming what it should be), which type an undeclared
field gets, which partition a row lands in and which of two incremental values is newer are
pure functions of the values. The pipeline (`runtime.delta.writer`) and the webhook merge both use
them, so pulled and pushed rows are converted by one implementation.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from runtime.catalog import DECIMAL_TYPE, LIST_TYPE
from runtime.source.sources import SourceResponse
from runtime.read.values import parse_time_text

TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_TYPES = {
    "string": pa.string(),
    "json": pa.string(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": TIMESTAMP,
    "date": pa.date32(),
}
# Parametric column types: `decimal(P,S)` and `list<scalar>` (runtime.catalog).
_DECIMAL_RE, _LIST_RE = DECIMAL_TYPE, LIST_TYPE
_INT_RE = re.compile(r"^[+-]?\d+$")
_EPOCH_SECONDS_BELOW = 1e11  # larger epoch numbers are milliseconds (datetime_bucket)


# ---------------------------------------------------------------- coercion


class Unfit(ValueError):
    """A value that does not fit its column's type; the message says what it should be."""


def _is_whole(v: Any) -> bool:
    if isinstance(v, float):
        return v.is_integer()
    return isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value()


def _to_int(v: Any) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        out = v
    elif _is_whole(v):
        out = int(v)
    elif isinstance(v, str) and _INT_RE.match(v.strip()):
        out = int(v.strip())
    else:
        raise Unfit("an integer")
    if not -(2**63) <= out < 2**63:
        raise Unfit("an integer within int64")
    return out


def _to_float(v: Any) -> float:
    if isinstance(v, int | float | Decimal):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
    raise Unfit("a number")


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
        return v.strip().lower() in ("true", "1")
    raise Unfit("a boolean")


def _to_json(v: Any) -> str:
    # orjson writes the same compact UTF-8 text ~10x faster; what it refuses (ints beyond 64
    # bits, non-string keys) goes through the standard encoder.
    try:
        return orjson.dumps(v, default=_json_default).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(
            v, separators=(",", ":"), ensure_ascii=False, default=_json_default
        )


def _json_default(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    raise TypeError(f"{type(v).__name__} is not JSON")


def _to_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list | tuple):
        return _to_json(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    return str(v)


def _to_timestamp(v: Any) -> datetime:
    if isinstance(v, bool):
        raise Unfit("a date-time")
    try:
        moment = _as_datetime(v)
    except (OverflowError, OSError, ValueError):
        moment = None
    if moment is None:
        raise Unfit("a date-time")
    return moment.astimezone(UTC)


def _to_date(v: Any) -> date:
    if isinstance(v, datetime):
        raise Unfit("a date")
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v.strip())
        except ValueError:
            pass
    raise Unfit("a date")


def _decimal_of(precision: int, scale: int) -> Callable[[Any], Decimal]:
    step = Decimal(1).scaleb(-scale)

    def to_decimal(v: Any) -> Decimal:
        if isinstance(v, bool) or not isinstance(v, int | float | Decimal | str):
            raise Unfit(f"a decimal({precision},{scale})")
        try:
            exact = Decimal(str(v).strip())
            out = exact.quantize(step)
        except ArithmeticError:
            raise Unfit(f"a decimal({precision},{scale})") from None
        if out != exact or len(out.as_tuple().digits) > precision:
            raise Unfit(f"a decimal({precision},{scale}) without losing digits")
        return out

    return to_decimal


def _list_of(element: str) -> Callable[[Any], list]:
    convert_one = COERCE[element]

    def to_list(v: Any) -> list:
        if not isinstance(v, list | tuple):
            raise Unfit(f"a list of {element}")
        return [None if x is None else convert_one(x) for x in v]

    return to_list


# Python types that need no conversion for a column type.
NATIVE: dict[str, type] = {"string": str, "int64": int, "float64": float, "bool": bool}


def arrow_type(logical: str) -> pa.DataType | None:
    """The Arrow type of a column type name (None: not one)."""
    if logical in ARROW_TYPES:
        return ARROW_TYPES[logical]
    if m := _DECIMAL_RE.match(logical):
        precision, scale = int(m[1]), int(m[2])
        if 0 <= scale <= precision <= 38:
            return pa.decimal128(precision, scale)
        return None
    if m := _LIST_RE.match(logical):
        return pa.list_(ARROW_TYPES[m[1]])
    return None


def coercer(logical: str) -> Callable[[Any], Any]:
    """The conversion for one non-null value of a column type (raises `Unfit`)."""
    if logical in COERCE:
        return COERCE[logical]
    if m := _DECIMAL_RE.match(logical):
        return _decimal_of(int(m[1]), int(m[2]))
    if m := _LIST_RE.match(logical):
        return _list_of(m[1])
    raise KeyError(logical)


def convert(value: Any, logical: str) -> Any:
    """One non-null value as a column type holds it; raises ValueError naming what it
    should be. The pipeline and the webhook merge share it."""
    return coercer(logical)(value)


def fast_array(logical: str, values: list[Any], arrow: pa.DataType) -> pa.Array | None:
    """The column in one vectorised step when its values allow (None: convert one by
    one). Values already of the column's Python type, lists of such scalars, all
    nulls, JSON text of values orjson writes unaided, timestamps from ISO text with an
    offset or from epoch seconds, dates from ISO text. The value types are checked first
    (map and set run in C), so a value the one-by-one conversion would treat differently
    never takes a fast path."""
    kinds = set(map(type, values))
    kinds.discard(_NONE)
    try:
        if not kinds:
            return pa.nulls(len(values), arrow)
        native = NATIVE.get(logical)
        if native is not None:
            return pa.array(values, type=arrow) if kinds == {native} else None
        if logical.startswith("list<"):
            return _list_array(logical, values, kinds, arrow)
        if logical == "json":
            return _json_array(values, arrow)
        if logical in ("timestamp", "date"):
            if kinds == {str}:
                return pa.array(values, pa.string()).cast(arrow)
            if logical == "timestamp" and kinds == {int}:
                seconds = pa.array(values, pa.int64())
                bounds = pc.min_max(pc.abs(seconds)).as_py()
                if (bounds["max"] or 0) < _EPOCH_SECONDS_BELOW:
                    return pc.multiply(seconds, 1_000_000).cast(arrow)
    except (OverflowError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # a value that needs a closer look: the slow path
    return None


_NONE = type(None)


def _list_array(
    logical: str, values: list[Any], kinds: set[type], arrow: pa.DataType
) -> pa.Array | None:
    """A list column whose elements are all already of the element's Python type."""
    native = NATIVE.get(logical[5:-1])
    if native is None or not kinds <= {list, tuple}:
        return None
    inner = set(map(type, chain.from_iterable(v for v in values if v is not None)))
    inner.discard(_NONE)
    if not inner <= {native}:
        return None
    return pa.array(values, type=arrow)


def _json_array(values: list[Any], arrow: pa.DataType) -> pa.Array | None:
    """Every value as JSON text in one pass, when orjson writes each of them on its own
    (what `_to_json` would write too); None when one needs its fallbacks."""
    dumps = orjson.dumps
    try:
        texts = [None if v is None else dumps(v).decode() for v in values]
    except TypeError:  # orjson.JSONEncodeError included
        return None
    return pa.array(texts, arrow)


def raw_text(value: Any) -> str:
    """What the server sent, as text, for the unparsed column."""
    return value if isinstance(value, str) else _to_json(value)


COERCE: dict[str, Callable[[Any], Any]] = {
    "string": _to_str,
    "json": _to_json,
    "int64": _to_int,
    "float64": _to_float,
    "bool": _to_bool,
    "timestamp": _to_timestamp,
    "date": _to_date,
}


def infer_type(values: Iterable[Any]) -> str | None:
    """The column type for an undeclared field, from its values; None when all are null."""
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return None
    if kinds & {dict, list, tuple}:
        return "json"
    if kinds == {bool}:
        return "bool"
    if kinds <= {int, float} and bool not in kinds:
        return "int64" if kinds == {int} else "float64"
    return "string"


def logical_of_arrow(t: pa.DataType) -> str | None:
    if pa.types.is_timestamp(t) and t.tz is not None:
        return "timestamp"
    if pa.types.is_date32(t):
        return "date"
    if pa.types.is_decimal128(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_list(t):
        inner = logical_of_arrow(t.value_type)
        return f"list<{inner}>" if inner and _LIST_RE.match(f"list<{inner}>") else None
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int64"
    if pa.types.is_floating(t):
        return "float64"
    if (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
    ):
        return "string"
    return None


# ---------------------------------------------------------------- partitions


def _as_datetime(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day, tzinfo=UTC)
    if isinstance(v, str) and _INT_RE.match(v.strip()):
        v = int(v.strip())
    if isinstance(v, int | float) and not isinstance(v, bool):
        seconds = v / 1_000_000 if abs(v) >= 1e14 else v / 1000 if abs(v) >= 1e11 else v
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(v, str):
        return parse_time_text(v)
    return None


def datetime_bucket(value: Any, fmt: str | None) -> str | None:
    """`2024-01` (month) or `2024-w05` (ISO week) for an epoch number or ISO string.
    Epoch numbers of 1e11 and more are read as milliseconds, 1e14 and more as microseconds."""
    moment = _as_datetime(value)
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    if fmt == "week":
        year, week, _ = moment.isocalendar()
        return f"{year}-w{week:02d}"
    return f"{moment.year}-{moment.month:02d}"


def partition_value(response: SourceResponse, value: Any) -> str | None:
    if value is None:
        return None
    mode = response.partition_mode
    if mode == "datetime":
        return datetime_bucket(value, response.partition_format)
    if mode == "md5":
        digest = int(hashlib.md5(_to_str(value).encode()).hexdigest(), 16)
        return str(digest % (response.partition_count or 1))
    if mode == "numerical":
        return str(_to_int(value) // (response.partition_size or 1))
    return None


# ---------------------------------------------------------------- incremental values


def _sort_key(value: Any) -> Any:
    moment = _as_datetime(value) if isinstance(value, str) else None
    return (1, moment) if moment is not None else (0, value)


def _pick(a: Any, b: Any, newer: bool) -> Any:
    if a is None or b is None:
        return b if a is None else a
    try:
        b_wins = _sort_key(b) > _sort_key(a) if newer else _sort_key(b) < _sort_key(a)
    except TypeError:  # values of different kinds: the latest one observed wins
        return b
    return b if b_wins else a


def later_value(a: Any, b: Any) -> Any:
    """The newer of two incremental values (None means unknown). ISO strings compare as
    instants, so `...T23:00-05:00` is later than `...T00:00Z` of the next day."""
    return _pick(a, b, newer=True)


def earlier_value(a: Any, b: Any) -> Any:
    return _pick(a, b, newer=False)
