"""The activity: sync one table of a generated connector, heartbeating its checkpoints.

It runs `runtime.sync.run_schema` unchanged and composes through its progress reporter: the
reporter's `committed()` is called after the pipeline has committed a batch *and* the resume
position and watermark are persisted, which is when a checkpoint is complete
(`runtime.temporal.checkpoint`). A background thread keeps heartbeating between commits, so
a slow page (rate limits, long Retry-After) is not mistaken for a dead worker; a killed worker
stops heartbeating and Temporal retries the activity elsewhere after `heartbeat_timeout_s`.

Errors: the source's non-retryable errors (bad credentials ...), config and destination
problems and data that does not fit its table fail the activity for good
(`ApplicationError(non_retryable=True)`); anything else is retried. Messages are one line,
with every config secret masked.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deltalake import DeltaTable
from temporalio import activity
from temporalio.exceptions import ApplicationError

from runtime.source.config_input import ConfigError, collect, env_name
from runtime.source.connector import MissingOverrideModule, load_connector
from runtime.http.hosts import UnsafeHostError
from runtime.delta.writer import ColumnTypeError, PrimaryKeyError
from runtime.read.paginators import TruncationError
from runtime.read.reader import ReadLimits
from runtime.progress import ProgressReporter
from runtime.http.redact import Redactor
from runtime.source.sources import ResumableSource, SimpleSource, SourceConfigError
from runtime.state.store import StateStore, StateStoreError
from runtime.state.locks import table_lock
from runtime.delta.storage import (
    Destination,
    DestinationError,
    parse_destination,
    path_segment,
)
from runtime.sync import SchemaResult, run_schema
from runtime.temporal import checkpoint as cp
from runtime.temporal.types import (
    ACTIVITY_NAME,
    ConfigRef,
    SchemaOutcome,
    SyncRequest,
    TableRequest,
)
from runtime.webhooks.store import EventStore
from runtime.webhooks.sync import sync_schema as pull_and_apply

log = logging.getLogger("gen_source.temporal")
_LOAD_LOCK = threading.Lock()  # load_connector edits sys.modules: one import at a time
# Deterministic failures: retrying reads the same config, the same data.
_PERMANENT = (
    ConfigError,
    SourceConfigError,
    DestinationError,
    StateStoreError,
    UnsafeHostError,
    ColumnTypeError,
    PrimaryKeyError,
    TruncationError,  # the plan's paging misses pages: needs an override
    FileNotFoundError,
    KeyError,
)


class ConnectorError(ValueError):
    """The connector folder on the worker cannot be used (one line)."""


# ---------------------------------------------------------------- loading


def load_source_class(folder: str) -> type:
    """The source class defined in `<folder>/source.py` of a generated connector."""
    path = Path(folder)
    if not (path / "source.py").is_file():
        raise ConnectorError(
            f"no generated connector at {path} on this worker (the folder must exist on every"
            " worker: same checkout, or a shared path)"
        )
    with _LOAD_LOCK:
        try:
            package = load_connector(path)
        except MissingOverrideModule as exc:
            raise ConnectorError(str(exc)) from None
    return _source_class(package.source)


def _source_class(module: types.ModuleType) -> type:
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, ResumableSource | SimpleSource)
            and value.__module__ == module.__name__
        ):
            return value
    raise ConnectorError(f"{module.__file__}: defines no source class")


def resolve_config(
    source: str,
    config_class: type,
    ref: ConfigRef,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """The connector's config on this worker: `ref.file`, `ref.env` (field -> variable name),
    then `GEN_SOURCE_<SOURCE>_<FIELD>` variables, as `runtime.source.config_input.collect` reads them."""
    environ = os.environ if environ is None else environ
    env = dict(environ)
    for name, variable in ref.env.items():
        if name not in config_class.model_fields:
            known = ", ".join(config_class.model_fields)
            raise ConfigError(
                f"config.env: unknown config field {name!r} (fields: {known})"
            )
        if not environ.get(variable):
            raise ConfigError(
                f"config field {name!r}: environment variable {variable} is not set on this worker"
            )
        env[env_name(source, name)] = environ[variable]
    file = Path(ref.file) if ref.file else None
    return collect(source, config_class, file=file, base_url=ref.base_url, environ=env)


def config_secrets(config: Any) -> dict[str, str]:
    """Config field -> value of every secret field (pydantic SecretStr)."""
    out = {}
    for name in type(config).model_fields:
        value = getattr(config, name, None)
        if hasattr(value, "get_secret_value") and value.get_secret_value():
            out[name] = str(value.get_secret_value())
    return out


# ---------------------------------------------------------------- heartbeats


class Heartbeat:
    """Sends the latest details with `send` now and then from a background thread, and at
    once on `beat`. Temporal's worker throttles what actually reaches the server."""

    def __init__(self, send: Callable[..., None], interval: float) -> None:
        self.send = send
        self.interval = max(interval, 0.05)
        self.details: dict | None = None
        self._context = contextvars.copy_context()  # the activity's, for the thread
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._loop, name="gen-source-heartbeat", daemon=True
        )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def beat(self, details: dict) -> None:
        with self._lock:
            self.details = details
        self.send(details)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                details = self.details
            try:
                self._context.run(self.send, *([details] if details else []))
            except Exception as exc:  # noqa: BLE001 - liveness only; the next beat retries
                log.debug("heartbeat failed: %s", exc)


