"""Turn the `<spec>` argument (pin name, file or URL) into a loaded `Spec`."""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from generator.errors import GenSourceError, Warning
from generator.spec.model import Spec
from generator.spec.parse import parse_bytes, printable, read_file, spec_error
from generator.spec.refs import Resolver
from generator.spec.validate import (
    Background,
    cache_dir,
    cached_result,
    labelled,
    validate,
)

NAME_RE = re.compile(
    r"[a-z][a-z0-9_-]*"
)  # used with fullmatch: `$` would accept a trailing newline
# Structural validation time grows faster than the spec (5 MiB: ~6 s, 20 MiB: ~47 s, 50 MiB:
# ~4 min on one core); the largest vendor specs are ~7 MiB.
MAX_VALIDATE_BYTES = 16 * 2**20


@dataclass
class Pin:
    """`specs/<name>.toml`: the spec's sha256 and where to find it: `path` (a file,
    relative to the project root unless absolute), `mirror_path` (under
    GEN_SOURCE_SPECS), `url`."""

    name: str
    url: str
    sha256: str
    mirror_path: str
    file: Path
    path: str = ""

    @property
    def label(self) -> str:
        """How warnings name the spec file: the same whichever way the file is found."""
        return self.path or self.mirror_path or self.url


@dataclass
class Loaded:
    name: str
    spec: Spec
    path: Path | None


def source_name(raw: str) -> str:
    """A safe source name: lower case, `[a-z0-9_]`, starting with a letter."""
    name = re.sub(r"[^a-z0-9]+", "_", raw.lower()).strip("_")
    if name and name[0].isdigit():
        name = "s_" + name
    return name


# `gen-source <name>` would run the command instead of generating the source.
COMMAND_NAMES = frozenset(
    {
        "init",
        "pin",
        "plan",
        "sync",
        "tables",
        "status",
        "verify",
        "record",
        "diff",
        "worker",
        "webhooks",
        "check-credentials",
        "check_credentials",
        "check",
        "help",
        "version",
    }
)


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name or ""):
        raise GenSourceError(
            f"invalid source name {name!r}: use lower-case letters, digits and '_'",
            where="--name",
        )
    if name in COMMAND_NAMES:
        raise GenSourceError(
            f"source name {name!r} is a gen-source command; choose another with --name",
            where="--name",
        )
    return name


