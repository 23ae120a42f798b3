"""`overrides/<source>.yaml`: a maintainer's per-source quirks, validated and merged into the plan.

The schema is documented in overrides/README.md. Every key is checked; an endpoint key that
matches nothing in the plan is an error (stale overrides must not rot silently).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import keyword
import re
from pathlib import Path

import yaml

from generator.errors import OverrideError
from generator.plan import (
    COLUMN_TYPES,
    INCREMENTAL_TYPES,
    LOW_CONFIDENCE,
    RELEASE_STATUSES,
    AuthScheme,
    Plan,
)
from generator.webhooks.overrides import validate_webhook_overrides
from runtime.catalog import (
    PAGINATION_TYPES,
    CatalogError,
    Column,
    IncrementalField,
    ParentConfig,
    is_column_type,
    pagination_from_dict,
)

TOP_KEYS = {
    "base_url",
    "auth",
    "add_auth",
    "required_scopes",
    "selection",
    "endpoints",
    "webhooks",
    "release_status",
    "unreleased",
    "feature_flag",
    "docs_url",
    "icon",
}
PARENT_KEYS = {
    "endpoint",
    "path_param",
    "field",
    "in",
    "inherited",
    "include_from_parent",
    "max_pages",
}
ENDPOINT_KEYS = {
    "selected",
    "name",
    "data_selector",
    "primary_key",
    "pagination",
    "page_size",
    "incremental_fields",
    "partition_key",
    "sort_mode",
    "parent",
    "params",
    "headers",
    "variants",
    "column_types",
}
VARIANT_KEYS = ENDPOINT_KEYS - {"name", "variants"}
AUTH_TYPES = {"bearer", "basic", "api_key", "oauth2", "none"}
NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
PATH_PARAM = re.compile(r"\{([^}]+)\}")


def load_overrides(file: Path) -> dict | None:
    if not file.is_file():
        return None
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise OverrideError(
            f"malformed YAML: {str(exc).splitlines()[0]}", where=str(file)
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise OverrideError("top level must be a mapping", where=str(file))
    _validate(data, str(file))
    return data


def _fail(file: str, key: str, message: str):
    raise OverrideError(message, where=f"{file}: {key}")


def _validate(data: dict, file: str) -> None:
    for key in data:
        if key not in TOP_KEYS:
            _fail(file, key, f"unknown key (allowed: {', '.join(sorted(TOP_KEYS))})")
    if "base_url" in data and not (
        isinstance(data["base_url"], str)
        and data["base_url"].startswith(("http://", "https://"))
    ):
        _fail(file, "base_url", "must be an http(s) URL")
    if "selection" in data and data["selection"] not in ("spec", "listed"):
        _fail(
            file,
            "selection",
            "must be 'spec' (the generator's choice) or 'listed' (only endpoints set selected: true)",
        )
    for top in ("auth", "add_auth"):
        if top not in data:
            continue
        auths = data[top] if isinstance(data[top], list) else [data[top]]
        for i, a in enumerate(auths):
            if not isinstance(a, dict) or a.get("type") not in AUTH_TYPES:
                _fail(file, f"{top}[{i}]", f"needs type in {sorted(AUTH_TYPES)}")
            if a["type"] == "api_key" and (
                not a.get("name") or a.get("in") not in ("header", "query")
            ):
                _fail(file, f"{top}[{i}]", "api_key needs name and in: header|query")
            if "scheme" in a and not (isinstance(a["scheme"], str) and a["scheme"]):
                _fail(file, f"{top}[{i}].scheme", "must name a security scheme")
    _validate_release(data, file)
    if "required_scopes" in data:
        rs = data["required_scopes"]
        if not (
            isinstance(rs, dict)
            and set(rs) <= {"add", "remove"}
            and all(
                isinstance(v, list) and all(isinstance(x, str) for x in v)
                for v in rs.values()
            )
        ):
            _fail(
                file,
                "required_scopes",
                "must be {add: [scope, ...], remove: [scope, ...]}",
            )
    if "webhooks" in data:
        validate_webhook_overrides(data["webhooks"], file)
    endpoints = data.get("endpoints") or {}
    if not isinstance(endpoints, dict):
        _fail(file, "endpoints", "must be a mapping of 'GET /path' to settings")
    for key, ov in endpoints.items():
        where = f"endpoints[{key!r}]"
        if not isinstance(ov, dict):
            _fail(file, where, "must be a mapping")
        for k in ov:
            if k not in ENDPOINT_KEYS:
                _fail(
                    file,
                    f"{where}.{k}",
                    f"unknown key (allowed: {', '.join(sorted(ENDPOINT_KEYS))})",
                )
        _validate_endpoint(ov, file, where)
        _validate_variants(ov.get("variants"), file, f"{where}.variants")


def _validate_release(data: dict, file: str) -> None:
    checks = {
        "release_status": (
            lambda v: v in RELEASE_STATUSES,
            f"one of {list(RELEASE_STATUSES)}",
        ),
        "unreleased": (lambda v: isinstance(v, bool), "true or false"),
        "feature_flag": (
            lambda v: isinstance(v, str) and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", v),
            "a flag name (lower-case letters, digits, - and _)",
        ),
        "docs_url": (
            lambda v: isinstance(v, str) and v.startswith(("https://", "http://")),
            "an http(s) URL",
        ),
        "icon": (
            lambda v: (
                isinstance(v, str)
                and re.fullmatch(r"[\w./-]+\.(png|svg)", v)
                and ".." not in v
                and not v.startswith("/")
            ),
            "a relative .png or .svg path",
        ),
    }
    for key, (ok, hint) in checks.items():
        if key in data and not ok(data[key]):
            _fail(file, key, f"invalid value {data[key]!r}: expected {hint}")


def _validate_parent(v) -> bool:
    if v is None:
        return True
    if not (
        isinstance(v, dict)
        and set(v) <= PARENT_KEYS
        and all(isinstance(v.get(k), str) for k in ("endpoint", "path_param", "field"))
    ):
        return False
    include = v.get("include_from_parent", [])
    cap = v.get("max_pages", 1)
    return (
        v.get("in", "path") in ("path", "query")
        and isinstance(v.get("inherited", {}), dict)
        and isinstance(include, list)
        and all(isinstance(x, str) for x in include)
        and isinstance(cap, int)
        and not isinstance(cap, bool)
        and cap > 0
    )


def _validate_variants(variants, file: str, where: str) -> None:
    """`variants`: table name -> the settings that differ from the endpoint's (its params, mostly)."""
    if variants is None:
        return
    if not isinstance(variants, dict) or not variants:
        _fail(file, where, "must be a mapping of table name to settings")
    for name, ov in variants.items():
        if not (
            isinstance(name, str)
            and NAME_RE.fullmatch(name)
            and not keyword.iskeyword(name)
        ):
            _fail(
                file,
                f"{where}[{name!r}]",
                "the table name must be a lower-case identifier",
            )
        if not isinstance(ov, dict):
            _fail(file, f"{where}[{name!r}]", "must be a mapping")
        for k in ov:
            if k not in VARIANT_KEYS:
                _fail(
                    file,
                    f"{where}[{name!r}].{k}",
                    f"unknown key (allowed: {', '.join(sorted(VARIANT_KEYS))})",
                )
        _validate_endpoint(ov, file, f"{where}[{name!r}]")


