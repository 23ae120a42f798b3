"""Where Delta tables go: a local folder or an object store URI, and the credentials for it.

`--dest` is either a local path or a URI deltalake can write (`s3://bucket/prefix`,
`gs://bucket/prefix`, `az://container/prefix`, `abfss://...`, `lakefs://...`). A table lives at
`<dest>/<source>/<schema>` either way, so merge/replace/append behave the same everywhere.

Credentials never travel in the URI or in a Temporal workflow input: each process that writes
(the CLI, a worker) reads them from its own environment. The variables the provider's SDKs use
(`AWS_*`, `GOOGLE_*`, `AZURE_*`, `LAKEFS_*`) are taken as they are; a `GEN_SOURCE_STORAGE_<KEY>`
variable sets `<KEY>` for the warehouse only (e.g. `GEN_SOURCE_STORAGE_AWS_ENDPOINT_URL` for an
S3-compatible store while other AWS tools keep the real endpoint) and wins over the plain one.

Who may write a table: deltalake >= 1.0 commits to S3 with conditional writes (put-if-absent
on the next log entry), so two commits can never overwrite each other; the loser gets a commit
conflict. That keeps the log intact but not a sync's meaning (its resume position, its replace),
so gen-source adds a single-writer rule per table: Temporal syncs of one table run under one
workflow id (`table_lock_id`), and a second sync of that table waits for the first.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from runtime.errors import UserError

OVERRIDE_PREFIX = "GEN_SOURCE_STORAGE_"
MASK = "***"

# URI scheme -> store kind. Only schemes deltalake's writer supports.
SCHEMES: dict[str, str] = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "azure": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "adl": "azure",
    "lakefs": "lakefs",
    "file": "local",
}
# Environment variable prefixes each store's options come from.
ENV_PREFIXES: dict[str, tuple[str, ...]] = {
    "s3": ("AWS_",),
    "gcs": ("GOOGLE_",),
    "azure": ("AZURE_",),
    "lakefs": ("LAKEFS_",),
    "local": (),
}
# Option names whose values are not secret (shown as they are by `describe`).
_PLAIN_OPTIONS = re.compile(
    r"(REGION|ENDPOINT|ALLOW_HTTP|BUCKET|ACCOUNT_NAME|CONTAINER|UNSAFE_RENAME|"
    r"VIRTUAL_HOSTED|CONDITIONAL_PUT|USE_EMULATOR|PROFILE)",
)
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


class DestinationError(UserError, ValueError):
    """A `--dest` that cannot be written to (one line, names the destination)."""


@dataclass(frozen=True)
class Destination:
    """A parsed `--dest`: `uri` is what deltalake is given (an absolute path for local
    folders, `scheme://bucket/prefix` without a trailing slash otherwise)."""

    uri: str
    kind: str  # local | s3 | gcs | azure | lakefs
    storage_options: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def table_uri(self, source: str, schema: str) -> str:
        return table_uri(self.uri, source, schema)

    def describe(self) -> str:
        """The URI and option names for logs; secret values are masked."""
        if not self.storage_options:
            return self.uri
        shown = ", ".join(
            f"{k}={v}" for k, v in sorted(mask_options(self.storage_options).items())
        )
        return f"{self.uri} ({shown})"

    def prepare(self) -> None:
        """Create a local destination folder; object stores need nothing."""
        if self.is_local:
            try:
                Path(self.uri).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DestinationError(
                    f"--dest {self.uri}: cannot create the folder "
                    f"({exc.strerror or exc})"
                ) from None


def parse_destination(
    dest: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> Destination:
    """Check `dest` and gather its storage options from `environ` (default: os.environ)."""
    environ = os.environ if environ is None else environ
    text = os.fspath(dest).strip()
    if not text:
        raise DestinationError(
            "--dest is empty: give a folder or an s3:// (gs://, az://) URI"
        )
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if match is None:
        return _local(text, Path(text).expanduser())
    scheme = match.group(1).lower()
    kind = SCHEMES.get(scheme)
    if kind is None:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise DestinationError(
            f"--dest {text}: unsupported scheme {scheme}:// (one of {known})"
        )
    parts = urlsplit(text)
    if parts.query or parts.fragment:
        raise DestinationError(
            f"--dest {scheme}://{parts.netloc}...: no query string or fragment allowed;"
            " put credentials in the environment, not in the URI"
        )
    if (
        "@" in parts.netloc and kind != "azure"
    ):  # az://container@account is Azure's form
        raise DestinationError(
            f"--dest {scheme}://...@{parts.netloc.rsplit('@', 1)[1]}: credentials in the URI"
            " are not allowed; put them in the environment"
        )
    if kind == "local":
        if parts.netloc not in ("", "localhost"):
            raise DestinationError(f"--dest {text}: file:// URIs name no host")
        return _local(text, Path(parts.path))
    if not _BUCKET_RE.match(parts.netloc.split("@")[0]):
        raise DestinationError(
            f"--dest {text}: no bucket (container) name after {scheme}://"
        )
    prefix = "/".join(p for p in parts.path.split("/") if p)
    if any(p in (".", "..") for p in prefix.split("/")):
        raise DestinationError(
            f"--dest {text}: '.' and '..' are not allowed in the prefix"
        )
    uri = f"{scheme}://{parts.netloc}" + (f"/{prefix}" if prefix else "")
    return Destination(uri, kind, storage_options_from_env(kind, environ))


def _local(text: str, path: Path) -> Destination:
    """A local folder; refused when it, or a folder above it, is a file."""
    path = path.resolve()
    for step in (path, *path.parents):
        if step.exists():
            if not step.is_dir():
                what = "is a file" if step == path else f"is inside {step}, a file"
                raise DestinationError(
                    f"--dest {text}: {what}; give a folder for the tables"
                )
            break
    return Destination(str(path), "local")


def storage_options_from_env(kind: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The store's own variables (`AWS_*` for S3, ...) plus `GEN_SOURCE_STORAGE_*` overrides."""
    options: dict[str, str] = {}
    for prefix in ENV_PREFIXES.get(kind, ()):
        for key, value in environ.items():
            if key.startswith(prefix) and value != "":
                options[key] = value
    for key, value in environ.items():
        if key.startswith(OVERRIDE_PREFIX) and len(key) > len(OVERRIDE_PREFIX):
            options[key[len(OVERRIDE_PREFIX) :]] = value
    return options


