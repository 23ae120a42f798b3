"""Where the rows are in a response, what one row looks like, and whether it is a list.

Patterns recognised, in order:
- `root_array`: the body is the array (`$`).
- `jsonapi_data`: JSON:API documents, `data` holding resource objects with `attributes`;
  rows are flattened to `id`, `type`, the attributes, then `relationships`/`links` as json.
- `envelope_property`: a conventional envelope name (`data`, `results`, `items`, `records`,
  `entries`, `result`, ...) holding an array.
- `single_array_beside_paging`: the one array property of an object whose other properties
  are paging metadata (`{calls: [...], next_page_uri, page}`, `{total_count, workflow_runs}`).
- `nested_envelope`: the same patterns one or two objects down (`result.items`, `albums.items`).
- `stated_results_path`: a vendor extension names the rows (`resultsPath`, `itemName`).
- `example_rows`: where the schema declares no rows (an open `{ok: true}` template) the
  response example shows them; the example's shape is merged under the schema.
- `paged_array`: the operation takes a position parameter (it pages), so the rows are the one
  array it moves over: the array of objects nearest the top, preferring one named like the path.
Anything else is a single object: not a list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.analysis.schema_utils import FieldInfo, Schemas, column_type, tokens
from generator.spec.model import Node
from runtime.catalog import Column

ENVELOPES = (
    "data",
    "results",
    "items",
    "records",
    "entries",
    "result",
    "elements",
    "values",
    "rows",
    "list",
    "objects",
    "content",
    "hits",
    "resources",
    "collection",
)

# Properties that describe a page rather than hold rows.
META_NAMES = {
    "total",
    "total_count",
    "totalcount",
    "count",
    "page",
    "pages",
    "page_size",
    "pagesize",
    "per_page",
    "perpage",
    "next",
    "next_page",
    "next_page_uri",
    "next_page_url",
    "next_url",
    "nexturl",
    "previous",
    "prev",
    "previous_page_uri",
    "previous_page_url",
    "previous_url",
    "first_page_uri",
    "first_page_url",
    "last_page_uri",
    "uri",
    "url",
    "href",
    "start",
    "end",
    "offset",
    "limit",
    "has_more",
    "hasmore",
    "cursor",
    "cursors",
    "next_cursor",
    "nextcursor",
    "meta",
    "metadata",
    "links",
    "_links",
    "paging",
    "pagination",
    "page_info",
    "pageinfo",
    "object",
    "success",
    "ok",
    "errors",
    "error",
    "messages",
    "warnings",
    "response_metadata",
    "result_info",
    "next_marker",
    "prev_marker",
    "marker",
    "first_id",
    "last_id",
    "itemstotal",
    "pagestotal",
    "total_pages",
    "totalpages",
    "total_results",
    "totalresults",
    "size",
    "number",
    "first",
    "last",
    "self",
    "kind",
    "etag",
    "cache_ts",
    "next_page_token",
    "nextpagetoken",
    "continuation_token",
    "nextlink",
    "odata_nextlink",
    "odata_count",
    "key",
    "type",
    "status",
    "results",
    "request_id",
    "took",
    "timed_out",
    "order",
    "included",
    "jsonapi",
    "version",
}
META_ARRAYS = {"errors", "messages", "warnings", "included", "order", "links"}


@dataclass
class Rows:
    selector: str = "$"
    row: Node | None = None
    is_list: bool = False
    jsonapi: bool = False
    object_rows: bool = False
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    columns: list[Column] = field(default_factory=list)
    why: str = ""
    resource_fields: dict[str, FieldInfo] = field(
        default_factory=dict
    )  # JSON:API attributes only
    body: Node | None = (
        None  # the response schema the rows were found in (with the example's shape)
    )


def find_rows(
    schemas: Schemas,
    response: Node | None,
    one_object_path: bool = False,
    *,
    paged: bool = False,
    example: object = None,
    results_path: str | None = None,
    path_words: tuple[str, ...] = (),
) -> Rows:
    """Decide the data selector and row schema of one success response body.

    `one_object_path`: the path ends in a parameter (`/profiles/{id}`), so an array nested in
    the returned object is that object's own list, not an envelope of rows, unless `paged`:
    the operation takes a position parameter, so some array in the body is paged.
    `example`: the response's JSON example; `results_path`: rows named by an extension."""
    if response is None and example is not None:
        response = Node(example_schema(example), "<example>")
    if response is None:
        return Rows(why="no response schema")
    found = _stated(schemas, response, results_path) if results_path else None
    if found is None:
        found = _find(schemas, response, "", 2 if one_object_path and not paged else 0)
        if (
            found is not None
            and one_object_path
            and not paged
            and "." in found.selector
        ):
            found = None
    if (
        found is None
        and example is not None
        and (paged or not schemas.properties(response))
    ):
        merged = Node(
            {"allOf": [example_schema(example), response.value]}, response.base
        )
        found = _find(schemas, merged, "", 0) if paged or not one_object_path else None
        if found is None and paged:
            found = _paged_array(schemas, merged, path_words)
        if found is not None:
            found.why += " (example_rows: shape from the response example)"
            found.body = merged
    if found is None and paged:
        found = _paged_array(schemas, response, path_words)
    rows = found if found is not None else _single(schemas, response)
    rows.body = rows.body or response
    _fill_fields(schemas, rows)
    return rows


