"""Read one spec file into plain Python data, with located errors for bad input.

Spec files are untrusted. Before a parser builds anything, a cheap scan bounds what the
parsers and every later walker could choke on: nesting deeper than `MAX_NESTING` (the C
parsers recurse and would crash the process), YAML aliases that expand into billions of
nodes, and aliases that point into themselves (a cyclic document loops every walker).
Parse errors name the file, the JSON pointer of the value being read, and line/column.

YAML is slow to parse (Okta's 3.5 MB spec: ~3 s, against 0.04 s for the same data as JSON),
so a YAML file that parsed cleanly is kept as JSON in the cache, keyed by the sha256 of its
bytes: a later run (or the background validator) reads the JSON. Only data that comes back
from JSON equal to what YAML gave is kept (YAML dates or ints beyond 64 bits are not).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import sys
import threading
from pathlib import Path

import orjson
import yaml

from generator.errors import SpecError

try:
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _BaseLoader = yaml.SafeLoader

# Containers nested inside each other. Deep enough for any real schema (Stripe: 23), low
# enough that the C parsers (libyaml's composer, orjson) stay far from the C stack's end.
MAX_NESTING = 10_000
# Messages name at most this many pointer tokens (an ancestor of the place, still valid).
MAX_POINTER_TOKENS = 24
# Nodes a YAML document may have once its aliases are expanded (a "billion laughs" bomb
# expands ~10^9). Real specs expand to well under a million.
MAX_EXPANDED_NODES = 5_000_000

# orjson refuses JSON nested deeper than 1,024 levels; such documents (up to
# MAX_NESTING) are read by the stdlib parser on a thread whose stack and recursion limit
# fit them.
_DEEP_JSON_STACK = 512 * 1024 * 1024  # address space; only touched as deep as used
_DEEP_JSON_LOCK = threading.Lock()

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = bytes(c for c in range(256) if c not in b"[]{}")
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"\x01\x01\x00\x00")
_NO_KEY = object()


class _ComplexKey:
    """Stands in for a YAML key that is a list or mapping (`? [a, b]`), so the key check
    can report it with its pointer instead of the YAML library failing without one."""

    def __init__(self, value: object, line: int) -> None:
        self.value, self.line = value, line

    def __repr__(self) -> str:
        return f"{self.value!r} (line {self.line})"


class _Loader(_BaseLoader):
    def construct_mapping(self, node, deep=False):  # noqa: ANN001 - PyYAML's signature
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        out = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                key = _ComplexKey(key, key_node.start_mark.line + 1)
            out[key] = self.construct_object(value_node, deep=deep)
        return out


def printable(text: object) -> str:
    """`text` safe to print on one terminal line: control, format (bidi overrides) and line
    separator characters become `\\xNN` / `\\uNNNN` escapes. Spec text reaches messages
    through here, so a key cannot forge extra output lines or send escape sequences."""
    s = str(text)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else _escape_char(ch) for ch in s)


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def spec_error(file: str, pointer: str, message: str) -> SpecError:
    """A SpecError whose every part is printable (see `printable`)."""
    return SpecError(printable(file), printable(pointer), printable(message))


# Part of the YAML cache's file names: bump it when parsing or key normalising changes.
YAML_CACHE_VERSION = 1


def parse_bytes(data: bytes, file: str, cache: Path | None = None) -> object:
    """JSON or YAML text -> Python data. Raises SpecError naming the file and place.
    `cache`: a folder where YAML parsed before is kept as JSON (module docstring)."""
    if not data.strip():
        raise spec_error(file, "", "empty file")
    if b"\x00" in data[:8192]:
        raise spec_error(
            file, "", "binary file (NUL bytes); expected JSON or YAML text"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise spec_error(file, "", f"not UTF-8 text (byte {exc.start})") from None
    if text.lstrip()[:1] in ("{", "["):
        try:  # orjson stops far below MAX_NESTING, so text it parses is within it
            return orjson.loads(data.lstrip(b"\xef\xbb\xbf"))
        except orjson.JSONDecodeError as exc:
            depth = json_depth(data)
            if depth > MAX_NESTING:
                raise spec_error(
                    file, "", f"nested {depth} levels deep; the limit is {MAX_NESTING}"
                ) from None
            too_deep = any(
                word in str(exc).lower() for word in ("recursion", "depth limit")
            )
            is_json = file.lower().endswith(".json")
            if too_deep:
                try:
                    return _deep_json(text.lstrip("\ufeff"), file)
                except SpecError:
                    if is_json:
                        raise
            elif is_json:
                raise _malformed_json(text, file, exc) from None
            # Flow-style YAML in a .yaml file: the YAML path decides.
    kept = None
    if cache is not None:
        sha = hashlib.sha256(data).hexdigest()
        kept = cache / f"{sha}-v{YAML_CACHE_VERSION}.json"
        try:
            return orjson.loads(kept.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            pass
    _check_yaml(text, file)
    try:
        loaded = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:  # _check_yaml saw the same text parse; defensive
        raise spec_error(file, "", f"malformed YAML: {exc}") from None
    result = _normalise_keys(loaded, file)
    if kept is not None:
        _keep_as_json(result, kept)
    return result


def _keep_as_json(result: object, kept: Path) -> None:
    try:
        text = orjson.dumps(result)
    except (TypeError, orjson.JSONEncodeError):  # a cycle, an int beyond 64 bits
        return
    if orjson.loads(text) != result:  # dates and the like would come back as strings
        return
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = kept.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(text)
        os.replace(tmp, kept)
    except OSError:
        pass  # a read-only cache costs time, not correctness


def _malformed_json(text: str, file: str, exc: ValueError) -> SpecError:
    reason = str(exc).split(": line ")[0]
    where = _yaml_pointer(text, until=exc.pos)
    return spec_error(
        file,
        where,
        f"malformed JSON at line {exc.lineno}, column {exc.colno}: {reason}",
    )


def _deep_json(text: str, file: str) -> object:
    """JSON nested deeper than orjson's limit and within MAX_NESTING: the stdlib parser
    recurses once per level, so it runs on a thread with a big stack and a recursion
    limit raised above MAX_NESTING for the time of the parse."""
    outcome: list = []

    def parse() -> None:
        try:
            outcome.append(json.loads(text))
        except (ValueError, RecursionError) as exc:
            outcome.append(exc)

    with _DEEP_JSON_LOCK:
        limit, stack = sys.getrecursionlimit(), threading.stack_size()
        sys.setrecursionlimit(max(limit, 2 * MAX_NESTING + 1_000))
        threading.stack_size(_DEEP_JSON_STACK)
        try:
            worker = threading.Thread(target=parse, name="deep-json")
            worker.start()
        finally:
            threading.stack_size(stack)
        worker.join()
        sys.setrecursionlimit(limit)
    result = outcome[0]
    if isinstance(result, json.JSONDecodeError):
        raise _malformed_json(text, file, result)
    if isinstance(result, RecursionError):
        raise spec_error(
            file,
            "",
            "nested deeper than the JSON parser's recursion "
            f"limit ({2 * MAX_NESTING + 1_000})",
        )
    if isinstance(result, ValueError):
        raise spec_error(file, "", f"malformed JSON: {result}")
    return result


def json_depth(data: bytes) -> int:
    """How deeply the JSON text nests containers, without parsing it (strings skipped)."""
    if data.count(b"[") + data.count(b"{") <= MAX_NESTING:
        return 0  # cannot be deeper than the limit
    brackets = (
        _JSON_STRING.sub(b"", data).translate(None, _NOT_BRACKET).translate(_OPEN_CLOSE)
    )
    steps = (1 if b else -1 for b in brackets)
    return max(itertools.accumulate(steps), default=0)


class _Frame:
    __slots__ = ("anchor", "depth", "index", "is_map", "key", "nodes")

    def __init__(self, is_map: bool, anchor: str | None) -> None:
        self.is_map, self.anchor = is_map, anchor
        self.key: object = _NO_KEY  # map: key whose value is being read
        self.index = 0  # sequence: index of the next item
        self.nodes = 1  # nodes below and including this container, aliases expanded
        self.depth = 1  # containers nested below and including this one


class _Scan:
    """One pass over libyaml's event stream (iterative, so any depth is safe) that tracks
    where it is as a JSON pointer, the nesting depth and the alias-expanded size."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.stack: list[_Frame] = []
        self.sizes: dict[str, tuple[int, int]] = {}  # anchor -> (nodes, depth)
        self.open_anchors: set[str] = set()
        self.total = 0

    def pointer(self) -> str:
        tokens: list[str] = []
        for i, f in enumerate(self.stack):
            last = i == len(self.stack) - 1
            if f.is_map and f.key is not _NO_KEY:
                tokens.append(str(f.key))
            elif not f.is_map and not last:
                tokens.append(str(f.index))
        return "".join("/" + _esc(t) for t in tokens[:MAX_POINTER_TOKENS])

    def fail(self, message: str) -> None:
        raise spec_error(self.file, self.pointer(), message)

    def _done(self, nodes: int, depth: int, key: object = "?") -> None:
        """An item (scalar, alias or whole container) finished inside the current frame."""
        self.total = max(self.total, nodes)
        if not self.stack:
            return
        top = self.stack[-1]
        top.nodes += nodes
        top.depth = max(top.depth, depth + 1)
        if len(self.stack) + depth > MAX_NESTING:
            self.fail(
                f"nested more than {MAX_NESTING} levels deep (counting YAML aliases)"
            )
        if top.nodes > MAX_EXPANDED_NODES:
            self.fail(
                f"YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes; refusing it"
            )
        if top.is_map:
            top.key = key if top.key is _NO_KEY else _NO_KEY
        else:
            top.index += 1

    def event(self, ev: yaml.Event) -> None:
        kind = type(ev)
        if kind is yaml.ScalarEvent:
            if ev.anchor:
                self.sizes[ev.anchor] = (1, 0)
            self._done(1, 0, ev.value)
        elif kind is yaml.AliasEvent:
            if ev.anchor in self.open_anchors:
                self.fail(
                    f"YAML alias *{ev.anchor} refers to a node that contains it (a cycle)"
                )
            nodes, depth = self.sizes.get(ev.anchor, (1, 0))
            self._done(nodes, depth)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            if len(self.stack) >= MAX_NESTING:
                mark = ev.start_mark
                self.fail(
                    f"nested more than {MAX_NESTING} levels deep (at line {mark.line + 1}, "
                    f"column {mark.column + 1})"
                )
            self.stack.append(_Frame(kind is yaml.MappingStartEvent, ev.anchor))
            if ev.anchor:
                self.open_anchors.add(ev.anchor)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            frame = self.stack.pop()
            if frame.anchor:
                self.open_anchors.discard(frame.anchor)
                self.sizes[frame.anchor] = (frame.nodes, frame.depth)
            self._done(frame.nodes, frame.depth)


