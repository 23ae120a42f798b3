"""Structural validation with openapi-spec-validator. Problems become located warnings
(published specs are often slightly invalid); `--strict` turns them into a failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from generator.errors import Warning, pointer
from generator.spec.parse import printable

MAX_REPORTED = 50
# Part of the cache key: bump it when the wording or the checks change, so cached results
# from an older gen-source are not shown.
CACHE_VERSION = 4


def cache_dir() -> Path:
    root = os.environ.get("GEN_SOURCE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "gen-source"
    )
    return Path(root)


def _cache_file(sha256: str) -> Path:
    return cache_dir() / "validation" / f"{sha256}-v{CACHE_VERSION}.json"


def labelled(found: list[Warning], label: str) -> list[Warning]:
    """Results are computed and cached without the spec's label (its `where` is "" or
    "#/pointer"), so what the cache holds depends only on the spec's bytes; the label of the
    file this run read is applied here."""
    return [
        Warning(where=printable(label + w.where), message=w.message, level=w.level)
        for w in found
    ]


def cached_result(sha256: str, label: str) -> list[Warning] | None:
    try:
        found = [Warning(**w) for w in json.loads(_cache_file(sha256).read_text())]
    except (OSError, ValueError, TypeError):
        return None
    return labelled(found, label)


class Background:
    """Validation in a child process, so it overlaps analysis and rendering (it is the
    slowest step on a cold run, and these machines have two cores). The child re-reads the
    spec from disk and writes the result to the same cache."""

    def __init__(self, path: Path, label: str, allow_external: bool) -> None:
        self.label = label
        argv = [sys.executable, "-m", "generator.spec.validate_child", str(path)]
        if allow_external:
            argv.append("--allow-external-refs")
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )

    def cancel(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()

    def result(self) -> list[Warning]:
        out, err = self.proc.communicate()
        if self.proc.returncode == 0:
            try:
                return labelled([Warning(**w) for w in json.loads(out)], self.label)
            except (ValueError, TypeError):
                pass
        last = (err.decode(errors="replace").strip().splitlines() or ["no output"])[-1][
            :160
        ]
        return [
            Warning(where=self.label, message=f"validation stopped: {printable(last)}")
        ]


def validate(
    doc: dict,
    *,
    base_uri: str,
    sha256: str,
    use_cache: bool = True,
    documents: dict[str, object] | None = None,
) -> list[Warning]:
    """Validate once per spec content; the result is cached by `sha256` (the caller hashes
    every file of a multi-file spec into it) and returned unlabelled (see `labelled`).
    `documents` maps the absolute paths of the other files, already read and checked, to
    their data: the validator reads refs only from there, so it never opens a file or a
    URL itself."""
    cached = _cache_file(sha256)
    if use_cache:
        hit = cached_result(sha256, "")
        if hit is not None:
            return hit
    found = _run_validator(doc, base_uri, documents or {})
    if use_cache:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps([w.__dict__ for w in found]))
            os.replace(tmp, cached)
        except OSError:
            pass
    return found


class _LoadedFiles:
    """A ref handler serving only documents the loader has read and checked."""

    def __init__(self, documents: dict[str, object]) -> None:
        self.documents = documents

    def __call__(self, uri: str) -> object:
        parsed = urlsplit(uri)
        path = (
            str(Path(unquote(parsed.path)).resolve())
            if parsed.scheme == "file"
            else None
        )
        if path not in self.documents:
            raise ValueError(
                f"$ref to {uri} was not loaded by gen-source; not followed"
            )
        return self.documents[path]


def _run_validator(
    doc: dict, base_uri: str, documents: dict[str, object]
) -> list[Warning]:
    # Imported here: openapi-spec-validator takes ~2.7 s to import; a cold run validates
    # in a child process (`Background`) and a cached result needs no validator at all.
    from openapi_spec_validator import (
        OpenAPIV2SpecValidator,
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
    )

    if str(doc.get("swagger", "")).startswith("2"):
        cls = OpenAPIV2SpecValidator
    elif str(doc.get("openapi", "")).startswith("3.1"):
        cls = OpenAPIV31SpecValidator
    else:
        cls = OpenAPIV30SpecValidator
    # Only the loader's documents: no file reads, no network (the defaults fetch URLs).
    safe_cls = type(
        cls.__name__, (cls,), {"resolver_handlers": {"file": _LoadedFiles(documents)}}
    )
    out: list[Warning] = []
    try:
        for err in safe_cls(doc, base_uri=base_uri).iter_errors():
            path = list(getattr(err, "absolute_path", []) or [])
            message = str(getattr(err, "message", err)).splitlines()[0]
            if len(message) > 160:
                message = message[:157] + "..."
            out.append(
                Warning(
                    where=printable(f"#{pointer(*path)}"),
                    message=printable(f"invalid spec: {message}"),
                )
            )
            if len(out) >= MAX_REPORTED:
                out.append(
                    Warning(where="", message="invalid spec: more problems not listed")
                )
                break
    except RecursionError:
        out.append(
            Warning(
                where="",
                message="validation skipped: the validator recursed too deeply "
                "(deep nesting or recursive $refs)",
            )
        )
    except Exception as exc:  # the validator itself failed (e.g. an unresolvable ref)
        ref = getattr(exc, "ref", None)
        if isinstance(
            ref, str
        ):  # referencing's errors print the whole document; name the ref
            message = f"cannot resolve $ref {ref[:120]!r}"
        else:
            message = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        out.append(
            Warning(where="", message=printable(f"validation stopped: {message}"))
        )
    return out
