"""spec -> plan: every decision the generator makes about a spec, before any file is written.

`analyse(spec, source)` reads each GET operation that returns JSON and decides, in this order
(each step's module is named after what it decides): rows and columns (`rows`), table names
(`naming`), primary key (`keys`), pagination, incremental fields, partition key, sort order,
fan-out parents (`fanout`), selection, auth. Every decision carries a one-line `why`.
Deterministic: the same spec gives the same plan byte for byte.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from generator.analysis import (
    auth,
    convention,
    extensions,
    fanout,
    incremental,
    keys,
    pagination,
    partition,
    request,
    rows,
    selection,
    servers,
    sort,
)
from generator.analysis.naming import assign_names
from generator.analysis.paths import is_version_param, split
from generator.analysis.paging_params import position_params
from generator.analysis.schema_utils import Schemas, desc, snake, tokens
from generator.errors import Warning
from generator.plan import LOW_CONFIDENCE, Endpoint, Plan, Release, SpecInfo
from generator.spec.model import Operation, Spec

__all__ = ["analyse"]


@dataclass
class _Facts:
    op: Operation
    rows: rows.Rows
    endpoint: Endpoint
    item: fanout.Item | None = None


def analyse(spec: Spec, source: str) -> Plan:
    """Decide everything about `spec`'s JSON GET operations; `source` names the connector."""
    schemas = Schemas(spec)
    ops = spec.operations()
    warnings: list[Warning] = list(spec.warnings)
    version_params = _version_params(ops)
    names = assign_names([op.path for op in ops], version_params)
    link_conv = pagination.link_convention(ops)
    facts = [
        _decide_endpoint(
            schemas, _resolved_params(schemas, op), names[op.path], link_conv, warnings
        )
        for op in ops
    ]
    for case in convention.apply(
        schemas, [convention.Case(f.op, f.rows, f.endpoint) for f in facts]
    ):
        warnings.append(_low_confidence(case.op, case.endpoint))
    _decide_sort(schemas, facts)
    for f in facts:
        fixed, why_fixed = selection.request_params(schemas, f.op)
        for k, v in fixed.items():
            f.endpoint.params.setdefault(k, v)
        if why_fixed:
            f.endpoint.why["params"] = "; ".join(why_fixed)
    _decide_fanout(schemas, facts, version_params, warnings)
    _decide_selection(facts)
    auth_schemes, auth_warnings = auth.schemes(spec)
    warnings.extend(auth_warnings)
    global_security = auth.global_requirements(spec)
    for f in facts:
        f.endpoint.security = auth.operation_security(f.op, global_security)
    plan = Plan(
        source=source,
        spec=SpecInfo(
            title=spec.title,
            version=spec.api_version,
            openapi=spec.openapi_version,
            sha256=spec.sha256,
        ),
        base_url=spec.base_url(),
        auth=auth_schemes,
        endpoints=[f.endpoint for f in facts],
        warnings=warnings,
        server=servers.decide(spec),
        release=Release(feature_flag=f"gen-source-{source}", docs_url=_docs_url(spec)),
    )
    plan.sort()
    return plan


def _docs_url(spec: Spec) -> str | None:
    """The spec's `externalDocs.url`, when it is an http(s) URL."""
    docs = spec.doc.get("externalDocs")
    url = docs.get("url") if isinstance(docs, dict) else None
    return (
        url
        if isinstance(url, str) and url.startswith(("https://", "http://"))
        else None
    )


def _decide_endpoint(
    schemas: Schemas,
    op: Operation,
    name: str,
    link_conv: pagination.LinkConvention,
    warnings: list[Warning],
) -> _Facts:
    """The decisions that need only the operation itself."""
    stated = extensions.stated(op.raw)
    paged = bool(position_params({snake(p.name): p for p in op.query_params()}))
    found = rows.find_rows(
        schemas,
        op.response,
        one_object_path=op.path.rstrip("/").endswith("}"),
        paged=paged,
        example=op.response_example,
        results_path=stated.results_path if stated else None,
        path_words=tuple(_path_words(op.path)),
    )
    body = rows.body_paths(schemas, found.body, found)
    ep = Endpoint(
        name=name,
        path=op.path,
        method="GET",
        operation_id=op.operation_id,
        summary=op.summary,
        response_status=op.response_status,
    )
    ep.data_selector, ep.why["data_selector"] = found.selector, found.why
    ep.columns = list(found.columns)
    ep.primary_key, ep.why["primary_key"] = keys.primary_key(found, op.path)
    decision = pagination.decide(schemas, op, found, body, link_conv, stated)
    ep.pagination, ep.why["pagination"] = decision.pagination, decision.why
    ep.params.update(decision.fixed)
    if decision.warning:
        warnings.append(Warning(where=op.where, message=decision.warning))
    if decision.confidence:
        ep.confidence["pagination"] = decision.confidence
        warnings.append(_low_confidence(op, ep))
    ep.incremental_fields, ep.why["incremental"] = incremental.decide(
        schemas, op, found
    )
    ep.partition_key, ep.why["partition_key"] = partition.partition_key(
        found, _path_words(op.path)
    )
    ep.row_format = "jsonapi" if found.jsonapi else "plain"
    ep.headers, why_headers = request.fixed_headers(op)
    if why_headers:
        ep.why["headers"] = why_headers
    ep.param_defaults = request.path_param_defaults(op)
    ep.query_params = sorted({p.name for p in op.query_params()})
    return _Facts(op, found, ep)


