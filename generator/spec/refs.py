"""`$ref` resolution across one or many files, cycle-safe and lazy.

Refs are followed only when asked for, so circular schemas cost nothing until walked, and
walkers keep their own visited sets. Refs to URLs or to files outside the spec's folder are
refused (spec text is untrusted) unless `allow_external` is set.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from generator.errors import SpecError
from generator.spec.parse import read_file


class RefError(Exception):
    """A `$ref` that cannot be followed (dangling, or pointing at nothing)."""


class Resolver:
    def __init__(self, root: object, root_file: Path | None, *, allow_external: bool = False):
        self.root_file = root_file.resolve() if root_file else None
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
        if self.root_dir and key.startswith(str(self.root_dir)):
            return str(Path(key).relative_to(self.root_dir))
        return key

    def _document(self, base_key: str, file_part: str, where: str) -> str:
        if not file_part:
            return base_key
        if "://" in file_part or file_part.startswith("//"):
            if not self.allow_external:
                raise SpecError(self.display(base_key), where, f"$ref to a URL refused: {file_part}")
            raise SpecError(self.display(base_key), where, f"$ref to a URL is not supported: {file_part}")
        if base_key == "<root>":
            raise SpecError("<spec>", where, f"relative $ref {file_part!r} in a spec that has no folder")
        target = (Path(base_key).parent / unquote(file_part)).resolve()
        if not self.allow_external and self.root_dir and not target.is_relative_to(self.root_dir):
            raise SpecError(self.display(base_key), where,
                            f"$ref to a file outside the spec's folder refused: {file_part}")
        tkey = str(target)
        if tkey not in self.docs:
            if not target.exists():
                raise RefError(f"file not found: {file_part}")
            data, doc = read_file(target)
            self.raw_bytes[tkey] = data
            self.docs[tkey] = doc
        return tkey

    def resolve(self, ref: str, base_key: str, where: str = "") -> tuple[object, str, str]:
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
                raise RefError(f"$ref cycle through {ref!r}")
            seen.add(mark)
            node, base_key, _ = self.resolve(ref, base_key, where)
        return node, base_key

    def files(self) -> list[str]:
        return sorted(self.display(k) for k in self.docs)
