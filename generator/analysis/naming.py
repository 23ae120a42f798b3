"""Table names for endpoints: snake_case, stable, collision-free, valid Python identifiers.

A name is a function of the endpoint's own path: version segments, file extensions and the
tenant scope (`/repos/{owner}/{repo}`) are dropped; the literal segments after the last
parameter form the name, prefixed with the singular of the collection that parameter picks
from (`/v1/customers/{customer}/tax_ids` -> `customer_tax_ids`); a path ending in a parameter
names one object (`/v1/customers/{customer}` -> `customer`).

When two endpoints want the same name, every member of that group that is not a top-level
collection is qualified by more of its own path (all literal segments, then the parameter
names, then a short hash of the path). Names never depend on an endpoint's position in the
spec, so adding an unrelated endpoint renames nothing.
"""

from __future__ import annotations

import hashlib
import keyword
import re

from generator.analysis.paths import Segment, scope_length, split, strip_versions
from generator.analysis.schema_utils import singular, snake


def identifier(text: str) -> str:
    name = re.sub(r"_+", "_", snake(text)).strip("_") or "root"
    if name[0].isdigit():
        name = "n_" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def _words(seg: Segment) -> str:
    return snake(seg.text)


def _parts(
    path: str, version_params: set[str]
) -> tuple[list[Segment], int, list[int], bool]:
    """(segments without versions, scope length, indexes of the literals forming the short name,
    whether the endpoint is a top-level collection)."""
    segs = strip_versions(split(path), version_params)
    scope = scope_length(segs)
    rest = list(range(scope, len(segs)))
    literal_idx = [i for i, s in enumerate(segs) if not s.is_param]
    if not rest:
        if not literal_idx:
            return segs, scope, [], True
        return segs, scope, literal_idx[-1:], not segs[-1].is_param
    params = [i for i in rest if segs[i].is_param]
    if not params:
        return segs, scope, rest, True
    last = params[-1]
    tail = [i for i in rest if i > last]
    before = [i for i in rest if i < last and not segs[i].is_param]
    if tail:
        return segs, scope, before[-1:] + tail, False
    # Ends with a parameter: one object of the collection before it (with the literals that
    # follow the previous parameter), prefixed by that parameter's collection.
    if not before:
        return segs, scope, [], False
    li = before[-1]
    prev = [i for i in params if i < li]
    start = prev[-1] + 1 if prev else li
    coll = [i for i in range(start, li + 1)]
    head = [i for i in before if i < start]
    return segs, scope, (head[-1:] if prev else []) + coll, False


def _join(
    segs: list[Segment], idx: list[int], ends_param: bool, singular_first: bool
) -> str:
    words = [_words(segs[i]) for i in idx]
    if not words:
        return ""
    if ends_param:
        words[-1] = singular(words[-1])
    if singular_first and len(words) > 1:
        words[0] = singular(words[0])
    return "_".join(w for w in words if w)


def base_name(path: str, version_params: set[str]) -> tuple[str, bool]:
    """(short name, whether the endpoint is a top-level collection)."""
    segs, _scope, idx, top = _parts(path, version_params)
    if not idx:
        params = [s for s in segs if s.is_param]
        return identifier(snake(params[-1].text) if params else "root"), top
    ends_param = bool(segs) and segs[-1].is_param
    # A prefix from before the last parameter is the singular of that collection.
    prefix_is_collection = len(idx) > 1 and any(
        segs[j].is_param for j in range(idx[0] + 1, idx[-1])
    )
    return identifier(_join(segs, idx, ends_param, prefix_is_collection)), top


def qualified_name(path: str, version_params: set[str], level: int) -> str:
    segs, _scope, idx, _top = _parts(path, version_params)
    ends_param = bool(segs) and segs[-1].is_param
    if level == 1:
        first = idx[0] if idx else len(segs)
        earlier = [i for i in range(first) if not segs[i].is_param]
        if not earlier:
            return base_name(path, version_params)[0]
        short = base_name(path, version_params)[0]
        return identifier(singular(_words(segs[earlier[-1]])) + "_" + short)
    if level == 2:
        literals = [i for i, s in enumerate(segs) if not s.is_param]
        return identifier(_join(segs, literals, ends_param, False))
    if level == 3:
        return identifier(
            "_".join(_words(s) if not s.is_param else "by_" + _words(s) for s in segs)
        )
    digest = hashlib.sha256(path.encode()).hexdigest()[:6]
    return identifier(qualified_name(path, version_params, 3) + "_" + digest)


def assign_names(paths: list[str], version_params: set[str]) -> dict[str, str]:
    """path -> unique table name, for every GET path of a spec."""
    names: dict[str, str] = {}
    top: dict[str, bool] = {}
    for path in sorted(set(paths)):
        names[path], top[path] = base_name(path, version_params)
    kept: set[str] = set()
    for level in (1, 2, 3, 4):
        groups: dict[str, list[str]] = {}
        for path, name in names.items():
            groups.setdefault(name, []).append(path)
        clashes = {n: ps for n, ps in groups.items() if len(ps) > 1}
        if not clashes:
            break
        for _name, members in sorted(clashes.items()):
            keep = next((p for p in members if p in kept), None) or (
                _keeper(members, top) if level == 1 else None
            )
            if keep:
                kept.add(keep)
            for path in members:
                if path != keep:
                    names[path] = qualified_name(path, version_params, level)
                    top[path] = False
    return names


def _keeper(members: list[str], top: dict[str, bool]) -> str | None:
    """Who keeps the short name: the top-level collection with the shortest path, else the one
    collection among single-object lookups (`media` lists vs one `media` item), if unique."""
    tops = sorted((p.count("/"), p) for p in members if top[p])
    if tops:
        return None if len(tops) > 1 and tops[0][0] == tops[1][0] else tops[0][1]
    lists = [
        p
        for p in members
        if not p.rstrip("/").endswith("}") and not re.search(r"\}\.\w+$", p)
    ]
    return lists[0] if len(lists) == 1 else None