def read_pin(file: Path) -> Pin:
    try:
        data = tomllib.loads(file.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GenSourceError(f"bad pin: {exc}", where=str(file)) from None
    missing = [k for k in ("name", "sha256") if not data.get(k)]
    if not any(data.get(k) for k in ("url", "path", "mirror_path")):
        missing.append("url, path or mirror_path")
    if missing:
        raise GenSourceError(f"pin lacks {', '.join(missing)}", where=str(file))
    return Pin(
        name=check_name(str(data["name"])),
        url=str(data.get("url") or ""),
        sha256=str(data["sha256"]).lower(),
        mirror_path=str(data.get("mirror_path") or ""),
        file=file,
        path=str(data.get("path") or ""),
    )


def pins(root: Path) -> list[Pin]:
    return [read_pin(f) for f in sorted((root / "specs").glob("*.toml"))]


def mirror_root() -> Path | None:
    env = os.environ.get("GEN_SOURCE_SPECS")
    return Path(env).resolve() if env else None


def pin_file(pin: Pin, root: Path) -> Path:
    """The local file for a pin: its `path`, else from the mirror when set, else
    downloaded (and cached by sha256)."""
    tried = []
    if pin.path:
        path = root / pin.path  # an absolute `path` stays as it is
        if path.is_file():
            return path
        tried.append(str(path))
    mirror = mirror_root()
    if mirror is not None and pin.mirror_path:
        path = mirror / pin.mirror_path
        if path.is_file():
            return path
        tried.append(f"{pin.mirror_path} under GEN_SOURCE_SPECS={mirror}")
    if not pin.url:
        hint = ""
        if mirror is None and pin.mirror_path:
            hint = "; set GEN_SOURCE_SPECS to the spec mirror"
        where = " nor ".join(tried) or pin.mirror_path
        raise GenSourceError(
            f"pinned file not found: {where}{hint}", where=str(pin.file)
        )
    name = Path(pin.mirror_path or pin.url.split("?")[0]).name
    cached = cache_dir() / "specs" / pin.sha256 / name
    if cached.is_file():
        return cached
    try:
        data = download(pin.url)
    except GenSourceError as exc:
        raise GenSourceError(
            f"{exc.message}; set GEN_SOURCE_SPECS to a local spec mirror to work offline",
            where=exc.where,
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != pin.sha256:
        raise GenSourceError(
            f"downloaded spec has sha256 {digest}, the pin says {pin.sha256}",
            where=pin.url,
        )
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, cached)
    return cached


def yaml_cache() -> Path:
    """Where YAML specs parsed before are kept as JSON (`generator.spec.parse`)."""
    return cache_dir() / "yaml"


def file_label(path: Path) -> str:
    """A spec file's name in warnings: relative to the spec mirror when it is in it (as
    its pin names it), else as given."""
    mirror = mirror_root()
    if mirror is not None:
        try:
            return path.resolve().relative_to(mirror).as_posix()
        except ValueError:
            pass
    return str(path)


def download(url: str) -> bytes:
    # Imported here: httpx takes ~0.2 s to import, and only a pin missing from the
    # mirror and the cache downloads (`--help` and mirror runs do not).
    import httpx

    try:
        resp = httpx.get(url, follow_redirects=True, timeout=60)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise GenSourceError(f"download failed: {exc}", where=url) from None
    return resp.content


def load(
    arg: str,
    *,
    root: Path,
    name: str | None = None,
    allow_external: bool = False,
    validate_spec: bool = True,
    strict: bool = False,
    background: bool = False,
) -> Loaded:
    """`background`: validate in a child process; `spec.finish_validation()` collects it."""
    pin_path = root / "specs" / f"{arg}.toml"
    if NAME_RE.fullmatch(arg) and pin_path.is_file():
        pin = read_pin(pin_path)
        path = pin_file(pin, root)
        spec = load_path(
            path,
            allow_external=allow_external,
            validate_spec=validate_spec,
            strict=strict,
            expect_sha256=pin.sha256,
            label=pin.label,
            background=background,
        )
        return Loaded(name=pin.name, spec=spec, path=path)
    if arg.startswith(("http://", "https://")):
        data = download(arg)
        spec = spec_from_bytes(data, None, arg, allow_external, validate_spec, strict)
        return Loaded(
            name=check_name(name or source_name(Path(arg.split("?")[0]).stem)),
            spec=spec,
            path=None,
        )
    path = Path(arg)
    if not path.exists() and NAME_RE.fullmatch(arg):
        raise GenSourceError(f"no pin specs/{arg}.toml and no such file", where=arg)
    spec = load_path(
        path,
        allow_external=allow_external,
        validate_spec=validate_spec,
        strict=strict,
        label=file_label(path),
        background=background,
    )
    return Loaded(name=check_name(name or source_name(path.stem)), spec=spec, path=path)


def load_path(
    path: Path,
    *,
    allow_external: bool = False,
    validate_spec: bool = True,
    strict: bool = False,
    expect_sha256: str | None = None,
    label: str | None = None,
    background: bool = False,
) -> Spec:
    label = label or str(path)
    early = None
    if background and validate_spec and not strict and path.is_file():
        # Start the validator before parsing here: it is the long pole of a cold run.
        if cached_result(hashlib.sha256(path.read_bytes()).hexdigest(), label) is None:
            early = Background(path, label, allow_external)
    try:
        data, doc = read_file(path, yaml_cache())
        if expect_sha256 and hashlib.sha256(data).hexdigest() != expect_sha256:
            raise GenSourceError(
                "spec file does not match the pin's sha256", where=str(path)
            )
        spec = _build(
            data,
            doc,
            path,
            label,
            allow_external,
            validate_spec,
            strict,
            background=early,
        )
    except BaseException:
        if early is not None:
            early.cancel()
        raise
    if early is not None and spec.pending_validation is not early:
        early.cancel()
    return spec


def _all_files_sha(root_sha: str, resolver: Resolver) -> str:
    """The root file's sha256, or for a multi-file spec a hash over every file read."""
    if not resolver.raw_bytes:
        return root_sha
    h = hashlib.sha256(root_sha.encode())
    for key in sorted(resolver.raw_bytes):
        h.update(
            f"\0{resolver.display(key)}\0".encode()
            + hashlib.sha256(resolver.raw_bytes[key]).digest()
        )
    return h.hexdigest()


def spec_from_bytes(data, path, label, allow_external, validate_spec, strict) -> Spec:
    return _build(
        data,
        parse_bytes(data, label, yaml_cache()),
        path,
        label,
        allow_external,
        validate_spec,
        strict,
    )


def _build(
    data: bytes,
    doc: object,
    path: Path | None,
    label: str,
    allow_external: bool,
    validate_spec: bool,
    strict: bool,
    *,
    background: Background | None = None,
) -> Spec:
    """`background`: a validator already running on this file; adopted unless the cache
    answers (a multi-file spec's key covers every file) or validation is skipped."""
    if not isinstance(doc, dict):
        raise spec_error(
            label,
            "",
            f"not an OpenAPI document (the top level is a {type(doc).__name__}, not a mapping)",
        )
    version = str(doc.get("openapi") or doc.get("swagger") or "")
    if not (version.startswith("3.") or version.startswith("2.")):
        raise spec_error(
            label,
            "",
            "not an OpenAPI 3.x or Swagger 2.0 document (no 'openapi'/'swagger' version)",
        )
    if "paths" not in doc:
        raise spec_error(label, "/paths", "missing 'paths'")
    if not isinstance(doc["paths"], dict):
        raise spec_error(label, "/paths", "'paths' is not a mapping")
    sha = hashlib.sha256(data).hexdigest()
    resolver = Resolver(doc, path, allow_external=allow_external, root_label=label)
    dangling = (
        resolver.check_all()
    )  # refused refs anywhere are fatal before anything follows one
    spec = Spec(doc, resolver, sha256=sha, file_label=label)
    for file, ptr, message in dangling:
        spec.warnings.append(
            Warning(where=printable(f"{file}#{ptr}"), message=printable(message))
        )
    spec.operations()  # dangling refs an operation needs become warnings now
    size = len(data) + sum(len(b) for b in resolver.raw_bytes.values())
    if validate_spec and size > MAX_VALIDATE_BYTES and not strict:
        spec.warnings.insert(
            0,
            Warning(
                where=label,
                message=(
                    f"validation skipped: the spec is {size / 2**20:.1f} MiB; openapi-spec-validator needs minutes above "
                    f"{MAX_VALIDATE_BYTES // 2**20} MiB (--strict validates anyway)"
                ),
            ),
        )
    elif validate_spec:
        key = _all_files_sha(sha, resolver)
        found = cached_result(key, label)
        if found is None and background is not None:
            spec.pending_validation = background
            return spec
        if found is None:
            found = validation_of(spec, path, label, key)
        if strict and found:
            first = found[0]
            raise GenSourceError(
                f"{first.message} ({len(found)} problem(s); drop --strict to continue)",
                where=first.where,
            )
        spec.warnings[:0] = found
    return spec


def validation_of(spec: Spec, path: Path | None, label: str, key: str):
    """Run the validator over a loaded spec; warnings name `label` (the background child
    passes "" and its parent applies the label)."""
    resolver = spec.resolver
    found = validate(
        spec.doc,
        base_uri=path.resolve().as_uri() if path else "",
        sha256=key,
        documents={k: v for k, v in resolver.docs.items() if k != "<root>"},
    )
    return labelled(found, label)


def validation_key(spec: Spec) -> str:
    return _all_files_sha(spec.sha256, spec.resolver)
