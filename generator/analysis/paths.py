"""Reading URL path templates: literal segments, parameters, versions, and the tenant scope.

Naming and fan-out both need the same reading of a path, so it lives here once:
- version segments (`v1`, `2010-04-01`, `api`, a `{apiVersion}` parameter with a default)
  carry no meaning for a table name;
- file extensions (`Calls.json`) are dropped;
- the *scope*: leading parameters that name the tenant the credentials belong to
  (`/repos/{owner}/{repo}`, `/Accounts/{AccountSid}`, `/orgs/{org}`, `/accounts/{account_id}`).
  They are filled from the source config rather than fanned out over, and they do not
  prefix table names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from generator.analysis.schema_utils import tokens

EXTENSIONS = (".json", ".xml", ".csv", ".yaml", ".yml", ".txt")
VERSION_RE = re.compile(
    r"^(v\d+([._]\d+)*([a-z]+\d*)?|\d{4}-\d{2}(-\d{2})?|api|rest)$", re.I
)
# Words that mark a parameter as the tenant the credentials act within.
SCOPE_WORDS = {
    "account",
    "org",
    "organization",
    "organisation",
    "enterprise",
    "tenant",
    "workspace",
    "owner",
    "repo",
    "username",
}
PARAM_RE = re.compile(r"^\{([^}]+)\}$")


@dataclass(frozen=True)
class Segment:
    text: str  # literal text (extension dropped) or the parameter name
    is_param: bool


@functools.lru_cache(maxsize=8192)
def split(path: str) -> tuple[Segment, ...]:
    """The segments of a path template (cached: every rule reads paths)."""
    out: list[Segment] = []
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts):
        m = PARAM_RE.match(part)
        if m:
            out.append(Segment(m.group(1), True))
            continue
        if i == len(parts) - 1:
            low = part.lower()
            for ext in EXTENSIONS:
                if low.endswith(ext) and len(part) > len(ext):
                    part = part[: -len(ext)]
                    break
        m = PARAM_RE.match(part)  # `{AccountSid}.json`: a parameter with an extension
        if m:
            out.append(Segment(m.group(1), True))
            continue
        out.append(Segment(part, False))
    return tuple(out)


def is_version_param(name: str, default_or_enum: bool) -> bool:
    words = tokens(name)
    return bool(words) and words[-1] == "version" and default_or_enum


def is_scope_word_param(name: str) -> bool:
    words = tokens(name)
    return bool(words) and (
        words[0] in SCOPE_WORDS or (len(words) <= 2 and words[-1] in SCOPE_WORDS)
    )


def strip_versions(segs: Sequence[Segment], version_params: set[str]) -> list[Segment]:
    """Drop leading version-like literals and version parameters."""
    out = list(segs)
    while out and (
        (not out[0].is_param and VERSION_RE.match(out[0].text))
        or (out[0].is_param and out[0].text in version_params)
    ):
        out.pop(0)
    return out


def scope_length(segs: Sequence[Segment]) -> int:
    """How many leading segments form the tenant scope (literal + scope params runs)."""
    end = 0
    i = 0
    while i < len(segs):
        j = i
        while j < len(segs) and not segs[j].is_param:
            j += 1
        if j == len(segs) or j - i > 2:
            break
        k = j
        while k < len(segs) and segs[k].is_param and is_scope_word_param(segs[k].text):
            k += 1
        if k == j or (k < len(segs) and segs[k].is_param):
            break
        end = k
        i = k
    return end


def scope_params(segs: Sequence[Segment]) -> list[str]:
    return [s.text for s in segs[: scope_length(segs)] if s.is_param]
