"""Read one spec file into plain Python data, with located errors for bad input."""

from __future__ import annotations

from pathlib import Path

import orjson
import yaml

from generator.errors import SpecError

try:
    _YamlLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _YamlLoader = yaml.SafeLoader


def parse_bytes(data: bytes, file: str) -> object:
    """JSON or YAML text -> Python data. Raises SpecError naming the file and place."""
    if not data.strip():
        raise SpecError(file, "", "empty file")
    if b"\x00" in data[:8192]:
        raise SpecError(file, "", "binary file (NUL bytes); expected JSON or YAML text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(file, "", f"not UTF-8 text (byte {exc.start})") from None
    if text.lstrip()[:1] in ("{", "["):
        try:
            return orjson.loads(data.lstrip(b"\xef\xbb\xbf"))
        except orjson.JSONDecodeError as exc:
            if "recursion" not in str(exc).lower():
                raise SpecError(file, "", f"malformed JSON: {exc}") from None
            # Nested deeper than orjson allows: libyaml parses JSON without recursion.
    try:
        loaded = yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        place = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(file, "", f"malformed YAML{place}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(file, "", f"malformed YAML: {exc}") from None
    except RecursionError:
        raise SpecError(file, "", "document nested too deeply to parse") from None
    return _normalise_keys(loaded, file)


def _normalise_keys(root: object, file: str) -> object:
    """YAML allows non-string keys. Numbers and booleans (`200:` response codes) become
    strings; anything else (lists, maps, null) is refused. Iterative: no recursion limit."""
    stack: list[tuple[object, str]] = [(root, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            bad = [k for k in node if not isinstance(k, str)]
            for key in bad:
                if isinstance(key, bool):
                    new = "true" if key else "false"
                elif isinstance(key, (int, float)):
                    new = str(key)
                else:
                    raise SpecError(file, where, f"non-string key {key!r}")
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


def read_file(path: Path) -> tuple[bytes, object]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(str(path), "", "no such file") from None
    except IsADirectoryError:
        raise SpecError(str(path), "", "is a directory, expected a spec file") from None
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read: {exc.strerror}") from None
    return data, parse_bytes(data, str(path))
