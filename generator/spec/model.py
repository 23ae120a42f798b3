"""A normalised view of an OpenAPI 3.0/3.1 or Swagger 2.0 document.

Analysis reads only this view: operations with their parameters, the JSON success response
schema, its example and response headers, plus helpers to walk schemas through `$ref`s. Schema
nodes travel with the file they live in (`base`), so multi-file specs resolve relative refs
correctly. What the view makes uniform, so no rule handles it case by case:
- `$ref`s anywhere an object may be one (path items, operations, parameters, responses, the
  responses map, content, media types, headers, examples), across files in the spec's folder;
- path-level parameters merged into each operation's (the operation's win);
- Swagger 2.0 vs OpenAPI 3.x: `produces` / `content`, `examples` / `example(s)`, parameter
  types / `schema`; `nullable`, `x-nullable` and 3.1 type lists all read as the same types;
- `allOf` merged (properties and `required` united); `oneOf`/`anyOf` rows unified into one
  column set (required where every branch requires it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.errors import Warning, pointer
from generator.spec.parse import printable
from generator.spec.refs import RefCycleError, RefError, Resolver

JSON_TYPES = (
    "application/json",
    "application/vnd.api+json",
    "application/hal+json",
    "text/json",
)
METHOD = "get"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass
class Node:
    """A schema (or any spec object) and the file whose refs it uses."""

    value: dict
    base: str


@dataclass
class Param:
    name: str
    location: str  # query | header | path | cookie
    required: bool
    schema: Node
    description: str = ""
    style: str | None = None
    explode: bool | None = None
    deprecated: bool = False


@dataclass
class Operation:
    path: str
    method: str
    operation_id: str
    summary: str
    description: str
    tags: list[str]
    parameters: list[Param]
    response: Node | None  # JSON body schema of the success response
    response_status: str
    response_headers: list[str]
    content_types: list[str]
    where: str  # "GET /v1/customers"
    pointer: str  # JSON pointer of the operation in the root document
    security: list[str] | None = None
    raw: dict = field(default_factory=dict, repr=False)
    # The success response's JSON example (3.x `example`/`examples`, 2.0 `examples`), if any
    response_example: object = field(default=None, repr=False)
    # Response header name (lower case) -> its description, for rules that read header text
    header_text: dict[str, str] = field(default_factory=dict, repr=False)

    def param(self, name: str, location: str = "query") -> Param | None:
        for p in self.parameters:
            if p.name == name and p.location == location:
                return p
        return None

    def query_params(self) -> list[Param]:
        return [p for p in self.parameters if p.location == "query"]

    def path_params(self) -> list[Param]:
        return [p for p in self.parameters if p.location == "path"]


class Spec:
    def __init__(self, doc: dict, resolver: Resolver, *, sha256: str, file_label: str):
        self.doc = doc
        self.resolver = resolver
        self.sha256 = sha256
        self.file_label = file_label
        self.warnings: list[Warning] = []
        self.swagger2 = str(doc.get("swagger", "")).startswith("2")
        self.openapi_version = str(doc.get("swagger") or doc.get("openapi") or "")
        info = doc.get("info") if isinstance(doc.get("info"), dict) else {}
        self.title = str(info.get("title", ""))
        self.api_version = str(info.get("version", ""))
        self._operations: list[Operation] | None = None
        self.pending_validation = None  # a validate.Background still running, if any

    def finish_validation(self) -> list[Warning]:
        """Wait for a background validation; its warnings go first, as a synchronous one's do."""
        if self.pending_validation is None:
            return []
        found = self.pending_validation.result()
        self.pending_validation = None
        self.warnings[:0] = found
        return found

    # ---- schema helpers -------------------------------------------------------------
    def deref(self, node: Node | None) -> Node | None:
        if node is None:
            return None
        value, base = self.resolver.deref(node.value, node.base)
        return Node(value, base) if isinstance(value, dict) else None

    def sub(self, node: Node, value: object) -> Node | None:
        """A child of `node`, dereferenced, or None if it is not a schema object."""
        if not isinstance(value, dict):
            return None
        try:
            return self.deref(Node(value, node.base))
        except RefError:
            return None

    def types(self, node: Node | None) -> set[str]:
        """The JSON types a schema allows (3.1 type lists, `nullable`, allOf/anyOf/oneOf)."""
        node = self.safe_deref(node)
        if node is None:
            return set()
        out: set[str] = set()
        t = node.value.get("type")
        if isinstance(t, str):
            out.add(t)
        elif isinstance(t, list):
            out.update(x for x in t if isinstance(x, str))
        if not out:
            if "properties" in node.value:
                out.add("object")
            elif "items" in node.value:
                out.add("array")
            for key in ("allOf", "anyOf", "oneOf"):
                for part in node.value.get(key) or []:
                    out |= (
                        self.types(self.sub(node, part))
                        if isinstance(part, dict)
                        else set()
                    )
        return out

    def safe_deref(self, node: Node | None) -> Node | None:
        try:
            return self.deref(node)
        except RefError:
            return None

    def properties(self, node: Node | None, _depth: int = 0) -> dict[str, Node]:
        """Properties of an object schema, merging allOf (and object-only anyOf/oneOf)."""
        node = self.safe_deref(node)
        if node is None or _depth > 16:
            return {}
        out: dict[str, Node] = {}
        for key in ("allOf", "anyOf", "oneOf"):
            parts = node.value.get(key)
            if not isinstance(parts, list):
                continue
            if key != "allOf" and len(parts) > 1:
                # A union of row shapes: one column set, every branch's properties (the
                # first branch that declares a name gives its schema).
                for part in parts:
                    for name, prop in self.properties(
                        self.sub(node, part), _depth + 1
                    ).items():
                        out.setdefault(name, prop)
                continue
            for part in parts:
                out.update(self.properties(self.sub(node, part), _depth + 1))
        props = node.value.get("properties")
        if isinstance(props, dict):
            for name, value in props.items():
                if isinstance(value, dict):
                    out[name] = Node(value, node.base)
        return out

    def required(self, node: Node | None, _depth: int = 0) -> set[str]:
        node = self.safe_deref(node)
        if node is None or _depth > 16:
            return set()
        req = {r for r in node.value.get("required") or [] if isinstance(r, str)}
        for part in node.value.get("allOf") or []:
            req |= self.required(self.sub(node, part), _depth + 1)
        for key in (
            "anyOf",
            "oneOf",
        ):  # a union: required where every branch requires it
            parts = [self.sub(node, part) for part in node.value.get(key) or []]
            branches = [self.required(p, _depth + 1) for p in parts if p is not None]
            if branches:
                req |= set.intersection(*branches)
        return req

    def items(self, node: Node | None) -> Node | None:
        node = self.safe_deref(node)
        if node is None:
            return None
        items = node.value.get("items")
        if isinstance(items, dict):
            return self.sub(node, items)
        for key in ("allOf", "anyOf", "oneOf"):
            for part in node.value.get(key) or []:
                found = self.items(self.sub(node, part))
                if found is not None:
                    return found
        return None

    # ---- document-level facts -------------------------------------------------------
    def base_url(self) -> str:
        if self.swagger2:
            host = self.doc.get("host") or ""
            schemes = self.doc.get("schemes") or ["https"]
            base = self.doc.get("basePath") or ""
            return (
                f"{schemes[0]}://{host}{base}".rstrip("/") if host else base.rstrip("/")
            )
        servers = self.doc.get("servers") or []
        if not servers or not isinstance(servers[0], dict):
            return ""
        url = str(servers[0].get("url", ""))
        for name, var in (servers[0].get("variables") or {}).items():
            if isinstance(var, dict) and "default" in var:
                url = url.replace("{" + name + "}", str(var["default"]))
        return url.rstrip("/")

    def security_schemes(self) -> dict[str, dict]:
        raw = (
            self.doc.get("securityDefinitions")
            if self.swagger2
            else (self.doc.get("components") or {}).get("securitySchemes")
        ) or {}
        out = {}
        for name, scheme in sorted(raw.items()):
            try:
                value, _ = self.resolver.deref(scheme, self.resolver.root_key)
            except RefError:
                continue
            if isinstance(value, dict):
                out[name] = value
        return out

    def global_security(self) -> list[str]:
        names: list[str] = []
        for req in self.doc.get("security") or []:
            if isinstance(req, dict):
                names.extend(n for n in req if n not in names)
        return names

    # ---- operations ------------------------------------------------------------------
    def operations(self) -> list[Operation]:
        """Every GET operation, sorted by path. Unusable ones become warnings."""
        if self._operations is None:
            self._operations = self._collect()
        return self._operations

    def _warn(self, where: str, message: str) -> None:
        self.warnings.append(
            Warning(where=printable(where), message=printable(message))
        )

    def _collect(self) -> list[Operation]:
        ops: list[Operation] = []
        paths = self.doc.get("paths")
        if not isinstance(paths, dict):
            return ops
        root = self.resolver.root_key
        for path in sorted(paths):
            where = f"GET {printable(path)}"  # analysis warnings reuse it: one printable line
            ptr = pointer("paths", path)
            try:
                item, base = self.resolver.deref(paths[path], root, ptr)
            except RefError as exc:
                self._warn(f"{where} ({ptr})", f"skipped: {exc}")
                continue
            if not isinstance(item, dict) or not isinstance(item.get(METHOD), dict):
                continue
            op_ptr = ptr + "/get"
            try:
                op, op_base = self.resolver.deref(
                    item[METHOD], base, op_ptr
                )  # an operation by $ref
                if not isinstance(op, dict):
                    continue
                ops.append(
                    self._operation(path, item, base, op, op_base, where, op_ptr)
                )
            except RefError as exc:
                self._warn(f"{where} ({op_ptr})", f"skipped: {exc}")
            except _NotJson as exc:
                self._warn(where, str(exc))
        self._warn_duplicate_ids(paths)
        return ops

    def _warn_duplicate_ids(self, paths: dict) -> None:
        """operationIds should be unique; names come from paths, so duplicates change no
        generated name and are only reported (at each repeat, naming the first use)."""
        first: dict[str, str] = {}
        for path in sorted(paths):
            item = paths[path]
            if not isinstance(item, dict):
                continue
            for method in sorted(m for m in item if m in HTTP_METHODS):
                op = item[method]
                op_id = op.get("operationId") if isinstance(op, dict) else None
                if not isinstance(op_id, str) or not op_id:
                    continue
                ptr = pointer("paths", path, method, "operationId")
                if op_id in first:
                    self._warn(
                        f"{self.file_label}#{ptr}",
                        f"duplicate operationId {op_id!r} (first at "
                        f"{first[op_id]}); kept, table names come from paths",
                    )
                else:
                    first[op_id] = ptr

    def _operation(self, path, item, item_base, op, base, where, op_ptr) -> Operation:
        """Path-level parameters first, the operation's own override them (same name and place)."""
        params: dict[tuple[str, str], Param] = {}
        raws = [(raw, item_base) for raw in _list(item.get("parameters"))]
        raws += [(raw, base) for raw in _list(op.get("parameters"))]
        for raw, raw_base in raws:
            value, pbase = self.resolver.deref(raw, raw_base, op_ptr)
            if not isinstance(value, dict) or "name" not in value or "in" not in value:
                continue
            if value["in"] in ("body", "formData"):
                continue
            schema = (
                value.get("schema")
                if not self.swagger2
                else {
                    k: v
                    for k, v in value.items()
                    if k
                    in (
                        "type",
                        "format",
                        "enum",
                        "items",
                        "default",
                        "minimum",
                        "maximum",
                        "pattern",
                    )
                }
            )
            params[(str(value["name"]), str(value["in"]))] = Param(
                name=str(value["name"]),
                location=str(value["in"]),
                required=bool(value.get("required")),
                schema=Node(schema if isinstance(schema, dict) else {}, pbase),
                description=str(value.get("description") or ""),
                style=value.get("style"),
                explode=value.get("explode"),
                deprecated=value.get("deprecated") is True,
            )
        status, response, content_types, headers, example, header_text = (
            self._success_response(op, base, op_ptr, where)
        )
        security = None
        if isinstance(op.get("security"), list):
            security = [
                n for req in op["security"] if isinstance(req, dict) for n in req
            ]
        return Operation(
            path=path,
            method="GET",
            operation_id=str(op.get("operationId") or ""),
            summary=str(op.get("summary") or ""),
            description=str(op.get("description") or ""),
            tags=[str(t) for t in op.get("tags") or []],
            parameters=sorted(params.values(), key=lambda p: (p.location, p.name)),
            response=response,
            response_status=status,
            response_headers=headers,
            content_types=content_types,
            where=where,
            pointer=op_ptr,
            security=security,
            raw=op,
            response_example=example,
            header_text=header_text,
        )

    def _success_response(self, op, base, op_ptr, where):
        """(status, JSON body schema, content types, header names, JSON example, header texts)."""
        responses, rsbase = self.resolver.deref(op.get("responses") or {}, base, op_ptr)
        responses = responses if isinstance(responses, dict) else {}
        codes = sorted(str(c) for c in responses if str(c).startswith("2"))
        if not codes and "default" in responses:
            codes = ["default"]
        for code in codes:
            resp, rbase = self.resolver.deref(
                responses[code] if code in responses else responses[int(code)],
                rsbase,
                op_ptr,
            )
            if not isinstance(resp, dict):
                continue
            headers, header_text = self._headers(resp, rbase, op_ptr)
            if self.swagger2:
                produces = (
                    op.get("produces")
                    or self.doc.get("produces")
                    or ["application/json"]
                )
                schema = resp.get("schema")
                if not any(_is_json(c) for c in produces):
                    raise _NotJson(
                        f"{code} response is {', '.join(produces)}; not a table"
                    )
                examples = (
                    resp.get("examples")
                    if isinstance(resp.get("examples"), dict)
                    else {}
                )
                example = next(
                    (v for k, v in sorted(examples.items()) if _is_json(str(k))), None
                )
                if isinstance(schema, dict):
                    self._check_schema_ref(schema, rbase, op_ptr)
                    return (
                        code,
                        Node(schema, rbase),
                        list(produces),
                        headers,
                        example,
                        header_text,
                    )
                continue
            content, cbase = self.resolver.deref(
                resp.get("content") or {}, rbase, op_ptr
            )
            content = content if isinstance(content, dict) else {}
            types = sorted(content)
            json_types = [c for c in types if _is_json(c)]
            if types and not json_types:
                raise _NotJson(
                    f"binary or non-JSON response ({', '.join(types)}); not a table"
                )
            for ctype in json_types:
                media, mbase = self.resolver.deref(content[ctype], cbase, op_ptr)
                if isinstance(media, dict) and isinstance(media.get("schema"), dict):
                    self._check_schema_ref(media["schema"], mbase, op_ptr)
                    example = self._media_example(media, mbase, op_ptr)
                    return (
                        code,
                        Node(media["schema"], mbase),
                        types,
                        headers,
                        example,
                        header_text,
                    )
            if json_types:
                media, mbase = self.resolver.deref(
                    content[json_types[0]], cbase, op_ptr
                )
                example = (
                    self._media_example(media, mbase, op_ptr)
                    if isinstance(media, dict)
                    else None
                )
                return code, None, types, headers, example, header_text
        raise _NotJson("no JSON success response; not a table")

    def _headers(
        self, resp: dict, base: str, op_ptr: str
    ) -> tuple[list[str], dict[str, str]]:
        raw, hbase = self.resolver.deref(resp.get("headers") or {}, base, op_ptr)
        text: dict[str, str] = {}
        for name, header in raw.items() if isinstance(raw, dict) else []:
            try:
                value, _ = self.resolver.deref(header, hbase, op_ptr)
            except RefError:
                value = {}
            text[str(name).lower()] = (
                str(value.get("description") or "") if isinstance(value, dict) else ""
            )
        return sorted(text), text

    def _media_example(self, media: dict, base: str, op_ptr: str) -> object:
        """A media type's example: `example`, else the first of `examples` (by $ref too)."""
        if "example" in media:
            return media["example"]
        examples = media.get("examples")
        for _name, entry in (
            sorted(examples.items()) if isinstance(examples, dict) else []
        ):
            try:
                value, _ = self.resolver.deref(entry, base, op_ptr)
            except RefError:
                continue
            if isinstance(value, dict) and "value" in value:
                return value["value"]
        return None

    def _check_schema_ref(self, schema: dict, base: str, op_ptr: str) -> None:
        """A dangling response schema makes the operation unusable: the RefError skips it
        with a located warning. A refs-only cycle is kept (its rows are simply unknown; the
        loader has already warned where the cycle is)."""
        try:
            self.resolver.deref(schema, base, op_ptr)
        except RefCycleError:
            pass


class _NotJson(Exception):
    pass


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _is_json(content_type: str) -> bool:
    ctype = content_type.split(";")[0].strip().lower()
    return ctype in JSON_TYPES or ctype.endswith("+json") or ctype == "*/*"
