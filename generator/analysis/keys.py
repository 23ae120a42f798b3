"""Primary keys: the fields that identify one row, or None (then the table is full-refresh).

Rules, first match wins:
- `id_property`: a property named `id` (`ID`, `Id`, `_id`).
- `identifier_name`: `uuid`, `guid`, `gid`, `uid`, `sid`, `sha`, `key`.
- `resource_id`: `<resource>_id`, `<resource>Id`, `<resource>_sid` for the collection the path
  lists (`/v1/charges` -> `charge_id`).
- `named_after_resource`: a scalar property whose name ends the resource name
  (`available_phone_numbers` rows keyed by `phone_number`).
- `time_bucket_composite`: aggregate rows with no identifier but a period start, a category and
  the owning ids from the path (`account_sid`, `category`, `start_date`).
- `single_required_identifier`: the one required property whose name ends in id/sid/uuid.
Fan-out children whose rows are shared entities get a composite key in `fanout.py`.
"""

from __future__ import annotations

from generator.analysis.paths import split
from generator.analysis.rows import Rows
from generator.analysis.schema_utils import FieldInfo, singular, snake, tokens

ID_NAMES = ("id", "ID", "Id", "_id", "@id")
IDENTIFIER_NAMES = ("uuid", "guid", "gid", "uid", "sid", "sha", "key")
PERIOD_STARTS = (
    "start_date",
    "period_start",
    "start_time",
    "bucket_start",
    "start",
    "date",
    "day",
    "month",
)
DIMENSIONS = (
    "category",
    "metric",
    "type",
    "usage_type",
    "kind",
    "dimension",
    "sku",
    "product",
    "name",
)


def _scalar(info: FieldInfo) -> bool:
    return bool(info.types) and not info.types & {"object", "array"}


def primary_key(rows: Rows, path: str) -> tuple[list[str] | None, str]:
    fields = rows.fields
    if not rows.is_list and not fields:
        return None, "no row properties"
    for name in ID_NAMES:
        if name in fields and (_scalar(fields[name]) or not fields[name].types):
            return [name], f"id_property: '{name}'" + (
                " (required)" if fields[name].required else ""
            )
    for name in IDENTIFIER_NAMES:
        if name in fields and _scalar(fields[name]):
            return [name], f"identifier_name: '{name}'"
    for resource in _resource_words(path, rows.selector):
        res = "_".join(resource)
        for name, info in fields.items():
            sn = snake(name)
            if _scalar(info) and sn in (
                f"{res}_id",
                f"{res}_sid",
                f"{res}_uuid",
                f"{res}_key",
                f"{res}_sha",
            ):
                return [name], f"resource_id: '{name}' names the {res} listed"
        for name, info in fields.items():
            sn = snake(name)
            if (
                _scalar(info)
                and len(tokens(sn)) >= 2
                and res.endswith(sn)
                and "string" in info.types
            ):
                return [name], f"named_after_resource: '{name}' is what a {res} is"
    composite = _time_bucket_composite(fields, path)
    if composite:
        return (
            composite,
            f"time_bucket_composite: {', '.join(composite)} identify one aggregate row",
        )
    required_ids = [
        n
        for n, f in fields.items()
        if f.required
        and _scalar(f)
        and tokens(n)
        and tokens(n)[-1] in ("id", "sid", "uuid")
    ]
    if len(required_ids) == 1:
        return required_ids, f"single_required_identifier: '{required_ids[0]}'"
    return None, "no identifying property: full refresh only"


def _resource_words(path: str, selector: str) -> list[list[str]]:
    """The singular noun(s) of what the endpoint lists: its last literal segment, and the
    property holding the rows (`available_phone_numbers`)."""
    literals = [s.text for s in split(path) if not s.is_param]
    names = (
        literals[-1:] + [selector.rsplit(".", 1)[-1]]
        if selector != "$"
        else literals[-1:]
    )
    out = []
    for name in names:
        words = tokens(name)
        if words:
            words[-1] = singular(words[-1])
            if words not in out:
                out.append(words)
    return out


def _time_bucket_composite(fields: dict[str, FieldInfo], path: str) -> list[str] | None:
    start = next((n for n in PERIOD_STARTS if n in fields and _scalar(fields[n])), None)
    dim = next(
        (
            n
            for n in DIMENSIONS
            if n in fields and _scalar(fields[n]) and "string" in fields[n].types
        ),
        None,
    )
    if start is None or dim is None:
        return None
    params = {snake(s.text) for s in split(path) if s.is_param}
    owners = [n for n in fields if snake(n) in params]
    return owners + [dim, start]
