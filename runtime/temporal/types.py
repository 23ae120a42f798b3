"""What travels through Temporal: workflow inputs and results, as plain dataclasses.

Everything here is recorded in the workflow history, readable by anyone who can read the
namespace. So a request carries no secrets: the connector's config is passed by reference
(`ConfigRef`: a file path and environment variable names on the worker) and object store
credentials come from the worker's environment (`runtime.delta.storage`). This module imports only
the standard library, so the workflow sandbox can load it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TASK_QUEUE = "gen-source"
ACTIVITY_NAME = "gen_source_sync_schema"


@dataclass
class ConfigRef:
    """Where a worker finds a connector's config. `file`: a JSON file on the worker (the same
    format as `--config`); `env`: config field -> name of an environment variable on the
    worker; the worker also reads `GEN_SOURCE_<SOURCE>_<FIELD>` variables as the CLI does.
    `base_url` is not a secret and travels as it is."""

    file: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None


@dataclass
class SyncRequest:
    """One sync: `schemas` of the connector in folder `connector` (a path on the worker) into
    `dest` (a normalised `runtime.delta.storage` URI) with resume state at `state` (a path on the
    worker or a `redis://` URL)."""

    source: str
    connector: str
    schemas: list[str]
    dest: str
    state: str
    config: ConfigRef = field(default_factory=ConfigRef)
    full_refresh: bool = False
    incremental_field: str | None = (
        None  # the field every table syncs on (None: each's first)
    )
    allow_private_hosts: bool = False
    batch_rows: int = 5000
    max_parallel: int = 4  # tables synced at once
    concurrency: int = 1  # a fan-out table's parents whose children are read at once
    heartbeat_timeout_s: float = 60.0  # a worker silent this long is presumed dead
    schema_timeout_s: float = 24 * 3600.0  # one attempt at one table
    max_attempts: int = 10  # per table; 0 = unlimited
    retry_initial_s: float = 5.0
    retry_max_s: float = 300.0
    table_wait_s: float = (
        6 * 3600.0
    )  # how long to wait while another sync writes a table
    table_poll_s: float = 15.0
    events: str | None = (
        None  # webhook event store (SQLite path on the workers) applied after each pull
    )


@dataclass
class TableRequest:
    """The input of one table's workflow and activity."""

    sync: SyncRequest
    schema: str


@dataclass
class SchemaOutcome:
    """How one table's sync ended (`status`: ok | failed). Field names match
    `runtime.progress.format_summary`, so a list of these prints as the CLI's table."""

    schema: str
    table_uri: str
    status: str = "ok"
    mode: str = ""
    rows: int = 0  # rows committed over all attempts
    batches: int = 0
    pages: int = 0
    seconds: float = 0.0
    attempts: int = 1
    resumed_from: str | None = (
        None  # "heartbeat" | "state" when an attempt continued another
    )
    resumed_version: int | None = None  # the table version that attempt continued from
    error: str | None = None
    non_retryable: bool = False
    events_applied: int = (
        0  # buffered webhook events applied after the pull (counted in rows)
    )
    workflow_id: str = ""
    run_id: str = ""
    started_at: str = ""  # ISO times from the workflow clock
    finished_at: str = ""


@dataclass
class SyncOutcome:
    results: list[SchemaOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)

    @property
    def rows(self) -> int:
        return sum(r.rows for r in self.results)
