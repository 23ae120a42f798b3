"""Paging that an operation states outright in a vendor extension, read before any guess.

Patterns recognised (each names its extension in the decision's reason):
- `x-pagination`: `limitParam` with `pageOffsetParam`/`offsetParam` (offset), `pageParam`
  (page number) or `cursorParam` + `cursorPath` (cursor); `resultsPath` names the rows.
- `x-ms-pageable`: `nextLinkName` (a next URL in the body; null: one page) and `itemName`
  (the rows, `value` by default).
- `x-speakeasy-pagination`: `type` (`offsetLimit`, `cursor`, `url`), `inputs` naming the
  request parameters by role and `outputs` (`results`, `nextCursor`, `nextUrl`) as JSONPaths.
- `x-fern-pagination`: `cursor`/`next_cursor` or `offset` (`$request.x`) and `results`
  (`$response.y`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runtime.catalog import Pagination, SinglePage, pagination_from_dict


@dataclass
class Stated:
    """What an extension says: a paginator (None when it only names the rows), the rows' path."""

    pagination: Pagination | None
    results_path: str | None
    why: str
    params: dict = field(default_factory=dict)


def body_path(expr: object) -> str | None:
    """`$.data`, `$response.meta.next`, `$["data"]` -> `data`, `meta.next`; None if not a body path."""
    if not isinstance(expr, str) or not expr.strip():
        return None
    text = expr.strip()
    text = re.sub(r"^\$(response(\.body)?)?(?=[.\[]|$)", "", text)
    text = re.sub(r"\[['\"]([^'\"]+)['\"]\]", r".\1", text).replace("[*]", "")
    text = text.lstrip(".")
    return text or None


def request_param(expr: object) -> str | None:
    """`$request.cursor` or `cursor` -> `cursor`."""
    if not isinstance(expr, str) or not expr.strip():
        return None
    return re.sub(r"^\$request\.(query\.)?", "", expr.strip()) or None


def stated(raw_op: dict) -> Stated | None:
    for reader in (_x_pagination, _x_ms_pageable, _x_speakeasy, _x_fern):
        found = reader(raw_op)
        if found is not None:
            return found
    return None


def _x_pagination(op: dict) -> Stated | None:
    ext = op.get("x-pagination")
    if not isinstance(ext, dict):
        return None
    results = body_path(ext.get("resultsPath"))
    limit = request_param(ext.get("limitParam"))
    params = {"limit_param": limit} if limit else {}
    offset = request_param(ext.get("pageOffsetParam") or ext.get("offsetParam"))
    page = request_param(ext.get("pageParam"))
    cursor = request_param(ext.get("cursorParam"))
    cursor_path = body_path(ext.get("cursorPath"))
    if cursor and cursor_path:
        pag = pagination_from_dict(
            {
                "type": "cursor",
                "cursor_param": cursor,
                "cursor_path": cursor_path,
                **params,
            }
        )
    elif offset:
        pag = pagination_from_dict({"type": "offset", "offset_param": offset, **params})
    elif page:
        pag = pagination_from_dict(
            {"type": "page_number", "page_param": page, "base_page": 0, **params}
        )
    else:
        pag = None
    return Stated(pag, results, "stated_by_extension: x-pagination")


def _x_ms_pageable(op: dict) -> Stated | None:
    ext = op.get("x-ms-pageable")
    if not isinstance(ext, dict):
        return None
    results = body_path(ext.get("itemName") or "value")
    next_link = body_path(ext.get("nextLinkName"))
    pag = (
        pagination_from_dict({"type": "next_url", "next_url_path": next_link})
        if next_link
        else SinglePage()
    )
    return Stated(pag, results, "stated_by_extension: x-ms-pageable")


_SPEAKEASY_ROLES = {
    "offset": "offset_param",
    "page": "page_param",
    "cursor": "cursor_param",
    "limit": "limit_param",
}


def _x_speakeasy(op: dict) -> Stated | None:
    ext = op.get("x-speakeasy-pagination")
    if not isinstance(ext, dict):
        return None
    roles: dict[str, str] = {}
    for entry in ext.get("inputs") or []:
        if (
            isinstance(entry, dict)
            and entry.get("type") in _SPEAKEASY_ROLES
            and entry.get("name")
        ):
            roles[_SPEAKEASY_ROLES[entry["type"]]] = str(entry["name"])
    outputs = ext.get("outputs") if isinstance(ext.get("outputs"), dict) else {}
    results = body_path(outputs.get("results"))
    limit = {"limit_param": roles["limit_param"]} if "limit_param" in roles else {}
    kind = ext.get("type")
    pag = None
    if (
        kind == "cursor"
        and "cursor_param" in roles
        and body_path(outputs.get("nextCursor"))
    ):
        pag = pagination_from_dict(
            {
                "type": "cursor",
                "cursor_param": roles["cursor_param"],
                "cursor_path": body_path(outputs.get("nextCursor")),
                **limit,
            },
        )
    elif kind == "url" and body_path(outputs.get("nextUrl")):
        pag = pagination_from_dict(
            {
                "type": "next_url",
                "next_url_path": body_path(outputs.get("nextUrl")),
                **limit,
            }
        )
    elif kind == "offsetLimit" and "offset_param" in roles:
        pag = pagination_from_dict(
            {"type": "offset", "offset_param": roles["offset_param"], **limit}
        )
    elif kind == "offsetLimit" and "page_param" in roles:
        pag = pagination_from_dict(
            {
                "type": "page_number",
                "page_param": roles["page_param"],
                "base_page": 1,
                **limit,
            }
        )
    return Stated(pag, results, "stated_by_extension: x-speakeasy-pagination")


def _x_fern(op: dict) -> Stated | None:
    ext = op.get("x-fern-pagination")
    if not isinstance(ext, dict):
        return None
    results = body_path(ext.get("results"))
    cursor, next_cursor = (
        request_param(ext.get("cursor")),
        body_path(ext.get("next_cursor")),
    )
    offset = request_param(ext.get("offset"))
    pag = None
    if cursor and next_cursor:
        pag = pagination_from_dict(
            {"type": "cursor", "cursor_param": cursor, "cursor_path": next_cursor}
        )
    elif offset:
        # Fern's `offset` is a page index unless `step` says how many rows one page moves.
        if ext.get("step"):
            pag = pagination_from_dict({"type": "offset", "offset_param": offset})
        else:
            pag = pagination_from_dict(
                {"type": "page_number", "page_param": offset, "base_page": 1}
            )
    return Stated(pag, results, "stated_by_extension: x-fern-pagination")
