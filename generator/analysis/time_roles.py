"""What a time field means for a row: when it was created, last updated, when the thing it
records happened, or something else (an expiry, a scheduled date, an end time).

Incremental sync needs created/updated/occurred fields; partitioning needs a field that never
changes (created or occurred). The role comes from the field's name first, then from its
description ("Time at which the object was created").
"""

from __future__ import annotations

import re

from generator.analysis.schema_utils import FieldInfo, time_kind, tokens

UPDATED = {
    "updated",
    "modified",
    "changed",
    "edited",
    "lastupdated",
    "last_updated",
    "last_modified",
    "modification",
    "update",
}
CREATED = {"created", "creation", "inserted", "added", "create", "createdat"}
OCCURRED = {
    "datetime",
    "timestamp",
    "date",
    "time",
    "published",
    "occurred",
    "occurrence",
    "start",
    "started",
    "sent",
    "submitted",
    "starred",
    "received",
    "logged",
    "when",
    "ts",
    "event",
}
OTHER = {
    "end",
    "ended",
    "expires",
    "expiry",
    "expiration",
    "due",
    "send",
    "scheduled",
    "closed",
    "completed",
    "deleted",
    "archived",
    "canceled",
    "cancelled",
    "login",
    "seen",
    "active",
    "finished",
    "paid",
    "resolved",
    "merged",
    "until",
    "valid",
    "next",
    "renewed",
    "trial",
    "period",
    "effective",
    "activated",
    "verified",
    "suspended",
    "status",
    "birthday",
    "birth",
    "accessed",
    "used",
    "read",
    "voided",
    "refunded",
    "failed",
    "approved",
    "rejected",
    "disputed",
    "captured",
    "locked",
    "transitioned",
    "delivered",
    "opened",
    "clicked",
    "rotated",
    "revoked",
    "issued",
    "last",
    "latest",
}


def role(name: str, description: str = "") -> str:
    """`updated`, `created`, `occurred` or `other` for a time field name (and description)."""
    words = tokens(name)
    joined = "_".join(words)
    if joined in (
        "last_updated",
        "last_modified",
        "date_updated",
        "date_modified",
        "updated_at",
        "modified_at",
        "updated",
        "modified",
        "last_update",
    ):
        return "updated"
    wset = set(words)
    if wset & {"updated", "modified", "changed", "edited"} or joined in UPDATED:
        return "updated"
    if wset & OTHER - {"date", "time"}:
        return "other"
    if wset & CREATED:
        return "created"
    desc = description.lower()
    if (
        re.search(
            r"\b(was|were|is|got|been|first)\s+(created|added|inserted|generated|registered)\b",
            desc,
        )
        or re.search(r"\b(creation|created)\s+(date|time|timestamp)\b", desc)
        or re.search(r"\b(date|time|timestamp)\b[^.]{0,30}\b(created|creation)\b", desc)
    ):
        if not re.search(
            r"\b(last|most recent(ly)?)\s+(updated|modified|changed)\b", desc
        ):
            return "created"
    if re.search(
        r"\b(last|most recent(ly)?)\s+(updated|modified|changed)\b|\bupdated\b", desc
    ):
        return "updated"
    if wset & OCCURRED:
        return "occurred"
    return "other"


def field_role(info: FieldInfo) -> str | None:
    """The role of a row property when it holds a time, else None."""
    if time_kind(info) is None:
        return None
    return role(info.name, info.description)


def by_role(fields: dict[str, FieldInfo], wanted: str) -> list[FieldInfo]:
    return [f for f in fields.values() if field_role(f) == wanted]