class CheckpointProgress(ProgressReporter):
    """A progress reporter that takes a checkpoint after each commit and heartbeats it."""

    def __init__(
        self,
        *,
        store: StateStore,
        source: str,
        schema: str,
        table_uri: str,
        storage_options: dict | None,
        base: cp.Checkpoint,
        beat: Callable[[dict], None],
        interval: float = 30.0,
    ) -> None:
        super().__init__(stream=sys.stderr, tty=False, interval=interval)
        self.store, self.source, self.schema = store, source, schema
        self.table_uri, self.storage_options = table_uri, storage_options
        self.base, self.latest, self.beat = base, base, beat
        self._table: DeltaTable | None = None

    def _version(self) -> int | None:
        """The table's version after the commit just made (one log read, not a reload).
        A replace stages its batches and commits them once at the end, so until then this
        is the version it started from (None: no table yet)."""
        if self._table is None:
            if not DeltaTable.is_deltatable(
                self.table_uri, storage_options=self.storage_options
            ):
                return None
            self._table = DeltaTable(
                self.table_uri, storage_options=self.storage_options
            )
        else:
            self._table.update_incremental()
        return self._table.version()

    def committed(self, batches: int) -> None:
        super().committed(batches)
        self.latest = cp.take(
            self.store,
            self.source,
            self.schema,
            owner=self.base.owner,
            version=self._version(),
            rows=self.base.rows + self._rows,
            batches=self.base.batches + batches,
            started=True,
        )
        self.beat(self.latest.to_json())


# ---------------------------------------------------------------- one table


@dataclass
class Attempt:
    """What `sync_with_checkpoints` did: the result of this attempt, the checkpoint it
    started from, and where that checkpoint came from (None: a fresh start)."""

    result: SchemaResult
    base: cp.Checkpoint
    resumed_from: str | None
    rewound_from: int | None


def sync_with_checkpoints(
    source_obj: Any,
    config: Any,
    schema: str,
    *,
    source_name: str,
    dest: Destination,
    store: StateStore,
    owner: str,
    heartbeat_details: Any,
    send: Callable[..., None],
    heartbeat_interval: float = 10.0,
    full_refresh: bool = False,
    batch_rows: int = 5000,
    secrets: Mapping[str, str] | None = None,
    incremental_field: str | None = None,
) -> Attempt:
    """One attempt at one table: continue from the newest checkpoint of `owner` (state
    store or `heartbeat_details`), rewinding the table to it, then `run_schema` with a
    checkpoint after every commit sent through `send`. `secrets` (config field -> value)
    are sealed out of what is sent and back into what is received."""
    table = dest.table_uri(source_name, schema)
    options = dest.storage_options or None
    secrets = secrets or {}

    def sealed_send(*details: Any) -> None:
        send(*(cp.seal(d, secrets) for d in details))

    with Heartbeat(sealed_send, heartbeat_interval) as heartbeat:
        store_cp = cp.stored(store, source_name, schema, owner)
        beat_cp = cp.from_heartbeat(
            cp.unseal(list(heartbeat_details or []), secrets), owner
        )
        base = cp.newest(store_cp, beat_cp)
        resumed_from = rewound = None
        if base is None:
            version = cp.table_version(table, options)
            base = cp.take(store, source_name, schema, owner=owner, version=version)
        else:
            resumed_from = "state" if base is store_cp else "heartbeat"
            cp.restore_state(base, store, source_name, schema)
            rewound = cp.rewind_table(table, base, options)
            log.warning(
                "%s/%s: continuing from the %s checkpoint (version %s, %d rows)",
                source_name,
                schema,
                resumed_from,
                base.version,
                base.rows,
            )
        heartbeat.beat(base.to_json())
        progress = CheckpointProgress(
            store=store,
            source=source_name,
            schema=schema,
            table_uri=table,
            storage_options=options,
            base=base,
            beat=heartbeat.beat,
        )
        result = run_schema(
            source_obj,
            config,
            schema,
            dest=dest.uri,
            source_name=source_name,
            store=store,
            full_refresh=full_refresh and not base.started,
            job_id=owner,
            logger=log,
            progress=progress,
            storage_options=options,
            batch_rows=batch_rows,
            keep_staged=True,  # a retried attempt continues the staged files
            incremental_field=incremental_field,
        )
        store.delete(source_name, schema, cp.CHECKPOINT_KIND)
    return Attempt(result, base, resumed_from if base.started else None, rewound)


