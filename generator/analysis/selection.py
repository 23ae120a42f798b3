"""Which endpoints are in the generated catalog by default, and fixed query parameters.

Selected: lists of objects a user would want as tables. Not selected, with the reason:
- `deprecated`: the operation is marked deprecated;
- `single_object`: a lookup of one object (`/customers/{customer}`): no N+1 detail calls;
- `scalar_rows`: the rows are strings or numbers, not records;
- `admin_only`: paths or tags that read as administration (`/admin/`, `/enterprises/`, SCIM);
- `search_with_required_query`: a search endpoint that needs free text to return anything;
- `needs_path_value`: a path parameter no list endpoint provides and the tenant scope does not
  explain (`{folder_id}`, `{tree_sha}`);
- `needs_query_value`: a required query parameter with no default;
- `jsonapi_relationship_linkage`: `/relationships/` lists of bare identifiers whose sibling
  endpoint lists the full resources.

Fixed parameters (`request_params`):
- `enum_all_value`: a filter whose values include `all` but whose default is narrower
  (`state=open` by default -> send `state=all`), so the table holds every row;
- `required_default`: a required query parameter with a default is sent explicitly.
"""

from __future__ import annotations

import re

from generator.analysis.fanout import Item
from generator.analysis.rows import Rows
from generator.analysis.schema_utils import Schemas, tokens
from generator.spec.model import Operation, Param

ADMIN_WORDS = {
    "admin",
    "administration",
    "enterprise",
    "enterprises",
    "scim",
    "site_admin",
    "superuser",
}
FREE_TEXT = {
    "q",
    "query",
    "search",
    "term",
    "keyword",
    "keywords",
    "text",
    "search_query",
    "searchquery",
}
PAGING = {"page", "per_page", "limit", "offset", "cursor", "page_size"}


def request_params(schemas: Schemas, op: Operation) -> tuple[dict[str, str], list[str]]:
    params: dict[str, str] = {}
    why: list[str] = []
    for p in op.query_params():
        schema = schemas.value(p.schema)
        enum = [str(v) for v in schema.get("enum") or [] if v is not None]
        default = schema.get("default")
        if (
            "all" in enum
            and default is not None
            and str(default) != "all"
            and p.name.lower() not in PAGING
        ):
            params[p.name] = "all"
            why.append(
                f"enum_all_value: {p.name}=all (default {default!r} would hide rows)"
            )
        elif (
            p.required and default is not None and not isinstance(default, (dict, list))
        ):
            params[p.name] = (
                str(default).lower() if isinstance(default, bool) else str(default)
            )
            why.append(f"required_default: {p.name}={params[p.name]}")
    return params, why


def decide(
    op: Operation,
    rows: Rows,
    item: Item,
    fixed: dict[str, str],
    paging_params: set[str],
    sibling_exists: bool = False,
) -> tuple[bool, str]:
    if op.raw.get("deprecated"):
        return False, "deprecated: the operation is marked deprecated"
    if not rows.is_list:
        return False, "single_object: a lookup of one object, not a collection"
    if not rows.object_rows:
        return False, "scalar_rows: rows are not objects"
    words = {w for seg in op.path.split("/") for w in tokens(seg.strip("{}"))}
    words |= {w for tag in op.tags for w in tokens(tag)}
    if words & ADMIN_WORDS:
        return False, "admin_only: path or tags read as administration"
    required_text = [
        p.name for p in op.query_params() if p.required and p.name.lower() in FREE_TEXT
    ]
    if required_text and ("search" in words or required_text):
        return (
            False,
            f"search_with_required_query: needs free text in '{required_text[0]}'",
        )
    if item.unresolved:
        return (
            False,
            f"needs_path_value: no list endpoint provides '{{{item.unresolved[0]}}}'",
        )
    missing = missing_required(op, fixed, paging_params)
    if missing:
        example = missing[0].schema.value.get("example")
        hint = (
            f" (e.g. {example!r}: set it in an override)" if example is not None else ""
        )
        return (
            False,
            f"needs_query_value: required query parameter '{missing[0].name}' has no default{hint}",
        )
    if (
        set(rows.fields) <= {"id", "type", "meta", "links"}
        and "relationships" in words
        and sibling_exists
    ):
        return (
            False,
            "jsonapi_relationship_linkage: rows are only identifiers; the sibling endpoint lists the resources",
        )
    return True, "list endpoint" + (
        f" (fan-out over {item.parent.endpoint})" if item.parent else ""
    )


def missing_required(
    op: Operation, fixed: dict[str, str], paging_params: set[str] = frozenset()
) -> list[Param]:
    """Required query parameters nothing fills (no default, not fixed, not paging, not a credential)."""
    return [
        p
        for p in op.query_params()
        if p.required
        and p.name not in fixed
        and p.name not in paging_params
        and p.schema.value.get("default") is None
        and not re.match(r"^(token|access_token|api_key|key)$", p.name)
    ]