def _low_confidence(op: Operation, ep: Endpoint) -> Warning:
    """The one warning line per table whose paging is a guess (gen-source prints them all)."""
    return Warning(
        where=op.where,
        message=f"{LOW_CONFIDENCE}: {ep.name} reads as {ep.pagination.type} "
        f"({ep.why['pagination'].split(': ', 1)[-1]}); if wrong, set "
        f"endpoints.{ep.name}.pagination in overrides/<source>.yaml",
    )


def _decide_selection(facts: list[_Facts]) -> None:
    paths = {f.op.path for f in facts}
    for f in facts:
        assert f.item is not None
        paging = {
            v
            for k, v in f.endpoint.pagination.settings().items()
            if k.endswith("_param")
        }
        # A required time filter is filled by the incremental cursor (or its start value).
        paging |= {
            i.filter_param
            for i in f.endpoint.incremental_fields
            if not i.filter_expression
        }
        sibling = f.op.path.replace("/relationships/", "/") in paths
        selected, why = selection.decide(
            f.op, f.rows, f.item, f.endpoint.params, paging, sibling
        )
        f.endpoint.selected, f.endpoint.why["selected"] = selected, why


def _resolved_params(schemas: Schemas, op: Operation) -> Operation:
    """A copy of the operation whose parameter schemas are dereferenced (`$ref` to a shared
    `page` schema), and whose descriptions fall back to the schema's, so rules read them directly.
    Optional parameters marked deprecated (on the parameter or its schema) are left out: no rule
    builds on them when the API offers their successor."""
    params = []
    for p in op.parameters:
        schema = schemas.deref(p.schema) or p.schema
        if not p.required and (p.deprecated or schema.value.get("deprecated") is True):
            continue
        params.append(
            dataclasses.replace(
                p,
                schema=schema,
                description=desc(dataclasses.replace(p, schema=schema)),
            )
        )
    return dataclasses.replace(op, parameters=params)


def _path_words(path: str) -> list[str]:
    return [w for seg in split(path) if not seg.is_param for w in tokens(seg.text)]


def _version_params(ops: list[Operation]) -> set[str]:
    out: set[str] = set()
    for op in ops:
        for p in op.path_params():
            schema = p.schema.value
            if is_version_param(
                p.name, "default" in schema or bool(schema.get("enum"))
            ):
                out.add(p.name)
    return out


def _decide_sort(schemas: Schemas, facts: list[_Facts]) -> None:
    statements = []
    for f in facts:
        stated = sort.order_statement(f.op)
        if stated and f.rows.is_list:
            statements.append(
                (sort.pagination_signature(f.endpoint.pagination), stated)
            )
    convention = sort.spec_convention(statements)
    for f in facts:
        if not f.rows.is_list:
            f.endpoint.sort_mode = "asc"
            f.endpoint.why["sort_mode"] = "single object"
            continue
        d = sort.decide(
            schemas,
            f.op,
            f.endpoint.incremental_fields,
            f.endpoint.pagination,
            convention,
            stable_fields=_stable_fields(f.endpoint),
        )
        f.endpoint.sort_mode = d.mode
        f.endpoint.params.update(d.params)
        f.endpoint.sort_params = dict(d.params)
        f.endpoint.why["sort_mode"] = d.why


def _stable_fields(ep: Endpoint) -> list[str]:
    """Fields an order can rest on when no incremental field asks for one: the creation
    time, then the key (neither changes for a row, so pages cannot skip or repeat
    rows)."""
    out = [ep.partition_key] if ep.partition_key else []
    return out + [k for k in ep.primary_key or [] if k not in out]


def _decide_fanout(
    schemas: Schemas,
    facts: list[_Facts],
    version_params: set[str],
    warnings: list[Warning],
) -> None:
    items = []
    for f in facts:
        defaults = {p.name for p in f.op.path_params() if "default" in p.schema.value}
        item = fanout.Item(
            path=f.op.path,
            name=f.endpoint.name,
            rows=f.rows,
            primary_key=f.endpoint.primary_key,
            defaults=defaults,
            callable=not selection.missing_required(f.op, f.endpoint.params),
        )
        f.item = item
        items.append(item)
    fanout.resolve(items, version_params)
    row_users: dict[int, set[str]] = {}
    for f in facts:
        if f.rows.is_list and f.rows.row is not None:
            row_users.setdefault(id(f.rows.row.value), set()).add(f.op.path)
    for f in facts:
        item = f.item
        assert item is not None
        f.endpoint.parent = item.parent
        f.endpoint.config_params = list(item.config_params)
        if item.why:
            f.endpoint.why["parent"] = item.why
        if item.parent is not None:
            pk, why = fanout.child_key(item, items, row_users)
            if why:
                f.endpoint.primary_key = pk
                f.endpoint.why["primary_key"] = why
        missing = [
            p.text
            for p in split(f.op.path)
            if p.is_param
            and p.text not in item.config_params
            and (
                item.parent is None
                or (
                    p.text != item.parent.path_param
                    and p.text not in item.parent.inherited
                )
            )
        ]
        if missing:
            warnings.append(
                Warning(
                    where=f.op.where, message=f"path parameter(s) {missing} unresolved"
                )
            )
