"""A sync of a table that also receives webhooks: `sync_schema`.

It pulls exactly as `runtime.sync.run_schema` does (resumable, crash-safe), then applies the
buffered events with `apply_events`: an incremental pull only brings new rows, the events bring
the updates and deletes of old ones. While the initial sync is not complete, events are only
buffered. When a pull has read the whole table (the initial sync, a full refresh), events created
before that read began (less `margin_seconds` for clock skew) are already reflected by the pulled
rows and are skipped, so they cannot roll a row back. With `skip_pull_when_complete`, a table whose
initial sync is complete is kept current by the events alone.
"""

from __future__ import annotations

import importlib
import logging
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from runtime.state.store import StateStore
from runtime.sync import SchemaResult, SchemaRunner, run_schema
from runtime.webhooks.apply import ApplyResult, Fetch, apply_events
from runtime.webhooks.store import EventStore

INITIAL_KIND = "webhooks_initial_sync"


@dataclass
class WebhookSyncResult:
    pull: SchemaResult | None  # None: the initial sync was complete, nothing pulled
    applied: ApplyResult | None  # None: the table has no webhooks

    def schema_result(self) -> SchemaResult:
        """One `SchemaResult` for summaries: the pull's, or an empty one for an events-only run."""
        base = self.pull or SchemaResult(
            schema=self.applied.schema,
            table_uri=self.applied.table_uri,
            mode="webhooks",
        )
        if self.applied is None:
            return base
        return replace(
            base, rows=base.rows + self.applied.upserted + self.applied.deleted
        )


def events_runner(events: EventStore) -> SchemaRunner:
    """A per-table runner for `runtime.sync.run_sync`: pull as before, then apply the
    table's buffered events from `events`."""

    def run(source: Any, config: Any, schema_name: str, **kwargs: Any) -> SchemaResult:
        return sync_schema(
            source, config, schema_name, events=events, **kwargs
        ).schema_result()

    return run


def webhooks_of(source: Any) -> types.ModuleType | None:
    """The generated `webhooks.py` beside a generated source class, or None."""
    package = type(source).__module__.rpartition(".")[0]
    if not package:
        return None
    try:
        return importlib.import_module(f"{package}.webhooks")
    except ModuleNotFoundError as exc:
        if exc.name == f"{package}.webhooks":
            return None
        raise


def http_fetch(http: Any, paths: dict[str, str], *, id_field: str = "id") -> Fetch:
    """A fetch for `apply_events`: GET `paths[table]` with its one `{param}` set to the object's id."""

    def fetch(table: str, obj: dict) -> dict | None:
        path, object_id = paths.get(table), obj.get(id_field)
        if path is None or not isinstance(object_id, str | int) or "{" not in path:
            return None
        start, end = path.index("{"), path.index("}")
        _, data = http.get_json(
            path[:start] + quote(str(object_id), safe="") + path[end + 1 :],
            endpoint=table,
        )
        return data if isinstance(data, dict) else None

    return fetch


@contextmanager
def _fetcher(
    source: Any, config: Any, module: types.ModuleType, schema: str
) -> Iterator[Fetch | None]:
    paths = getattr(module, "FETCH_PATHS", {})
    if schema not in paths or not hasattr(source, "transport"):
        yield None
        return
    context = {
        "source": getattr(source, "source_name", ""),
        "schema": schema,
        "job_id": None,
    }
    with source.transport.client(
        config,
        context=context,
        allow_private_hosts=getattr(source, "allow_private_hosts", False),
    ) as http:
        yield http_fetch(http, paths)


def sync_schema(
    source: Any,
    config: Any,
    schema_name: str,
    *,
    dest: str,
    source_name: str,
    store: StateStore,
    events: EventStore,
    full_refresh: bool = False,
    skip_pull_when_complete: bool = False,
    margin_seconds: float = 300.0,
    storage_options: dict | None = None,
    logger: logging.Logger | None = None,
    pull: Callable[[], SchemaResult] | None = None,
    **run_kwargs: Any,
) -> WebhookSyncResult:
    """Pull as `run_schema` does, then apply the table's buffered events. Raises on failure.

    `skip_pull_when_complete`: once the initial sync is complete, rely on the events alone (only
    when the receiver is known to run: without it the table would stop changing). A table without
    webhooks is simply pulled. `pull`: the pull to run instead of `run_schema` with these arguments
    (the Temporal activity passes its checkpointed one); `full_refresh` then only restarts the
    initial-sync bookkeeping."""
    module = webhooks_of(source)
    if isinstance(config, dict):
        config = source.parse_config(config)
    if pull is None:
        pull_args = dict(
            dest=dest,
            source_name=source_name,
            store=store,
            full_refresh=full_refresh,
            storage_options=storage_options,
            logger=logger,
            **run_kwargs,
        )

        def pull() -> SchemaResult:
            return run_schema(source, config, schema_name, **pull_args)

    if module is None or schema_name not in module.WEBHOOK_RESOURCE_MAP:
        return WebhookSyncResult(pull(), None)
    flag = (
        {}
        if full_refresh
        else (store.get(source_name, schema_name, INITIAL_KIND) or {})
    )
    complete = bool(flag.get("complete"))
    if not flag.get(
        "started_at"
    ):  # the first attempt of the initial sync (kept across resumes)
        flag = {"started_at": time.time(), "complete": False}
        store.put(source_name, schema_name, INITIAL_KIND, flag)
    pulled, not_before = None, None
    if not (complete and skip_pull_when_complete):
        started = time.time()
        pulled = pull()
        if (
            not complete
        ):  # this pull read the whole table, since the initial sync first started
            not_before = flag["started_at"] - margin_seconds
            store.put(
                source_name, schema_name, INITIAL_KIND, {**flag, "complete": True}
            )
        elif not pulled.incremental:  # a full re-read
            not_before = started - margin_seconds
    ep = source.catalog[schema_name]
    table_uri = f"{dest.rstrip('/')}/{source_name}/{schema_name}"
    with _fetcher(source, config, module, schema_name) as fetch:
        applied = apply_events(
            events,
            source_name,
            schema_name,
            table_uri,
            list(ep.primary_key or ()),
            columns=ep.columns,
            partition_key=ep.partition_key,
            partition_format=ep.partition_format,
            storage_options=storage_options,
            fetch=fetch,
            not_before=not_before,
            logger=logger,
        )
    return WebhookSyncResult(pulled, applied)
