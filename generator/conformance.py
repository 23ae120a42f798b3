"""Check recorded response bodies against the operation's response schema in the vendor spec.

A cassette is only a good test if what it holds is what the API documents: a recording from an
emulator (or a vendor that drifted) that the spec does not describe would pin wrong behaviour.
So recording and replay hand every response to `ResponseChecker.check`, which validates the
body with openapi-core and fails with the endpoint, the request path and the JSON pointer of
the first mismatches.

openapi-core has no httpx adapter; `_Request` / `_Response` below implement the two protocols
it needs. Only response *data* is validated: request validation trips over deepObject filters
that are not even sent, and response headers are scrubbed out of cassettes anyway.

Known spec gaps are fixed in a copy of the spec before validation, never by skipping it:

- `normalise_nullable`: a schema with `nullable: true` and `anyOf`/`oneOf`/`allOf` (or a
  `$ref` sibling) rejects `null` in openapi-core, because the combinator's branches do not
  allow it. `{"enum": [null]}` is appended as one more branch, which says what `nullable`
  meant. A `nullable: true` enum without `null` among its values gets it (OpenAPI 3.0.3
  requires listing it; many specs do not).
- `normalise_identical_one_of`: a `oneOf` with two identical branches (after following local
  `$ref`s) can never match anything, since a value matching one matches both; the author
  meant `anyOf`, which is what it becomes.
- per source, from `tests/cassettes/<source>/conformance.yaml`, each entry with a JSON
  pointer and why: `enum_additions` (values the vendor sends but the spec's enum lacks, such
  as an error type) and `nullable` (a schema the vendor documents or sends as null but the
  spec types as non-null). Both are applied before the general step above.

The parsed spec is cached per process (`checker_for`), since parsing is the slow part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import yaml
from jsonschema.exceptions import best_match
from jsonschema_path import SchemaPath
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.response import validators

from generator.errors import GenSourceError
from generator.project import project_root
from generator.spec.loader import load

FIXES_FILE = "conformance.yaml"
MAX_REPORTED = 3


class ConformanceError(AssertionError):
    """A response body that its operation's response schema rejects (one line per problem)."""


# -- normalisation --------------------------------------------------------------------------


def normalise_nullable(node: Any) -> int:
    """Make `nullable: true` combinators and enums accept null, in place. Returns how many
    schemas changed."""
    changed = 0
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        stack.extend(item.values())
        if item.get("nullable") is not True:
            continue
        null = {"enum": [None]}
        if isinstance(item.get("enum"), list) and None not in item["enum"]:
            item["enum"].append(None)  # 3.0.3: a nullable enum must list null itself
            changed += 1
        for key in ("anyOf", "oneOf"):
            branches = item.get(key)
            if isinstance(branches, list) and null not in branches:
                branches.append(null)
                changed += 1
        if isinstance(item.get("allOf"), list):
            item["anyOf"] = [{"allOf": item.pop("allOf")}, null]
            changed += 1
        elif isinstance(item.get("$ref"), str):  # siblings of $ref are ignored in 3.0
            item["anyOf"] = [{"$ref": item.pop("$ref")}, null]
            changed += 1
    return changed


def normalise_identical_one_of(doc: dict) -> int:
    """Turn every `oneOf` with identical branches into `anyOf`, in place. Returns how many."""

    def resolved(branch: Any) -> bytes:
        seen = set()
        while (
            isinstance(branch, dict)
            and isinstance(branch.get("$ref"), str)
            and branch["$ref"].startswith("#/")
            and branch["$ref"] not in seen
        ):
            seen.add(branch["$ref"])
            try:
                branch = _resolve_pointer(doc, branch["$ref"][1:])
            except KeyError:
                break
        return orjson.dumps(branch, option=orjson.OPT_SORT_KEYS)

    changed = 0
    stack: list[Any] = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
            branches = item.get("oneOf")
            if isinstance(branches, list) and len(
                {resolved(b) for b in branches}
            ) < len(branches):
                item["anyOf"] = item.pop("oneOf")
                changed += 1
    return changed