def example_schema(value: object, depth: int = 0) -> dict:
    """A schema describing one JSON example value (objects, arrays of the first few items)."""
    if depth > 12:
        return {}
    if isinstance(value, dict):
        return {
            "type": "object",
            "properties": {
                str(k): example_schema(v, depth + 1) for k, v in value.items()
            },
        }
    if isinstance(value, list):
        items = [example_schema(v, depth + 1) for v in value[:5]]
        objects = [i for i in items if i.get("type") == "object"]
        if objects:
            merged: dict = {}
            for item in objects:
                for k, v in item["properties"].items():
                    merged.setdefault(k, v)
            return {"type": "array", "items": {"type": "object", "properties": merged}}
        return {"type": "array", "items": items[0] if items else {}}
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    return {}


def _stated(schemas: Schemas, response: Node, path: str) -> Rows | None:
    node: Node | None = response
    for part in path.split("."):
        node = schemas.properties(node).get(part) if node is not None else None
    if node is None or "array" not in schemas.types(node):
        return None
    return Rows(
        selector=path,
        row=schemas.items(node),
        is_list=True,
        why=f"stated_results_path: an extension names '{path}' as the rows",
    )


def _paged_array(
    schemas: Schemas, response: Node, path_words: tuple[str, ...]
) -> Rows | None:
    """The array a paged operation moves over: arrays up to three objects down, best first by
    (not a metadata name such as `errors` unless the path names it, rows are objects or
    undeclared, named like the path, nearest the top, name)."""
    found: list[tuple[tuple, str, Node | None]] = []

    def walk(node: Node, prefix: str, depth: int, seen: frozenset[int]) -> None:
        resolved = schemas.deref(node)
        if resolved is None or id(resolved.value) in seen or depth > 3:
            return
        seen = seen | {id(resolved.value)}
        for name, prop in schemas.properties(resolved).items():
            path = f"{prefix}.{name}" if prefix else name
            types = schemas.types(prop)
            if "array" in types:
                item = schemas.items(prop)
                item_types = schemas.types(item)
                objects = (
                    "object" in item_types
                    or bool(schemas.properties(item))
                    or not item_types
                )
                named = bool(set(tokens(name)) & set(path_words))
                meta = name.lower() in META_ARRAYS and not named
                found.append(((meta, not objects, not named, depth, path), path, item))
            elif "object" in types or schemas.properties(prop):
                walk(prop, path, depth + 1, seen)

    walk(response, "", 0, frozenset())
    if not found:
        return None
    _, path, item = min(found, key=lambda f: f[0])
    return Rows(
        selector=path,
        row=item,
        is_list=True,
        why=f"paged_array: the operation pages and '{path}' is the array it moves over",
    )


def _single(schemas: Schemas, response: Node) -> Rows:
    """A single object; a JSON:API document's resource is its `data` member."""
    data = schemas.properties(response).get("data")
    if data is not None and "attributes" in schemas.properties(data):
        return Rows(
            selector="data",
            row=schemas.deref(data),
            jsonapi=True,
            why="single object (jsonapi_data: one resource in 'data')",
        )
    return Rows(selector="$", row=schemas.deref(response), why="single object")


