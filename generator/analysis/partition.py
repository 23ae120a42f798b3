"""Partition key: a row's creation (or occurrence) time, which never changes for that row.

`immutable_creation_time`: a time property whose role is `created` (`created`, `created_at`,
`date_created`, `inserted_at`, or a `date` described as "time at which the object was
created"), else one whose role is `occurred` (`submitted_at`, `starred_at`, `datetime`,
`timestamp`, `published`). Update times and last-seen times are never partitions: their value
moves a row between partitions. Times that do not sort as text or numbers (RFC 2822 strings)
are skipped: partition values must order like the times they hold.
"""

from __future__ import annotations

from generator.analysis.rows import Rows
from generator.analysis.schema_utils import FieldInfo, sortable_time, tokens
from generator.analysis.time_roles import field_role

CREATED_ORDER = (
    "created_at",
    "created",
    "date_created",
    "creation_date",
    "created_time",
    "creation_time",
    "created_on",
    "create_time",
    "inserted_at",
    "added_at",
)
OCCURRED_ORDER = (
    "submitted_at",
    "starred_at",
    "occurred_at",
    "datetime",
    "timestamp",
    "date",
    "published",
    "time",
    "event_time",
    "sent_at",
    "date_sent",
    "received_at",
    "logged_at",
)


def partition_key(rows: Rows, path_tokens: list[str] = ()) -> tuple[str | None, str]:
    if not rows.is_list:
        return None, "not a list"
    candidates = [f for f in rows.fields.values() if f.types and "_" not in f.name[:1]]
    created = [f for f in candidates if field_role(f) == "created" and _own_time(f)]
    if created:
        hits = [f for f in created if sortable_time(f)]
        if not hits:
            return None, (
                f"'{created[0].name}' is the creation time but its format does not sort "
                f"({_fmt(rows, created[0].name)})"
            )
        best = sorted(hits, key=lambda f: _rank(f, CREATED_ORDER))[0]
        return (
            best.name,
            f"immutable_creation_time: '{best.name}' (creation time) never changes",
        )
    path_words = set(path_tokens)
    hits = [
        f
        for f in candidates
        if field_role(f) == "occurred"
        and sortable_time(f)
        and "_".join(tokens(f.name)) in OCCURRED_ORDER
        and _corroborated(f, path_words)
    ]
    if hits:
        best = sorted(hits, key=lambda f: _rank(f, OCCURRED_ORDER))[0]
        return (
            best.name,
            f"immutable_creation_time: '{best.name}' (when the row's event happened) never changes",
        )
    return None, "no creation-time property"


_TIME_WORDS = {
    "created",
    "creation",
    "date",
    "time",
    "at",
    "on",
    "timestamp",
    "datetime",
    "inserted",
    "added",
    "create",
    "ts",
}


def _own_time(f: FieldInfo) -> bool:
    """The row's own creation time (`created_at`, `dateCreated`, a `date` described as the
    creation time), not another thing's (`password_created`)."""
    return set(tokens(f.name)) <= _TIME_WORDS


def _corroborated(f: FieldInfo, path_words: set[str]) -> bool:
    """An optional time with no declared format (`starred_at` on a shared user schema) counts
    only when the path names the action it records (`/stargazers`)."""
    if f.format or f.required:
        return True
    verb = tokens(f.name)[0]
    stem = verb[:4]
    return any(w.startswith(stem) for w in path_words)


def _rank(f: FieldInfo, order: tuple[str, ...]) -> tuple:
    snake_name = "_".join(tokens(f.name))
    return (
        order.index(snake_name) if snake_name in order else len(order),
        len(f.name),
        f.name,
    )


def _fmt(rows: Rows, name: str) -> str:
    return rows.fields[name].format or "no format"
