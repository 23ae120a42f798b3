"""Resolving path parameters: from a parent list endpoint's rows, or from the source config.

- `tenant_scope`: leading parameters naming the tenant the credentials act in (`{owner}`,
  `{repo}`, `{org}`, `{AccountSid}`, `{account_id}`) come from the config, even where a list of
  them exists: a connector syncs one tenant.
- `parent_collection`: a parameter whose path prefix is a list endpoint
  (`/v1/customers/{customer}/tax_ids` <- `/v1/customers`) is filled from each of its rows. The
  deepest such parameter picks the parent; parameters before it are the parent's own
  (`ParentConfig.inherited`: the column of the parent's rows that holds it, `_<endpoint>_<field>` as
  the runtime adds it to child rows, or the same config value).
- `parent_collection_other_version`: the same, where the list lives under another version
  prefix (`/v3/deployments/{deployment}/events` <- `/v6/deployments`; the newest wins).
- `config_value`: anything else (`{folder_id}`, `{tree_sha}`) comes from the config; parameters
  with a default (`{apiVersion}` = v4) need no user input.
The parent row field is the parameter name without the collection's noun (`{pull_number}` on
pulls -> `number`, `{team_slug}` -> `slug`, `{CallSid}` -> `sid`), else the parent's key.

Children whose rows are shared entities (team members are users: the same user appears under
many teams, and nothing in the row names the team) get the parent's column in their key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.analysis.paths import VERSION_RE, scope_length, split, strip_versions
from generator.analysis.rows import Rows
from generator.analysis.schema_utils import singular, snake, tokens
from runtime.catalog import ParentConfig


@dataclass
class Item:
    """What fan-out needs to know about one endpoint."""

    path: str
    name: str
    rows: Rows
    primary_key: list[str] | None
    defaults: set[str]  # path params with a default value
    parent: ParentConfig | None = None
    config_params: list[str] = field(default_factory=list)
    resolved: bool = (
        True  # every path param has a source that needs no free-form user input
    )
    unresolved: list[str] = field(default_factory=list)
    why: str = ""
    callable: bool = (
        True  # can be requested without values nobody provides (required query params)
    )


def resolve(items: list[Item], version_params: set[str]) -> None:
    """Fill parent / config_params for every item, parents before children."""
    by_path = {i.path: i for i in items}
    by_shape: dict[str, list[Item]] = {}
    for i in items:
        by_shape.setdefault(_unversioned(i.path), []).append(i)
    for item in sorted(items, key=lambda i: (i.path.count("{"), i.path)):
        _resolve_one(item, by_path, version_params, by_shape)


def _unversioned(path: str) -> str:
    """The path with its leading version literal made generic: `/v3/deployments` -> `/*/deployments`."""
    parts = path.split("/")
    if (
        len(parts) > 1
        and VERSION_RE.match(parts[1])
        and re.match(r"^v\d+$", parts[1], re.I)
    ):
        parts[1] = "*"
    return "/".join(parts)


def _version_number(path: str) -> int:
    m = re.match(r"^/v(\d+)/", path, re.I)
    return int(m.group(1)) if m else -1


def _usable(parent: Item | None, item: Item) -> bool:
    return (
        parent is not None
        and parent is not item
        and parent.rows.is_list
        and parent.rows.object_rows
        and parent.resolved
        and parent.callable
    )


def _resolve_one(
    item: Item,
    by_path: dict[str, Item],
    version_params: set[str],
    by_shape: dict[str, list[Item]] | None = None,
) -> None:
    segs = split(item.path)
    params = [s.text for s in segs if s.is_param]
    if not params:
        return
    stripped = strip_versions(segs, version_params)
    scope = {s.text for s in stripped[: scope_length(stripped)] if s.is_param}
    raw_parts = [p for p in item.path.split("/")]
    ext = _extension(item.path)
    chosen: tuple[int, Item] | None = None
    other_version = False
    for index in range(len(segs) - 1, -1, -1):
        seg = segs[index]
        if not seg.is_param or seg.text in scope or seg.text in version_params:
            continue
        prefix = "/".join(raw_parts[: _raw_index(raw_parts, index) + 0])
        for cand in (prefix, prefix + ext if ext else None):
            parent = by_path.get(cand) if cand else None
            if _usable(parent, item):
                chosen = (index, parent)
                break
        if chosen is None and by_shape and prefix != _unversioned(prefix):
            others = [
                p for p in by_shape.get(_unversioned(prefix), []) if _usable(p, item)
            ]
            if others:
                chosen = (
                    index,
                    max(others, key=lambda p: (_version_number(p.path), p.path)),
                )
                other_version = True
        if chosen:
            break
    config: list[str] = []
    reasons: list[str] = []
    if chosen is None:
        for p in params:
            config.append(p)
        item.config_params = config
        free = [
            p
            for p in params
            if p not in scope and p not in item.defaults and p not in version_params
        ]
        item.resolved = not free
        item.unresolved = free
        item.why = _config_why(params, scope, item.defaults | version_params)
        return
    index, parent = chosen
    param = segs[index].text
    parent_field = _parent_field(param, parent)
    inherited: dict[str, str] = {}
    before = [s.text for s in segs[:index] if s.is_param]
    parent_params = _param_names(parent.path)
    for pos, p in enumerate(before):
        parent_name = parent_params[pos] if pos < len(parent_params) else p
        column = _column_for(parent, parent_name)
        if column is None:
            config.append(p)
        else:
            inherited[p] = column
    after = [s.text for s in segs[index + 1 :] if s.is_param]
    free = [p for p in after if p not in item.defaults and p not in version_params]
    config.extend(after)
    item.parent = ParentConfig(
        endpoint=parent.name, path_param=param, field=parent_field, inherited=inherited
    )
    item.config_params = config
    item.resolved = not free
    item.unresolved = free
    rule = "parent_collection_other_version" if other_version else "parent_collection"
    reasons.append(
        f"{rule}: '{{{param}}}' from each {parent.name} row's '{parent_field}'"
    )
    if inherited:
        reasons.append(
            "inherited "
            + ", ".join(f"{k} <- {v}" for k, v in sorted(inherited.items()))
        )
    if config:
        reasons.append(
            _config_why(
                config,
                {p for p in config if p not in free},
                item.defaults | version_params,
            )
        )
    item.why = "; ".join(reasons)


def parent_column(link: ParentConfig) -> str:
    """The column the runtime adds to each child row for the parent value it came from."""
    return f"_{link.endpoint}_{link.field}"


def _column_for(parent: Item, param: str) -> str | None:
    """Which column of the parent's rows holds the value the parent used for `param`
    (None: the parent took it from the config)."""
    link = parent.parent
    if link is None or param in parent.config_params:
        return None
    if link.path_param == param:
        return parent_column(link)
    return link.inherited.get(param)


def _raw_index(raw_parts: list[str], seg_index: int) -> int:
    """Index in '/'-split raw parts of the seg_index-th non-empty segment."""
    count = -1
    for i, part in enumerate(raw_parts):
        if part:
            count += 1
            if count == seg_index:
                return i
    return len(raw_parts)


def _extension(path: str) -> str:
    last = path.rsplit("/", 1)[-1]
    if (
        "." in last
        and not last.startswith("{")
        or (last.startswith("{") and "}." in last)
    ):
        return "." + last.rsplit(".", 1)[-1]
    return ""


def _param_names(path: str) -> list[str]:
    return [s.text for s in split(path) if s.is_param]


def _config_why(params: list[str], scope: set[str], defaults: set[str]) -> str:
    parts = []
    for p in params:
        if p in scope:
            parts.append(f"'{{{p}}}' tenant_scope")
        elif p in defaults:
            parts.append(f"'{{{p}}}' has a default")
        else:
            parts.append(f"'{{{p}}}' config_value (no list endpoint provides it)")
    return "from config: " + ", ".join(parts)


def _parent_field(param: str, parent: Item) -> str:
    fields = parent.rows.fields
    if param in fields:
        return param
    literals = [s.text for s in split(parent.path) if not s.is_param]
    noun = tokens(singular(literals[-1])) if literals else []
    words = tokens(param)
    rest = words
    if noun and words[: len(noun)] == noun:
        rest = words[len(noun) :]
    elif noun and words and words[0] == noun[-1]:
        rest = words[1:]
    by_snake = {snake(n): n for n in fields}
    if rest and "_".join(rest) in by_snake:
        return by_snake["_".join(rest)]
    pk = parent.primary_key or []
    if len(pk) == 1:
        return pk[0]
    return "id" if "id" in fields else (pk[0] if pk else "id")


def child_key(
    child: Item, items: list[Item], row_users: dict[int, set[str]]
) -> tuple[list[str] | None, str]:
    """The child's key, composite with the parent column when its rows are shared entities."""
    pk = child.primary_key
    parent = child.parent
    if parent is None or not pk or child.rows.row is None or not child.rows.is_list:
        return pk, ""
    users = row_users.get(id(child.rows.row.value), set())
    if len(users) < 3:
        return pk, ""
    parent_words = set()
    for lit in [
        s.text
        for s in split(child.path)[: _param_pos(child.path, parent.path_param)]
        if not s.is_param
    ][-1:]:
        parent_words = set(tokens(singular(lit)))
    param_snake = snake(parent.path_param)
    for name in child.rows.fields:
        words = set(tokens(name))
        if snake(name) == param_snake or (parent_words and parent_words <= words):
            return pk, ""
    column = parent_column(parent)
    # No count in the reason: a new endpoint listing the same rows must not churn this line.
    return [column, *pk], (
        f"shared_entity_child: the same rows appear under several parents, "
        f"so the parent's '{column}' joins the key"
    )


def _param_pos(path: str, param: str) -> int:
    for i, s in enumerate(split(path)):
        if s.is_param and s.text == param:
            return i
    return 0