def _validate_endpoint(ov: dict, file: str, where: str) -> None:
    checks = {
        "selected": lambda v: isinstance(v, bool),
        "name": lambda v: (
            isinstance(v, str) and NAME_RE.fullmatch(v) and not keyword.iskeyword(v)
        ),
        "data_selector": lambda v: isinstance(v, str) and v,
        "primary_key": lambda v: (
            v is None
            or (isinstance(v, list) and v and all(isinstance(x, str) for x in v))
        ),
        "pagination": lambda v: (
            isinstance(v, dict) and v.get("type") in PAGINATION_TYPES
        ),
        "page_size": lambda v: (
            isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 100000
        ),
        "partition_key": lambda v: v is None or isinstance(v, str),
        "sort_mode": lambda v: v in ("asc", "desc"),
        "parent": _validate_parent,
        "params": lambda v: (
            isinstance(v, dict)
            and all(
                isinstance(k, str) and isinstance(x, (str, int, bool))
                for k, x in v.items()
            )
        ),
        "headers": lambda v: (
            isinstance(v, dict)
            and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())
        ),
        "column_types": lambda v: (
            isinstance(v, dict)
            and all(
                isinstance(k, str) and isinstance(t, str) and is_column_type(t)
                for k, t in v.items()
            )
        ),
        "incremental_fields": lambda v: (
            isinstance(v, list)
            and all(
                isinstance(f, dict)
                and isinstance(f.get("field"), str)
                and f.get("type") in INCREMENTAL_TYPES
                and isinstance(f.get("filter_param"), str)
                for f in v
            )
        ),
    }
    hints = {
        "name": "a lower-case identifier",
        "pagination": f"a mapping with type in {list(PAGINATION_TYPES)}",
        "parent": "null or {endpoint, path_param, field, in?: path|query, inherited?, "
        "include_from_parent?: [field, ...], max_pages?: a positive integer}",
        "page_size": "a positive integer",
        "incremental_fields": f"a list of {{field, type in {list(INCREMENTAL_TYPES)}, filter_param}}",
        "column_types": f"a mapping of field -> one of {list(COLUMN_TYPES)}, decimal(P,S), list<T>",
    }
    for k, ok in checks.items():
        if k in ov and not ok(ov[k]):
            _fail(
                file,
                f"{where}.{k}",
                f"invalid value {ov[k]!r}: expected {hints.get(k, 'see overrides/README.md')}",
            )
    if "pagination" in ov:
        try:
            pagination_from_dict(ov["pagination"])
        except (CatalogError, TypeError) as exc:
            _fail(file, f"{where}.pagination", str(exc))