def _check_yaml(text: str, file: str) -> None:
    """Bound depth and alias expansion, and locate syntax errors, before composing."""
    scan = _Scan(file)
    try:
        for ev in yaml.parse(text, Loader=_BaseLoader):
            scan.event(ev)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise spec_error(
            file, scan.pointer(), f"malformed YAML{place}: {exc.problem}"
        ) from None
    except yaml.YAMLError as exc:
        raise spec_error(file, scan.pointer(), f"malformed YAML: {exc}") from None


def _yaml_pointer(text: str, *, until: int) -> str:
    """The JSON pointer of the value being read at character `until` (a JSON parser's
    error position), found by reading the same text as YAML up to there; "" if unknown."""
    scan = _Scan("")
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    try:
        for ev in yaml.parse(text, Loader=_BaseLoader):
            # A container closing right at the error is still open for it (orjson reports a
            # trailing comma at the comma or just past the bracket, by version).
            if ev.start_mark.index >= until - isinstance(ev, ends):
                return scan.pointer()
            scan.event(ev)
    except (yaml.YAMLError, SpecError):
        if scan.stack:
            return scan.pointer()
    return ""


def _normalise_keys(root: object, file: str) -> object:
    """YAML allows non-string keys. Numbers and booleans (`200:` response codes) become
    strings; anything else (lists, maps, null) is refused. Iterative: no recursion limit."""
    stack: list[tuple[object, str]] = [(root, "")]
    seen: set[int] = set()  # aliased nodes are shared: check each once
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            bad = [k for k in node if not isinstance(k, str)]
            for key in bad:
                if isinstance(key, bool):
                    new = "true" if key else "false"
                elif isinstance(key, (int, float)):
                    new = str(key)
                else:
                    raise spec_error(
                        file, where, f"non-string key {key!r}; keys must be strings"
                    )
                if new in node:
                    raise spec_error(
                        file, where, f"key {key!r} duplicates the key {new!r}"
                    )
                node[new] = node.pop(key)
            for key, value in node.items():
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{where}/{_esc(key)}"))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, (dict, list)):
                    stack.append((value, f"{where}/{i}"))
    return root


def _esc(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def read_file(path: Path, cache: Path | None = None) -> tuple[bytes, object]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise spec_error(str(path), "", "no such file") from None
    except IsADirectoryError:
        raise spec_error(
            str(path), "", "is a directory, expected a spec file"
        ) from None
    except OSError as exc:
        raise spec_error(str(path), "", f"cannot read: {exc.strerror}") from None
    return data, parse_bytes(data, str(path), cache)