def mask_options(options: Mapping[str, str]) -> dict[str, str]:
    """Options with every value that could be a credential replaced by `***`."""
    return {k: (v if _PLAIN_OPTIONS.search(k) else MASK) for k, v in options.items()}


def path_segment(kind: str, name: str) -> str:
    """Source and table names become path segments of table URIs and lock files: refuse ones
    that would escape them."""
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"{kind} name {name!r} cannot be a table path segment")
    return name


def table_uri(dest_uri: str, source: str, schema: str) -> str:
    """`<dest>/<source>/<schema>`: the same URI `runtime.sync.run_schema` writes."""
    return f"{dest_uri.rstrip('/')}/{source}/{schema}"


def table_lock_id(table: str) -> str:
    """The single-writer key of a table: one Temporal workflow id per table URI, readable
    (ends in source/schema) and unique (a hash of the whole URI)."""
    digest = hashlib.sha256(table.rstrip("/").encode()).hexdigest()[:16]
    tail = "/".join(table.rstrip("/").split("/")[-2:])
    return f"gen-source-table/{tail}/{digest}"


def default_state_location(dest: Destination) -> str:
    """Where resume state lives when `--state` is not given: beside local tables, else
    `.state.db` in the working directory (object stores cannot hold a SQLite file; use a
    shared `redis://` store when workers run on several machines)."""
    if dest.is_local:
        return str(Path(dest.uri) / ".state.db")
    return str(Path(".state.db").resolve())