def _match(plan: Plan, key: str):
    method, _, path = key.partition(" ") if " " in key else ("GET", "", key)
    return [
        e
        for e in plan.endpoints
        if e.path == path.strip() and e.method == method.upper()
    ]


def apply_overrides(plan: Plan, data: dict, file: str) -> Plan:
    if "base_url" in data:
        plan.base_url = data["base_url"].rstrip("/")
        plan.server = None  # the override's URL, as it is: no variables to fill
    if "auth" in data:
        auths = data["auth"] if isinstance(data["auth"], list) else [data["auth"]]
        plan.auth = [_auth(a, i) for i, a in enumerate(auths)]
    if "add_auth" in data:
        auths = (
            data["add_auth"]
            if isinstance(data["add_auth"], list)
            else [data["add_auth"]]
        )
        plan.auth += [_auth(a, len(plan.auth) + i) for i, a in enumerate(auths)]
    _apply_release(plan, data)
    if data.get("selection") == "listed":
        for ep in plan.endpoints:
            if ep.selected:
                ep.selected = False
                ep.why["selected"] = (
                    "override: selection is 'listed' and this endpoint is not"
                )
    renames: dict[str, str] = {}
    parent_set: dict[
        int, str
    ] = {}  # id(endpoint) -> its override's key, where it sets a parent
    for key, ov in (data.get("endpoints") or {}).items():
        matches = _match(plan, key)
        if not matches:
            raise OverrideError(
                "matches no endpoint in the spec (stale override?)",
                where=f"{file}: endpoints[{key!r}]",
            )
        for ep in matches:
            _apply_endpoint(ep, ov, renames)
            variants = [
                _variant(ep, name, vov)
                for name, vov in (ov.get("variants") or {}).items()
            ]
            plan.endpoints += variants
            vovs = ov.get("variants") or {}
            for e in [ep, *variants]:
                if e.parent is not None and (
                    "parent" in ov or "parent" in vovs.get(e.name, {})
                ):
                    parent_set[id(e)] = key
    if renames or any(e.variant_of for e in plan.endpoints):
        taken = [e.name for e in plan.endpoints]
        dupes = sorted({n for n in taken if taken.count(n) > 1})
        if dupes:
            raise OverrideError(
                f"two endpoints named {dupes[0]!r} after renames and variants",
                where=f"{file}: endpoints",
            )
        for ep in plan.endpoints:
            if ep.parent and ep.parent.endpoint in renames:
                ep.parent = dataclasses.replace(
                    ep.parent, endpoint=renames[ep.parent.endpoint]
                )
    decided = {
        f"GET {e.path}" for e in plan.endpoints if "pagination" not in e.confidence
    }
    plan.warnings = [
        w
        for w in plan.warnings
        if not (w.message.startswith(LOW_CONFIDENCE) and w.where in decided)
    ]
    by_name = {e.name: e for e in plan.endpoints}
    for ep in plan.endpoints:
        key = parent_set.get(id(ep))
        where = f"{file}: endpoints[{key or f'GET {ep.path}'!r}].parent"
        if ep.parent and ep.parent.endpoint not in by_name:
            close = difflib.get_close_matches(ep.parent.endpoint, list(by_name), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise OverrideError(
                f"parent {ep.parent.endpoint!r} is not an endpoint{hint}", where=where
            )
        if key is not None:
            _check_parent(ep, by_name, where)
    plan.sort()
    plan.overrides_applied.append(file)
    return plan


def _auth(a: dict, index: int) -> AuthScheme:
    return AuthScheme(
        type=a["type"],
        name=a.get("name"),
        location=a.get("in"),
        prefix=a.get("prefix"),
        flows=list(a.get("flows") or []),
        scopes=list(a.get("scopes") or []),
        token_url=a.get("token_url"),
        scheme_name=a.get("scheme") or f"override_{index}",
    )


def _apply_release(plan: Plan, data: dict) -> None:
    release = plan.release
    if "release_status" in data:
        release.status = data["release_status"]
        release.unreleased = data.get("unreleased", False)
        release.why = f"override: release_status {release.status}"
    elif "unreleased" in data:
        release.unreleased = data["unreleased"]
    if not release.unreleased:
        release.feature_flag = None
    if "feature_flag" in data:
        release.feature_flag = data["feature_flag"]
    if "docs_url" in data:
        release.docs_url = data["docs_url"]
    if "icon" in data:
        release.icon = data["icon"]


def _check_parent(ep, by_name: dict, where: str) -> None:
    """A parent the reader can honour: the named parameter exists on the operation (in
    the path, or as a query parameter), the parent is another list, and the fields it
    copies exist."""
    p = ep.parent
    parent = by_name[p.endpoint]
    if parent is ep:
        raise OverrideError(f"{ep.name} cannot be its own parent", where=where)
    in_path = p.path_param in PATH_PARAM.findall(ep.path)
    in_query = p.path_param in ep.query_params
    if p.location != "query" and not in_path:
        hint = " (it is a query parameter: set `in: query`)" if in_query else ""
        raise OverrideError(
            f"GET {ep.path} has no path parameter {{{p.path_param}}}{hint}", where=where
        )
    if p.location == "query" and not in_query:
        raise OverrideError(
            f"GET {ep.path} has no query parameter {p.path_param!r}"
            f" (query parameters: {', '.join(ep.query_params) or 'none'})",
            where=where,
        )
    columns = {c.name for c in parent.columns}
    for name in [p.field, *p.include_from_parent]:
        if columns and name not in columns:
            raise OverrideError(
                f"parent {parent.name!r} rows have no field {name!r}", where=where
            )
    for param in p.inherited:
        if param not in PATH_PARAM.findall(ep.path):
            raise OverrideError(
                f"inherited {param!r} is not a path parameter of GET {ep.path}",
                where=where,
            )


def _variant(ep, name: str, ov: dict):
    """Another table from `ep`'s operation: its settings (after its own overrides), then the variant's."""
    variant = copy.deepcopy(ep)
    variant.name, variant.variant_of = name, ep.name
    variant.why["variant"] = f"override: a variant of {ep.name}"
    _apply_endpoint(variant, ov, {})
    return variant


def _apply_endpoint(ep, ov: dict, renames: dict[str, str]) -> None:
    if "name" in ov and ov["name"] != ep.name:
        renames[ep.name] = ov["name"]
        ep.name = ov["name"]
    if "selected" in ov:
        ep.selected = ov["selected"]
    for k in ("data_selector", "primary_key", "partition_key", "sort_mode"):
        if k in ov:
            setattr(ep, k, ov[k])
    if "params" in ov:
        ep.params = {
            **ep.params,
            **{
                k: str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in ov["params"].items()
            },
        }
    if "pagination" in ov:
        settings = dict(ov["pagination"])
        size = getattr(ep.pagination, "page_size", None)
        if (
            size is not None and settings["type"] != "single_page"
        ):  # a new paginator keeps the page size
            settings.setdefault("page_size", size)
        ep.pagination = pagination_from_dict(settings)
        ep.confidence.pop("pagination", None)  # a person decided it
    if "data_selector" in ov:
        ep.confidence.pop("data_selector", None)
    if "page_size" in ov:
        if not hasattr(ep.pagination, "page_size"):
            raise OverrideError(
                f"page_size on {ep.pagination.type} pagination, which sends no page size",
                where=f"endpoint {ep.name}",
            )
        ep.pagination = dataclasses.replace(ep.pagination, page_size=ov["page_size"])
    if "incremental_fields" in ov:
        ep.incremental_fields = [
            IncrementalField(
                field=f["field"],
                type=f["type"],
                filter_param=f["filter_param"],
                before_param=f.get("before_param"),
                filter_expression=f.get("filter_expression"),
            )
            for f in ov["incremental_fields"]
        ]
    if "headers" in ov:
        ep.headers = {**ep.headers, **ov["headers"]}
    if (
        "column_types" in ov
    ):  # e.g. an int the spec does not mark as Unix time: timestamp
        named = dict(ov["column_types"])
        ep.columns = [Column(c.name, named.pop(c.name, c.type)) for c in ep.columns]
        ep.columns += [Column(n, t) for n, t in named.items()]
    if "parent" in ov:
        p = ov["parent"]
        ep.parent = (
            ParentConfig(
                endpoint=p["endpoint"],
                path_param=p["path_param"],
                field=p["field"],
                inherited=dict(p.get("inherited") or {}),
                location="query" if p.get("in") == "query" else None,
                include_from_parent=tuple(p.get("include_from_parent") or ()),
                max_pages=p.get("max_pages"),
            )
            if p
            else None
        )
        # Path parameters the parent no longer fills come from the config.
        filled = {ep.parent.path_param, *ep.parent.inherited} if ep.parent else set()
        if ep.parent and ep.parent.location == "query":
            # Each parent row sends its own value.
            ep.params.pop(ep.parent.path_param, None)
        ep.config_params = [n for n in PATH_PARAM.findall(ep.path) if n not in filled]
    for k in ov:
        decision = {
            "incremental_fields": "incremental",
            "page_size": "pagination",
            "params": "params",
            "column_types": "columns",
        }.get(k, k)
        ep.why[decision] = "override"
