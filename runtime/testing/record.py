"""`gen-source record`: run a connector's real sync through vcrpy and keep the cassette.

Each schema gets `<schema>.yaml` (a full sync) and, when it is incremental,
`<schema>.incremental.yaml` (a sync that starts from a saved watermark, so the filter parameter
and its value are on the tape). The requests are exactly those `gen-source sync` makes: the
recording *is* `runtime.sync.run_schema` into a throwaway Delta table and state store. Only the
page size may be capped (`page_size`, or GEN_SOURCE_RECORD_PAGE_SIZE) to keep cassettes small;
the cap is handed to the reader (`ReadLimits`, never written into the catalog), written into the
cassette, and replay applies the same one.

Secrets are scrubbed before anything reaches disk, by value and by place:
- by value: every credential the connector was given (and its URL-encoded and basic-auth
  base64 forms) becomes a placeholder of the same shape (`placeholder`), wherever it occurs:
  URLs, next links, headers, bodies. Replay uses the placeholders as its credentials, so
  requests still match. The recording host becomes the connector's own base URL.
- by place: only `Accept`, `Content-Type` and API version pins (`*-Version`, `Revision`)
  survive among request headers, only `Content-Type` and `Link` among response headers (no auth headers, cookies, dates, request ids, timings, server
  names); credential-like query and form parameters (`access_token`, `client_secret`,
  signatures ...) and token fields in JSON bodies are replaced too.
JSON bodies are pretty-printed so a re-recording diffs line by line.
"""

from __future__ import annotations

import base64
import copy
import os
import re
import tempfile
from collections.abc import Callable
from functools import cmp_to_key
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import orjson
from deltalake import DeltaTable

from runtime.delta.columns import earlier_value, later_value
from runtime.read.reader import ReadLimits
from runtime.state.store import StateStore, Watermark
from runtime.sync import run_schema
from runtime.testing.cassettes import (
    FORMAT_VERSION,
    META_KEY,
    CassetteError,
    chain,
    make_vcr,
    read_cassette,
)

KEEP_REQUEST_HEADERS = ("accept", "content-type")
VERSION_HEADER = re.compile(
    r"(?i)(^|-)(version|revision)$"
)  # API version pins: behaviour
KEEP_RESPONSE_HEADERS = ("content-type", "link")
SENSITIVE_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "api-key",
        "client_secret",
        "password",
        "refresh_token",
        "id_token",
        "signature",
        "sig",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)
SENSITIVE_FIELDS = frozenset(
    {"access_token", "refresh_token", "id_token", "client_secret", "password"}
)
NOT_SECRET_CREDENTIALS = frozenset({"token_url", "client_id", "scopes"})
MASK = "SCRUBBED"
MIN_SECRET_LENGTH = 4


def placeholder(secret: str) -> str:
    """A stand-in of the same shape: every letter and digit becomes `0`, punctuation stays, and
    a short type prefix stays (one to three letters before a digit or separator, in secrets of
    12+ characters: `sk_`, `ghp_`, `AC`), so values still pass the spec's patterns.
    `AC3f..` -> `AC00..`, `sk_test_abc` -> `sk_0000_000`, `emulator_token` -> `00000000_00000`."""
    match = (
        re.match(r"[A-Za-z]{1,3}(?=[^A-Za-z])", secret) if len(secret) >= 12 else None
    )
    prefix = match.group(0) if match else ""
    out = prefix + re.sub(r"[A-Za-z0-9]", "0", secret[len(prefix) :])
    return out if out != secret else re.sub(r"[A-Za-z0-9]", "x", secret)


