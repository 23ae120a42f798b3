"""Turning untrusted spec text into Python source safely.

Spec strings reach generated code only through `py()` (a Python literal made by repr, which
escapes quotes, backslashes, newlines and NULs) or `comment()` (one line, control characters
removed). Identifiers go through `identifier()`, which keeps only `[A-Za-z0-9_]`.
"""

from __future__ import annotations

import keyword
import math
import re
import unicodedata

_NON_IDENT = re.compile(r"[^0-9a-zA-Z_]+")


def py(value: object) -> str:
    """A Python literal for plain data (str, int, float, bool, None, list, tuple, dict)."""
    if isinstance(value, float) and not math.isfinite(value):
        # repr gives `nan` / `inf`, which are names (NameError) in Python source; YAML has them.
        return f'float("{value}")'
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(py(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot render {type(value).__name__} as a literal")


def comment(text: object, limit: int = 200) -> str:
    """One line of text safe inside a `#` comment, a Markdown table cell (after `md_cell`)
    and a `\"\"\"` docstring (templates put spec titles in docstrings): control and line
    separator characters become spaces, `"` becomes `'` (so nothing can close the
    docstring) and `\\` is doubled (so no escape sequence forms and a docstring still reads
    the original backslash)."""
    s = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in str(text))
    s = " ".join(s.split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s.replace("\\", "\\\\").replace('"', "'")


def md_cell(text: object, limit: int = 200) -> str:
    return (
        comment(text, limit).replace("|", "\\|").replace("`", "'").replace("<", "&lt;")
    )


def identifier(raw: str, *, fallback: str = "field") -> str:
    """A deterministic Python identifier: non-identifier runs become `_`, a leading digit
    gets a prefix, keywords get a trailing `_`."""
    name = _NON_IDENT.sub("_", raw).strip("_") or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def class_name(raw: str) -> str:
    parts = [p for p in re.split(r"[^0-9a-zA-Z]+", raw) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts) or "Source"
    return name if not name[0].isdigit() else "S" + name
