"""`paging_convention`: a paged operation whose response schema declares nothing (an open
`{type: object}` or a `{ok: true}` template, no example showing rows) reads like the spec's other
operations that take the same position parameter: their paginator when most of them agree, and
their data selector when most agree, else the array named after the path's resource
(`/files.remote.list` -> `files`, `/admin.inviteRequests.approved.list` -> `approved_requests`).
Both decisions have low confidence.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from generator.analysis.paging_params import position_params
from generator.analysis.paths import split
from generator.analysis.rows import Rows
from generator.analysis.schema_utils import Schemas, snake
from generator.plan import Endpoint
from generator.spec.model import Operation
from runtime.catalog import SinglePage

VERBS = {
    "list",
    "get",
    "history",
    "info",
    "all",
    "search",
    "read",
    "fetch",
    "index",
    "query",
}


@dataclass
class Case:
    op: Operation
    rows: Rows
    endpoint: Endpoint


def apply(schemas: Schemas, cases: list[Case]) -> list[Case]:
    """Fill the unknown paged responses in place; returns the cases changed."""
    by_param: dict[str, list[Case]] = {}
    for c in cases:
        found = position_params({snake(p.name): p for p in c.op.query_params()})
        if found and c.rows.is_list:
            by_param.setdefault(found[0].name, []).append(c)
    changed = []
    for c in cases:
        found = position_params({snake(p.name): p for p in c.op.query_params()})
        if not found or c.rows.is_list or _declares_rows(schemas, c):
            continue
        peers = by_param.get(found[0].name, [])
        pag = _majority([p.endpoint.pagination for p in peers])
        if pag is None or isinstance(pag, SinglePage):
            continue
        selector = _majority(
            [p.endpoint.data_selector for p in peers]
        ) or _resource_word(c.op.path)
        if not selector:
            continue
        ep = c.endpoint
        c.rows.selector, c.rows.is_list, c.rows.row = selector, True, None
        c.rows.why = (
            f"paging_convention: the response declares no rows; other operations taking "
            f"'{found[0].name}' return them in '{selector}'"
        )
        ep.data_selector, ep.why["data_selector"] = selector, c.rows.why
        ep.pagination = pag
        ep.why["pagination"] = (
            f"paging_convention: other operations taking "
            f"'{found[0].name}' page as {pag.type} ({len(peers)} of them)"
        )
        ep.confidence.update({"pagination": "low", "data_selector": "low"})
        changed.append(c)
    return changed


def _declares_rows(schemas: Schemas, c: Case) -> bool:
    """Whether the response schema says anything beyond status flags."""
    props = schemas.properties(c.op.response)
    return bool(set(props) - {"ok", "success", "object", "type"})


def _majority(values: list):
    if not values:
        return None
    value, n = Counter(values).most_common(1)[0]
    return value if n * 2 > len(values) else None


def _resource_word(path: str) -> str | None:
    """The last plural noun of the path: `/admin.inviteRequests.list` -> `invite_requests`,
    `/files.remote.list` -> `files`."""
    words = [
        w
        for seg in split(path)
        if not seg.is_param
        for w in seg.text.replace(".", "/").split("/")
        if w
    ]
    nouns = [snake(w) for w in words if snake(w) not in VERBS]
    if len(nouns) >= 2 and nouns[-1].endswith("ed") and "_" not in nouns[-1]:
        # a state of the noun before it: `inviteRequests.approved` -> `approved_requests`
        return f"{nouns[-1]}_{nouns[-2].rsplit('_', 1)[-1]}"
    plural = [n for n in nouns if n.endswith("s") and not n.endswith("ss")]
    return (plural or nouns or [None])[-1]