class Scrubber:
    """Replaces secrets (value -> placeholder) and the recording host in everything recorded."""

    def __init__(
        self,
        secrets: dict[str, str],
        *,
        origin: tuple[str, str] | None = None,
        query_params: frozenset[str] = SENSITIVE_PARAMS,
    ) -> None:
        self.replacements: dict[str, str] = {}
        for value, stand_in in secrets.items():
            if len(value) < MIN_SECRET_LENGTH:
                continue
            for encode in (str, lambda t: quote(t, safe=""), quote_plus, quote):
                self.replacements[encode(value)] = encode(stand_in)
        self.placeholders = set(self.replacements.values())
        self.origin = origin if origin and origin[0] != origin[1] else None
        names = "|".join(sorted(re.escape(n) for n in query_params))
        self._param = re.compile(rf"(?i)([?&;]|^)({names})=([^&#\s\"'<>;,]*)")

    def add_basic(self, username: str, password: str) -> None:
        """The base64 `user:pass` of a basic credential, in case a body or header echoes it."""

        def b64(u: str, p: str) -> str:
            return base64.b64encode(f"{u}:{p}".encode()).decode()

        self.replacements[b64(username, password)] = b64(
            placeholder(username), placeholder(password)
        )

    def secrets(self, value: str) -> str:
        """`value` with credentials replaced by their placeholders (host left alone)."""
        for secret in sorted(self.replacements, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, self.replacements[secret])
        return self._param.sub(self._mask_param, value)

    def text(self, value: str) -> str:
        """`secrets(value)`, and the recording host replaced by the connector's own."""
        value = self.secrets(value)
        return value.replace(*self.origin) if self.origin else value

    def _mask_param(self, match: re.Match) -> str:
        keep = match.group(3) in self.placeholders or match.group(3) in ("", MASK)
        return match.group(0) if keep else f"{match.group(1)}{match.group(2)}={MASK}"

    def _json(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: MASK
                if k.lower() in SENSITIVE_FIELDS and isinstance(v, str) and v
                else self._json(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._json(v) for v in value]
        return value

    def body(self, raw: bytes | str | None) -> str:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else (raw or "")
        text = self.text(text)
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
        return (
            orjson.dumps(self._json(parsed), option=orjson.OPT_INDENT_2).decode() + "\n"
        )

    def request(self, request: Any) -> Any:
        """vcrpy `before_record_request` (gets a copy: vcrpy calls it more than once)."""
        request = copy.deepcopy(request)
        request.uri = self.text(request.uri)
        keep = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in KEEP_REQUEST_HEADERS or VERSION_HEADER.search(k)
        }
        request.headers = keep
        if request.body:
            request.body = self.text(
                request.body.decode("utf-8", "replace")
                if isinstance(request.body, bytes)
                else request.body
            )
        return request

    def response(self, response: dict) -> dict:
        """vcrpy `before_record_response`."""
        headers = {
            k.lower(): [self.text(v) for v in vs]
            for k, vs in response["headers"].items()
            if k.lower() in KEEP_RESPONSE_HEADERS
        }
        body = self.body(response["body"]["string"])
        return {
            "status": response["status"],
            "headers": dict(sorted(headers.items())),
            "body": {"string": body},
        }


def _secret(value: Any) -> str | None:
    if value is None:
        return None
    return str(
        value.get_secret_value() if hasattr(value, "get_secret_value") else value
    )


def _credential_fields(transport: Any) -> list[tuple[str, str]]:
    """(runtime credential, config field) of every auth option (`AUTH_CREDENTIALS`)."""
    options = getattr(transport, "AUTH_CREDENTIALS", None) or {
        "": getattr(transport, "CREDENTIALS", {})
    }
    return [pair for mapping in options.values() for pair in mapping.items()]


def connector_secrets(config: Any, transport: Any) -> dict[str, str]:
    """config field -> value for every credential (fields the auth reads, and SecretStr ones)."""
    fields = {
        f
        for key, f in _credential_fields(transport)
        if key not in NOT_SECRET_CREDENTIALS
    }
    fields |= {
        name
        for name, value in vars(config).items()
        if hasattr(value, "get_secret_value")
    }
    out = {}
    for name in sorted(fields):
        value = _secret(getattr(config, name, None))
        if value:
            out[name] = value
    return out