def _pull_then_apply(
    source_obj: Any,
    config: Any,
    schema: str,
    sync: SyncRequest,
    dest: Destination,
    store: StateStore,
    pull: Callable[[], SchemaResult],
    *,
    first_attempt: bool,
) -> int:
    """The checkpointed pull, then the table's buffered webhook events (as a plain sync applies
    them: `runtime.webhooks.sync`); returns the rows the events upserted or deleted. A retry
    keeps the initial-sync bookkeeping of the first attempt, even on a full refresh."""
    with EventStore(Path(sync.events)) as events:
        done = pull_and_apply(
            source_obj,
            config,
            schema,
            dest=dest.uri,
            source_name=sync.source,
            store=store,
            events=events,
            full_refresh=sync.full_refresh and first_attempt,
            storage_options=dest.storage_options or None,
            logger=log,
            pull=pull,
        )
    return done.applied.upserted + done.applied.deleted if done.applied else 0


# ---------------------------------------------------------------- the activity


def _fail(
    message: str, kind: str, *, permanent: bool, attempt: int
) -> ApplicationError:
    return ApplicationError(
        message, {"attempt": attempt}, type=kind, non_retryable=permanent
    )


def _one_line(exc: BaseException, redactor: Redactor | None) -> str:
    """`Type: first line of the message`, secrets masked (KeyError without its quotes)."""
    raw = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    text = (str(raw).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return redactor.redact(text) if redactor is not None else text


def _beat_interval(timeout: Any) -> float:
    seconds = timeout.total_seconds() if timeout else 60.0
    return min(max(seconds / 4, 0.1), 10.0)


@activity.defn(name=ACTIVITY_NAME)
def sync_schema(req: TableRequest) -> SchemaOutcome:
    """Sync one table; a retry continues from this execution's newest checkpoint."""
    info = activity.info()
    sync: SyncRequest = req.sync
    started = time.monotonic()
    redactor: Redactor | None = None
    try:
        dest = parse_destination(sync.dest)
        source_cls = load_source_class(sync.connector)
        config = resolve_config(sync.source, source_cls.config_class, sync.config)
        secrets = config_secrets(config)
        redactor = Redactor(list(secrets.values()))
        source_obj = source_cls(
            allow_private_hosts=sync.allow_private_hosts,
            limits=ReadLimits(concurrency=sync.concurrency)
            if sync.concurrency > 1
            else None,
        )
        source_obj.get_schema(
            config, req.schema
        )  # an unknown table fails here, for good
        source, schema = (
            path_segment("source", sync.source),
            path_segment("schema", req.schema),
        )
        store = StateStore(sync.state)
    except (
        *_PERMANENT,
        ValueError,
    ) as exc:  # setup is deterministic: retrying cannot help
        message = _one_line(exc, redactor)
        raise _fail(
            message, type(exc).__name__, permanent=True, attempt=info.attempt
        ) from None
    attempts: list[Attempt] = []

    def pull() -> SchemaResult:
        attempts.append(
            sync_with_checkpoints(
                source_obj,
                config,
                req.schema,
                source_name=sync.source,
                dest=dest,
                store=store,
                owner=f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}",
                heartbeat_details=info.heartbeat_details,
                send=activity.heartbeat,
                heartbeat_interval=_beat_interval(info.heartbeat_timeout),
                full_refresh=sync.full_refresh,
                batch_rows=sync.batch_rows,
                secrets=secrets,
                incremental_field=sync.incremental_field,
            )
        )
        return attempts[-1].result

    applied = 0
    try:  # a local table another sync is writing: TableBusyError, retried after a while
        with table_lock(dest.uri, source, schema):
            if sync.events:
                applied = _pull_then_apply(
                    source_obj,
                    config,
                    req.schema,
                    sync,
                    dest,
                    store,
                    pull,
                    first_attempt=info.attempt == 1,
                )
            else:
                pull()
    except Exception as exc:
        matched, why = source_obj.non_retryable_reason(exc)
        permanent = matched or isinstance(exc, _PERMANENT)
        message = _one_line(exc, redactor) + (f" ({why})" if why else "")
        raise _fail(
            message, type(exc).__name__, permanent=permanent, attempt=info.attempt
        ) from None
    finally:
        store.close()
    attempt = attempts[-1]
    result, base = attempt.result, attempt.base
    return SchemaOutcome(
        schema=req.schema,
        table_uri=result.table_uri,
        mode=result.mode,
        rows=base.rows + result.rows + applied,
        events_applied=applied,
        batches=base.batches + result.batches,
        pages=result.pages,
        seconds=time.monotonic() - started,
        attempts=info.attempt,
        resumed_from=attempt.resumed_from,
        resumed_version=base.version if attempt.resumed_from else None,
    )