def _resolve_pointer(doc: Any, pointer: str) -> Any:
    node = doc
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        key = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise KeyError(pointer)
    return node


def _fix_target(doc: dict, fix: dict, kind: str, index: int, where: str) -> dict:
    pointer = str(fix.get("pointer", ""))
    if not pointer or not str(fix.get("why", "")).strip():
        raise GenSourceError(f"{kind}[{index}] needs a pointer and why", where=where)
    try:
        node = _resolve_pointer(doc, pointer)
    except KeyError:
        raise GenSourceError(
            f"{kind}[{index}]: pointer {pointer} is not in the spec", where=where
        ) from None
    if not isinstance(node, dict):
        raise GenSourceError(f"{kind}[{index}]: {pointer} is not a schema", where=where)
    return node


def add_enum_values(doc: dict, fixes: list[dict], where: str) -> None:
    """Append missing enum values at the JSON pointers `fixes` name, in place. A pointer that
    does not reach an enum is an error (a stale fix must not rot silently)."""
    for index, fix in enumerate(fixes):
        node = _fix_target(doc, fix, "enum_additions", index, where)
        values = fix.get("values")
        if not isinstance(values, list) or not values:
            raise GenSourceError(
                f"enum_additions[{index}] needs values (a list)", where=where
            )
        if not isinstance(node.get("enum"), list):
            raise GenSourceError(
                f"enum_additions[{index}]: {fix['pointer']} has no enum", where=where
            )
        node["enum"].extend(v for v in values if v not in node["enum"])


def make_nullable(doc: dict, fixes: list[dict], where: str) -> None:
    """Let the schemas at the JSON pointers `fixes` name be null, in place (`nullable: true`;
    `normalise_nullable` then makes combinators and enums honour it)."""
    for index, fix in enumerate(fixes):
        node = _fix_target(doc, fix, "nullable", index, where)
        if node.get("nullable") is True:
            raise GenSourceError(
                f"nullable[{index}]: {fix['pointer']} is nullable already", where=where
            )
        node["nullable"] = True


def load_fixes(root: Path, source: str) -> tuple[dict, str]:
    """The per-source fixes file (empty when absent) and its path for messages."""
    path = root / "tests" / "cassettes" / source / FIXES_FILE
    label = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    if not path.is_file():
        return {}, label
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise GenSourceError(f"not valid YAML: {exc}", where=label) from None
    unknown = (
        set(data) - {"enum_additions", "nullable"} if isinstance(data, dict) else {"?"}
    )
    if unknown:
        raise GenSourceError(
            f"unknown keys {sorted(unknown)}; allowed: enum_additions, nullable",
            where=label,
        )
    return data, label


def normalised(doc: dict, fixes: dict, where: str) -> dict:
    """A normalised copy of a spec document (the original stays untouched)."""
    copy = orjson.loads(orjson.dumps(doc))
    add_enum_values(copy, fixes.get("enum_additions") or [], where)
    make_nullable(copy, fixes.get("nullable") or [], where)
    normalise_identical_one_of(copy)
    normalise_nullable(copy)
    return copy


# -- openapi-core protocols -----------------------------------------------------------------


@dataclass
class _Request:
    """openapi-core's Request protocol for a recorded GET (no body)."""

    host_url: str
    path: str
    path_pattern: str
    method: str = "get"
    body: bytes | None = None
    content_type: str = "application/json"
    parameters: Any = field(default=None)

    def __post_init__(self) -> None:
        self.parameters = RequestParameters()


@dataclass
class _Response:
    """openapi-core's Response protocol for a recorded response."""

    status_code: int
    content_type: str
    data: bytes | None
    headers: dict = field(default_factory=dict)


