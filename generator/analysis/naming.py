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


def base_name(path: str, version_params: set[str]) -> tuple[str, bool]:
    """(short name, whether the endpoint is a top-level collection)."""
    segs = strip_versions(split(path), version_params)
    scope = scope_length(segs)
    rest = segs[scope:]
    if not rest:
        literals = [s for s in segs if not s.is_param]
        if not literals:
            return identifier("root"), True
        last = literals[-1]
        ends_param = bool(segs) and segs[-1].is_param
        return identifier(singular(_words(last)) if ends_param else _words(last)), not ends_param
    param_idx = [i for i, s in enumerate(rest) if s.is_param]
    if not param_idx:
        return identifier("_".join(_words(s) for s in rest)), True
    last_param = param_idx[-1]
    tail = rest[last_param + 1:]
    if tail:
        before = [s for s in rest[:last_param] if not s.is_param]
        prefix = singular(_words(before[-1])) if before else ""
        return identifier("_".join([p for p in [prefix] if p] + [_words(s) for s in tail])), False
    # Ends with a parameter: one object of the collection before it.
    before = rest[:last_param]
    literals_idx = [i for i, s in enumerate(before) if not s.is_param]
    if not literals_idx:
        return identifier(snake(rest[last_param].text)), False
    li = literals_idx[-1]
    head = [s for s in before[:li] if not s.is_param]
    # Literal segments between the previous parameter and this collection belong to its name.
    prev_params = [i for i, s in enumerate(before[:li]) if s.is_param]
    start = prev_params[-1] + 1 if prev_params else li
    coll = [_words(s) for s in before[start:li + 1]]
    coll[-1] = singular(coll[-1])
    prefix = singular(_words(head[-1])) if prev_params and head else ""
    return identifier("_".join([p for p in [prefix] if p] + coll)), False


def qualified_name(path: str, version_params: set[str], level: int) -> str:
    segs = strip_versions(split(path), version_params)
    if level == 1:
        return identifier("_".join(_words(s) for s in segs if not s.is_param))
    if level == 2:
        return identifier("_".join(_words(s) if not s.is_param else "by_" + _words(s) for s in segs))
    digest = hashlib.sha256(path.encode()).hexdigest()[:6]
    return identifier(qualified_name(path, version_params, 2) + "_" + digest)


def assign_names(paths: list[str], version_params: set[str]) -> dict[str, str]:
    """path -> unique table name, for every GET path of a spec."""
    names: dict[str, str] = {}
    top: dict[str, bool] = {}
    for path in sorted(set(paths)):
        names[path], top[path] = base_name(path, version_params)
    for level in (1, 2, 3):
        groups: dict[str, list[str]] = {}
        for path, name in names.items():
            groups.setdefault(name, []).append(path)
        clashes = {n: ps for n, ps in groups.items() if len(ps) > 1}
        if not clashes:
            break
        for _name, members in sorted(clashes.items()):
            keepers = [p for p in members if top[p]] if level == 1 else []
            keep = keepers[0] if len(keepers) == 1 else None
            for path in members:
                if path != keep:
                    names[path] = qualified_name(path, version_params, level)
                    top[path] = False
    return names