def _find(schemas: Schemas, node: Node, prefix: str, depth: int) -> Rows | None:
    types = schemas.types(node)
    props = schemas.properties(node)
    if "array" in types and not props:
        if depth and prefix:
            return None
        return Rows(
            selector="$",
            row=schemas.items(node),
            is_list=True,
            why="root_array: the body is an array",
        )
    if not props:
        return None
    arrays = {
        name: p
        for name, p in props.items()
        if schemas.types(p) == frozenset({"array"})
        or ("array" in schemas.types(p) and not schemas.properties(p))
    }
    path = (prefix + ".") if prefix else ""
    data = arrays.get("data")
    if data is not None:
        item = schemas.items(data)
        item_props = schemas.properties(item)
        if "attributes" in item_props and ("id" in item_props or "type" in item_props):
            return Rows(
                selector=path + "data",
                row=item,
                is_list=True,
                jsonapi=True,
                why=f"jsonapi_data: '{path}data' holds resource objects with attributes",
            )
    for name in ENVELOPES:
        if name in arrays and sum(not _is_meta(n) for n in props if n != name) <= 2:
            return Rows(
                selector=path + name,
                row=schemas.items(arrays[name]),
                is_list=True,
                why=f"envelope_property: array property '{path}{name}'",
            )
    candidates = [n for n in arrays if n.lower() not in META_ARRAYS] or list(arrays)
    others = [n for n in props if n not in arrays]
    if len(candidates) == 1 and all(_is_meta(n) for n in others):
        name = candidates[0]
        return Rows(
            selector=path + name,
            row=schemas.items(arrays[name]),
            is_list=True,
            why=f"single_array_beside_paging: '{path}{name}' is the only array beside paging metadata",
        )
    if depth >= 2:
        return None
    # nested_envelope: one object property (besides metadata) that itself holds the rows.
    objects = [
        n
        for n, p in props.items()
        if n not in arrays and "object" in schemas.types(p) and schemas.properties(p)
    ]
    preferred = [n for n in objects if n in ENVELOPES or n == "response"]
    pool = preferred or [n for n in objects if not _is_meta(n)]
    if len(pool) == 1 and all(_is_meta(n) for n in props if n != pool[0]):
        inner = _find(schemas, props[pool[0]], path + pool[0], depth + 1)
        if inner is not None:
            inner.why = inner.why.replace(
                ":", f" (nested_envelope under '{path}{pool[0]}'):", 1
            )
            return inner
    return None


def _is_meta(name: str) -> bool:
    low = name.lower().lstrip("@").replace(".", "_")
    return low in META_NAMES or low.startswith(
        ("next", "prev", "total", "page", "first", "last")
    )


def _fill_fields(schemas: Schemas, rows: Rows) -> None:
    row = rows.row
    if row is None:
        return
    types = schemas.types(row)
    props = schemas.fields(row)
    rows.object_rows = bool(props) or "object" in types
    if rows.jsonapi:
        attrs = schemas.properties(row).get("attributes")
        attr_fields = schemas.fields(attrs)
        rows.resource_fields = dict(attr_fields)
        merged: dict[str, FieldInfo] = {}
        for name in ("id", "type"):
            if name in props:
                merged[name] = props[name]
        for name, info in attr_fields.items():
            merged.setdefault(name, info)
        for name, info in props.items():
            if name not in ("attributes",):
                merged.setdefault(name, info)
        props = merged
    rows.fields = props
    rows.columns = [
        Column(name=name, type=column_type(info, schemas))
        for name, info in props.items()
    ]


def body_paths(
    schemas: Schemas, response: Node | None, rows: Rows, max_depth: int = 3
) -> dict[str, FieldInfo]:
    """Every property path of the response outside the rows (`has_more`, `links.next`, ...).
    Empty when the response is one row (a single object) or the rows are the whole body."""
    out: dict[str, FieldInfo] = {}
    if response is None or not rows.is_list or rows.selector == "$":
        return out
    selector = rows.selector

    def walk(node: Node, prefix: str, depth: int, seen: frozenset[int]) -> None:
        resolved = schemas.deref(node)
        if resolved is None or id(resolved.value) in seen or depth > max_depth:
            return
        seen = seen | {id(resolved.value)}
        required = schemas.required(resolved)
        for name, prop in schemas.properties(resolved).items():
            path = f"{prefix}.{name}" if prefix else name
            if path == selector:
                continue
            info = schemas.field_info(path, prop, name in required)
            out[path] = info
            if "object" in info.types or schemas.properties(prop):
                walk(prop, path, depth + 1, seen)

    walk(response, "", 1, frozenset())
    return out
