"""`$ref` resolution across one or many files, cycle-safe and lazy.

Refs are followed only when asked for, so circular schemas cost nothing until walked, and
walkers keep their own visited sets. Refs to URLs or to files outside the spec's folder are
refused (spec text is untrusted) unless `allow_external` is set.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from generator.spec.parse import read_file, spec_error


class RefError(Exception):
    """A `$ref` that cannot be followed (dangling, or pointing at nothing)."""


class RefCycleError(RefError):
    """`$ref`s that only point at each other (X -> Y -> X): no schema at the end."""


class Resolver:
    def __init__(
        self,
        root: object,
        root_file: Path | None,
        *,
        allow_external: bool = False,
        root_label: str | None = None,
    ):
        self.root_file = root_file.resolve() if root_file else None
        self.root_label = (
            root_label  # how the user named the root file (messages say it so)
        )
        self.root_dir = self.root_file.parent if self.root_file else None
        self.allow_external = allow_external
        self.docs: dict[str, object] = {self.key(root_file): root}
        self.raw_bytes: dict[str, bytes] = {}

    @staticmethod
    def key(file: Path | None) -> str:
        return str(file.resolve()) if file else "<root>"

    @property
    def root_key(self) -> str:
        return self.key(self.root_file)

    def display(self, key: str) -> str:
        """A file as messages name it: as the user named the root file, others beside it."""
        if key == self.root_key and self.root_label:
            return self.root_label
        if self.root_dir and Path(key).is_relative_to(self.root_dir):
            rel = Path(key).relative_to(self.root_dir)
            if self.root_label and "://" not in self.root_label:
                return str(Path(self.root_label).parent / rel)
            return str(rel)
        return key

    def _document(self, base_key: str, file_part: str, where: str) -> str:
        if not file_part:
            return base_key
        if "://" in file_part or file_part.startswith("//"):
            if not self.allow_external:
                raise spec_error(
                    self.display(base_key), where, f"$ref to a URL refused: {file_part}"
                )
            raise spec_error(
                self.display(base_key),
                where,
                f"$ref to a URL is not supported: {file_part}",
            )
        if base_key == "<root>":
            raise spec_error(
                "<spec>",
                where,
                f"relative $ref {file_part!r} in a spec that has no folder",
            )
        target = (Path(base_key).parent / unquote(file_part)).resolve()
        if (
            not self.allow_external
            and self.root_dir
            and not target.is_relative_to(self.root_dir)
        ):
            raise spec_error(
                self.display(base_key),
                where,
                f"$ref to a file outside the spec's folder refused: {file_part} "
                "(--allow-external-refs follows it)",
            )
        tkey = str(target)
        if tkey not in self.docs:
            if not target.exists():
                raise RefError(f"dangling $ref {file_part!r}: no such file")
            data, doc = read_file(target)
            self.raw_bytes[tkey] = data
            self.docs[tkey] = doc
        return tkey

    def resolve(
        self, ref: str, base_key: str, where: str = ""
    ) -> tuple[object, str, str]:
        """One `$ref` -> (target node, the file it lives in, its JSON pointer)."""
        if not isinstance(ref, str):
            raise RefError(f"$ref is not a string: {ref!r}")
        file_part, _, frag = ref.partition("#")
        doc_key = self._document(base_key, file_part, where)
        node = self.docs[doc_key]
        frag = unquote(frag)
        if frag and not frag.startswith("/"):
            raise RefError(f"unsupported $ref fragment {ref!r}")
        for raw in frag.split("/")[1:] if frag else []:
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                raise RefError(f"dangling $ref {ref!r}")
        return node, doc_key, frag or "/"

    def deref(self, node: object, base_key: str, where: str = "") -> tuple[object, str]:
        """Follow `$ref` chains at the top of `node` (not inside it). Cycle-safe."""
        seen: set[tuple[str, str]] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            mark = (base_key, str(ref))
            if mark in seen:
                raise RefCycleError(f"$ref cycle through {ref!r}")
            seen.add(mark)
            node, base_key, _ = self.resolve(ref, base_key, where)
        return node, base_key

    def check_all(self) -> list[tuple[str, str, str]]:
        """Check every `$ref` of every reachable file now, before anything (the structural
        validator included) follows one. A refused ref anywhere is fatal (SpecError) even if
        no operation uses it, so no file outside the folder and no URL is ever opened.
        Returns dangling refs and ref-only cycles as (file, JSON pointer, message) for located
        warnings;
        files in the folder that refs name are read (through the safe parser) on the way."""
        dangling: list[tuple[str, str, str]] = []
        todo, done = [self.root_key], set()
        while todo:
            key = todo.pop()
            if key in done:
                continue
            done.add(key)
            for ref, where in _refs(self.docs[key]):
                try:
                    target, doc_key, _ = self.resolve(ref, key, where)
                    self.deref(target, doc_key, where)  # a chain of refs that loops
                except RefCycleError as exc:
                    dangling.append(
                        (
                            self.display(key),
                            where,
                            f"{exc}: these refs name only each other",
                        )
                    )
                    continue
                except RefError as exc:
                    dangling.append(
                        (self.display(key), where, f"{exc}; what needs it is skipped")
                    )
                    continue
                if doc_key not in done:
                    todo.append(doc_key)
        return sorted(dangling)

    def files(self) -> list[str]:
        return sorted(self.display(k) for k in self.docs)


# Keys whose values are data (examples, defaults, enums) or vendor extensions, never
# references: a `$ref` inside them is text (GitHub's SCIM examples hold URL `$ref`s).
DATA_KEYS = frozenset({"example", "default", "enum", "const"})
# Maps whose keys are names chosen by the spec's author (a property may be called `default`).
NAME_MAPS = frozenset(
    {
        "properties",
        "patternProperties",
        "$defs",
        "definitions",
        "schemas",
        "parameters",
        "responses",
        "headers",
        "links",
        "callbacks",
        "securitySchemes",
        "requestBodies",
        "pathItems",
        "paths",
        "content",
        "encoding",
        "variables",
        "webhooks",
    }
)


def _refs(doc: object) -> list[tuple[object, str]]:
    """(ref, JSON pointer) of every `$ref` outside example values and extensions, sorted by
    pointer. Iterative; pointer strings are built only for the refs found."""
    out: list[tuple[str, str]] = []
    # (node, its key, the parent's entry) - a linked path, so walking costs no strings.
    stack: list[tuple[object, object, tuple | None]] = [(doc, None, None)]
    while stack:
        entry = stack.pop()
        node, key, parent = entry
        if isinstance(node, dict):
            names = key in NAME_MAPS
            if "$ref" in node and (isinstance(node["$ref"], str) or not names):
                out.append((node["$ref"], _pointer_of(entry)))
            example = parent is not None and parent[1] == "examples"
            for k, v in node.items():
                if not isinstance(v, (dict, list)):
                    continue
                if not names and (
                    k in DATA_KEYS
                    or str(k).startswith("x-")
                    or (example and k == "value")
                ):
                    continue
                if k == "examples" and not names and isinstance(v, list):
                    continue  # JSON Schema's `examples`: a list of data values
                stack.append((v, k, entry))
        elif isinstance(node, list):
            stack.extend(
                (v, i, entry) for i, v in enumerate(node) if isinstance(v, (dict, list))
            )
    return sorted(out, key=lambda item: item[1])


def _pointer_of(entry: tuple) -> str:
    tokens: list[str] = []
    while entry is not None and entry[2] is not None:
        tokens.append(str(entry[1]).replace("~", "~0").replace("/", "~1"))
        entry = entry[2]
    return "".join("/" + t for t in reversed(tokens))