# -- the checker ----------------------------------------------------------------------------


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^{}]+\})", template)
    return re.compile(
        "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    )


def json_pointer(path: Any) -> str:
    return (
        "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path) or "/"
    )


class ResponseChecker:
    """Validates response bodies of one source's spec (build it with `checker_for`)."""

    def __init__(self, doc: dict, *, label: str) -> None:
        version = str(doc.get("openapi", ""))
        if not version.startswith("3."):
            raise GenSourceError(
                "response conformance needs an OpenAPI 3.x document", where=label
            )
        cls = (
            validators.V31ResponseDataValidator
            if version.startswith("3.1")
            else validators.V30ResponseDataValidator
        )
        self.label = label
        self._validator = cls(SchemaPath.from_dict(doc))
        server = (doc.get("servers") or [{"url": "http://localhost"}])[0]
        url = str(server.get("url", "/"))
        for name, var in (server.get("variables") or {}).items():
            url = url.replace("{" + name + "}", str(var.get("default", "")))
        parts = urlsplit(url if "://" in url else "http://localhost" + url)
        self._host = f"{parts.scheme}://{parts.netloc}"
        self._base_path = parts.path.rstrip("/")
        templates = [
            p
            for p, item in (doc.get("paths") or {}).items()
            if isinstance(item, dict) and "get" in item
        ]
        # Literal paths before templated ones: /v1/customers/search is not /v1/customers/{id}.
        templates.sort(key=lambda t: (t.count("{"), -len(t)))
        self._templates = [(t, _template_regex(t)) for t in templates]

    def operation_path(self, path: str) -> str | None:
        """The spec path template a request path belongs to (server base path tolerated)."""
        for candidate in (path, path.removeprefix(self._base_path)):
            for template, regex in self._templates:
                if regex.fullmatch(candidate):
                    return template
        for template, regex in self._templates:  # another base path in front (a proxy)
            if re.search(regex.pattern + r"\Z", path):
                return template
        return None

    def problems(
        self, url: str, status: int, content_type: str, body: bytes | None
    ) -> list[str]:
        """What is wrong with one response ([] when it conforms)."""
        path = urlsplit(url).path
        template = self.operation_path(path)
        if template is None:
            return [f"GET {path}: no GET operation in the spec matches this path"]
        request = _Request(
            self._host, self._base_path + path, self._base_path + template
        )
        mime = (content_type or "application/json").split(";")[0].strip().lower()
        response = _Response(status, mime, body)
        out = []
        for error in self._validator.iter_errors(request, response):
            schema_errors = getattr(error.__cause__, "schema_errors", None)
            if schema_errors:
                for item in schema_errors:
                    deepest = best_match(
                        [item]
                    )  # inside anyOf: the branch that came closest
                    out.append(
                        f"{json_pointer(deepest.absolute_path)}: {deepest.message[:160]}"
                    )
            else:
                out.append(f"{type(error).__name__}: {str(error)[:200]}")
        return [f"GET {template} -> {status}: {p}" for p in out]

    def check(
        self,
        url: str,
        status: int,
        content_type: str,
        body: bytes | None,
        *,
        endpoint: str = "",
    ) -> None:
        """Raise `ConformanceError` naming the endpoint, path and JSON pointer of mismatches."""
        found = self.problems(url, status, content_type, body)
        if found:
            more = (
                f" (and {len(found) - MAX_REPORTED} more)"
                if len(found) > MAX_REPORTED
                else ""
            )
            where = f"{endpoint}: " if endpoint else ""
            raise ConformanceError(
                f"{where}response does not match {self.label}: "
                + "; ".join(found[:MAX_REPORTED])
                + more
            )

    def __call__(
        self,
        url: str,
        status: int,
        content_type: str,
        body: bytes | None,
        *,
        endpoint: str = "",
    ) -> None:
        self.check(url, status, content_type, body, endpoint=endpoint)


@cache
def _cached(source: str, root: str) -> ResponseChecker:
    root_path = Path(root)
    loaded = load(source, root=root_path, validate_spec=False)
    fixes, where = load_fixes(root_path, source)
    label = f"{loaded.spec.file_label} (+ {where})" if fixes else loaded.spec.file_label
    return ResponseChecker(normalised(loaded.spec.doc, fixes, where), label=label)


def checker_for(source: str, root: Path | None = None) -> ResponseChecker:
    """The checker for a pinned source's spec (found via `specs/<source>.toml` and
    `GEN_SOURCE_SPECS`), parsed once per process."""
    return _cached(source, str((root or project_root()).resolve()))
