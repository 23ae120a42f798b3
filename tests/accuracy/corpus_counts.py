"""Counts `../shared/tools/corpus.py` makes, computed in process from the plans the analysis
makes (the same as `gen-source plan <spec> --json --no-overrides`), for `decisions.md`.

For every GET endpoint: it "asks for paging" when it takes a position parameter (offset, page,
cursor, after, page token, bookmark, marker, ...; a size alone does not count). Of those:
`sp` decided `single_page` (silent truncation), `obj` decided not a list (no data selector, or a
`why` saying "single object": the table is lost). `nokey`: selected lists without a primary key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from generator.plan import Plan
from generator.spec.model import Spec

# corpus.py's pattern, verbatim: position parameters only
PAGING = re.compile(
    r"^(\$?skip|offset|page|page_?number|pagenumber|page_?token|pagetoken|cursor|after|before|"
    r"starting_after|ending_before|next(_?token|_?cursor|_?page)?|continuation(_?token)?|marker|"
    r"start_?cursor|bookmark|page\[(number|cursor|after|before|offset)\])$",
    re.I,
)


@dataclass
class Counts:
    get: int = 0
    planned: int = 0
    paging: int = 0
    sp: int = 0
    obj: int = 0
    nokey: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def missed(self) -> int:
        return self.sp + self.obj


def count(spec: Spec, plan: Plan) -> Counts:
    out = Counts(get=_get_operations(spec))
    params = {op.path: {p.name for p in op.query_params()} for op in spec.operations()}
    for e in plan.operations():
        if e.method != "GET":
            continue
        out.planned += 1
        is_list = e.data_selector is not None and "single object" not in json.dumps(
            e.why
        )
        if e.selected and is_list and not e.primary_key:
            out.nokey += 1
        paging = sorted(n for n in params.get(e.path, ()) if PAGING.match(n))
        if not paging:
            continue
        out.paging += 1
        if not is_list:
            out.obj += 1
            out.examples.append(f"obj {e.path} ({','.join(paging)})")
        elif e.pagination.type == "single_page":
            out.sp += 1
            out.examples.append(f"sp {e.path} ({','.join(paging)})")
    return out


def _get_operations(spec: Spec) -> int:
    paths = spec.doc.get("paths")
    n = 0
    for raw in paths.values() if isinstance(paths, dict) else []:
        try:
            item, _ = spec.resolver.deref(raw, spec.resolver.root_key)
        except Exception:  # a dangling path item: the loader has warned where
            continue
        n += isinstance(item, dict) and "get" in item
    return n