def scrubber_for(config: Any, transport: Any, base_url: str) -> Scrubber:
    secrets = connector_secrets(config, transport)
    canonical = transport.SERVER.default_url().rstrip("/") or base_url.rstrip("/")
    scrubber = Scrubber(
        {v: placeholder(v) for v in secrets.values()},
        origin=(base_url.rstrip("/"), canonical),
    )
    creds = {
        key: _secret(getattr(config, f, None))
        for key, f in _credential_fields(transport)
    }
    if creds.get("username"):
        scrubber.add_basic(creds["username"], creds.get("password") or "")
    return scrubber


def replay_config(config: Any, transport: Any, scrubber: Scrubber) -> dict:
    """The config replay runs with: every value scrubbed like the cassette (a path parameter
    that equals a credential, such as an account id that is also the basic-auth user, becomes
    the same placeholder), and the connector's own host."""
    out = {}
    for name in type(config).model_fields:
        value = _secret(getattr(config, name, None))
        if value is not None:
            out[name] = scrubber.secrets(value)
    if "base_url" in out and transport.SERVER.default_url():
        out["base_url"] = transport.SERVER.default_url()
    return out


def _env_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _middle_value(table_uri: str, column: str) -> tuple[Any, Any] | None:
    """(middle, earliest) of an incremental column, so the incremental run reads about half."""
    try:
        values = (
            DeltaTable(table_uri)
            .to_pyarrow_table(columns=[column])
            .column(0)
            .to_pylist()
        )
    except Exception:  # noqa: BLE001 - no table or no such column: nothing to be incremental on
        return None
    values = [
        v.isoformat() if hasattr(v, "isoformat") else v for v in values if v is not None
    ]
    if not values:
        return None
    order = sorted(
        set(values),
        key=cmp_to_key(
            lambda a, b: 0 if a == b else (1 if later_value(a, b) == a else -1)
        ),
    )
    return order[(len(order) - 1) // 2], earlier_value(None, order[0])


def record_cassettes(
    source: Any,
    config: Any,
    schemas: list[str],
    *,
    folder: Path,
    source_name: str,
    page_size: int | None = None,
    max_pages: int | None = None,
    check_response: Callable[..., None] | None = None,
) -> list[Path]:
    """Record `<schema>.yaml` (and `<schema>.incremental.yaml`) under `folder` for each schema;
    returns the files written. `check_response(url, status, content_type, body, endpoint=)`
    (e.g. `generator.conformance.checker_for(source_name)`) validates every response before a
    file replaces the old one; a failing schema leaves its old cassette in place."""
    transport = source.transport
    page_size = page_size or _env_int("GEN_SOURCE_RECORD_PAGE_SIZE")
    max_pages = max_pages or _env_int("GEN_SOURCE_RECORD_MAX_PAGES")
    # The caps go to the reader of a copy of the source; its catalog stays as generated.
    source = copy.copy(source)
    source.limits = ReadLimits(page_size=page_size, max_pages=max_pages)
    base_url = transport.base_url(config)
    scrubber = scrubber_for(config, transport, base_url)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    failures: list[str] = []
    for schema in schemas:
        try:
            written += _record_schema(
                source,
                config,
                schema,
                folder,
                scrubber,
                source_name,
                page_size,
                max_pages,
                check_response,
            )
        except Exception as exc:  # noqa: BLE001 - one schema's failure must not stop the others
            text = scrubber.secrets((str(exc).strip().splitlines() or [""])[0])
            failures.append(f"{schema}: {type(exc).__name__}: {text}")
    if failures:
        raise RecordError(failures, written)
    return written


class RecordError(RuntimeError):
    """Some schemas could not be recorded; `written` lists the cassettes that were."""

    def __init__(self, failures: list[str], written: list[Path]) -> None:
        super().__init__(
            f"{len(failures)} schema(s) not recorded: " + "; ".join(failures)
        )
        self.failures = failures
        self.written = written


def _record_schema(
    source: Any,
    config: Any,
    schema: str,
    folder: Path,
    scrubber: Scrubber,
    source_name: str,
    page_size: int | None,
    max_pages: int | None,
    check_response: Callable[..., None] | None,
) -> list[Path]:
    catalog, transport = source.catalog, source.transport
    if schema not in catalog:
        raise CassetteError(f"no table {schema!r} in the catalog")
    meta = {
        "source": source_name,
        "schema": schema,
        "run": "full",
        "config": replay_config(config, transport, scrubber),
        "page_size": {
            "recorded": page_size,
            "connector": {e.name: e.page_size for e in chain(catalog, schema)},
        },
        "max_pages": max_pages,
    }
    ep = catalog[schema]
    column = ep.incremental_fields[0].field if ep.incremental_fields else None
    path, middle = _record_one(
        source,
        config,
        meta,
        folder / f"{schema}.yaml",
        scrubber,
        check_response,
        column,
    )
    written = [path]
    if middle is not None:
        mark = {
            "last": middle[0],
            "earliest": middle[1],
            "backfill_complete": True,
            "field": column,
            "pending_last": None,
        }
        meta = {**meta, "run": "incremental", "watermark": mark}
        path, _ = _record_one(
            source,
            config,
            meta,
            folder / f"{schema}.incremental.yaml",
            scrubber,
            check_response,
            None,
        )
        written.append(path)
    return written


def _record_one(
    source: Any,
    config: Any,
    meta: dict,
    target: Path,
    scrubber: Scrubber,
    check_response: Callable[..., None] | None,
    column: str | None,
) -> tuple[Path, tuple[Any, Any] | None]:
    """One recorded sync. Returns the cassette and, when `column` is given, the (middle,
    earliest) values of that incremental column in the synced table."""
    schema, source_name = meta["schema"], meta["source"]
    recorder = make_vcr(
        "all",
        before_record_request=scrubber.request,
        before_record_response=scrubber.response,
    )
    with tempfile.TemporaryDirectory(prefix="gen-source-record-") as tmp:
        part = Path(tmp) / target.name
        store = StateStore(Path(tmp) / "state.db")
        if meta.get("watermark"):
            store.set_watermark(
                source_name, schema, Watermark.from_json(meta["watermark"])
            )
        with recorder.use_cassette(str(part)) as tape:
            tape.get_metadata(META_KEY, meta)
            result = run_schema(
                source,
                config,
                schema,
                dest=str(Path(tmp) / "dest"),
                source_name=source_name,
                store=store,
            )
        store.close()
        if not part.is_file():
            raise CassetteError(
                f"{schema}: the sync made no request; nothing to record"
            )
        _check(part, check_response, schema)
        text = part.read_text()
        leaked = [
            name
            for name, value in connector_secrets(config, source.transport).items()
            if len(value) >= MIN_SECRET_LENGTH and value in text
        ]
        if (
            leaked
        ):  # the scrubber must make this impossible; refuse to write if it did not
            raise CassetteError(
                f"{schema}: credential {leaked[0]!r} survived scrubbing; not written"
            )
        middle = _middle_value(result.table_uri, column) if column else None
        part_target = target.with_name(f".{target.name}.part")
        part_target.write_text(text)
        os.replace(part_target, target)
        return target, middle


def _check(path: Path, check_response: Callable[..., None] | None, schema: str) -> None:
    if check_response is None:
        return
    for item in read_cassette(path).interactions:
        check_response(
            item.uri,
            item.status,
            item.header("content-type"),
            item.body,
            endpoint=schema,
        )


__all__ = [
    "FORMAT_VERSION",
    "RecordError",
    "Scrubber",
    "placeholder",
    "record_cassettes",
]
