"""`gen-source tables` and `gen-source status`: what a generated connector reads, and
what its syncs have left in a warehouse (Delta tables and the state store)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError

from generator.connector_commands import connector_for
from generator.errors import GenSourceError
from runtime.catalog import EndpointConfig
from runtime.delta.storage import (
    DestinationError,
    default_state_location,
    parse_destination,
)
from runtime.state.store import RESUME_KIND, StateStore, StateStoreError


def sync_mode(ep: EndpointConfig) -> str:
    """What `gen-source sync` does to the table (as runtime/sync.py decides it)."""
    if not ep.incremental_fields:
        return "replace"
    return "merge" if ep.primary_key else "append"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    )


def tables(args) -> int:
    catalog = connector_for(args.source, args.out).settings.ENDPOINTS
    rows = [["table", "mode", "incremental field", "parent", "selected"]]
    for name, ep in catalog.items():
        if not ep.selected and not args.all:
            continue
        inc = ", ".join(f.field for f in ep.incremental_fields) or "-"
        parent = f"{ep.parent.endpoint}.{ep.parent.field}" if ep.parent else "-"
        rows.append([name, sync_mode(ep), inc, parent, "yes" if ep.selected else "no"])
    print(_table(rows))
    return 0


def _state(args, dest) -> StateStore | None:
    """The state store a sync would use, opened only when it exists (status writes
    nothing)."""
    location = args.state or default_state_location(dest)
    if "://" not in location and not Path(location).is_file():
        return None
    try:
        return StateStore(location)
    except StateStoreError as exc:
        raise GenSourceError(str(exc), where="--state") from None


def _when(ms: float | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _delta(uri: str, options: dict) -> tuple[str, str, str]:
    """(last run, rows, version) of the table at `uri`, dashes when there is none."""
    try:
        dt = DeltaTable(uri, storage_options=options or None)
    except TableNotFoundError:
        return "never", "-", "-"
    last = dt.history(1)
    when = _when(last[0].get("timestamp")) if last else "-"
    operation = str(last[0].get("operation", "")).lower() if last else ""
    return f"{when} {operation}".strip(), str(dt.count()), str(dt.version())


def _pages(state: object) -> int | None:
    """`pages_read` wherever a paginator put it in a resume state (nested: fan-out)."""
    if isinstance(state, dict):
        if isinstance(state.get("pages_read"), int):
            return state["pages_read"]
        for value in state.values():
            found = _pages(value)
            if found is not None:
                return found
    return None


def _checkpoint(store: StateStore | None, source: str, name: str) -> str:
    """Where an interrupted run would continue. Only a page count is shown: a cursor
    or a next URL can carry tokens."""
    resume = store.get(source, name, RESUME_KIND) if store else None
    if resume is None:
        return "-"
    pages = _pages(resume)
    return f"pending, after page {pages}" if pages is not None else "pending"


def _watermark(store: StateStore | None, source: str, name: str) -> str:
    if store is None:
        return "-"
    mark = store.get_watermark(source, name)
    if mark.last is None and mark.earliest is None:
        return "-"
    text = f"{mark.field}={mark.last}" if mark.last is not None else f"{mark.field}"
    if mark.earliest is not None and not mark.backfill_complete:
        text += f" (backfilling, reached {mark.earliest})"
    return text


def status(args) -> int:
    catalog = connector_for(args.source, args.out).settings.ENDPOINTS
    try:
        dest = parse_destination(os.fspath(args.dest))
    except DestinationError as exc:
        raise GenSourceError(str(exc)) from None  # the message names --dest
    if dest.is_local and not Path(dest.uri).is_dir():
        raise GenSourceError(
            f"--dest {args.dest}: no such folder (nothing synced there)"
        )
    store = _state(args, dest)
    rows = [["table", "last run", "rows", "version", "watermark", "checkpoint"]]
    try:
        for name, ep in catalog.items():
            if not ep.selected:
                continue
            last, count, version = _delta(
                dest.table_uri(args.source, name), dest.storage_options
            )
            rows.append(
                [
                    name,
                    last,
                    count,
                    version,
                    _watermark(store, args.source, name),
                    _checkpoint(store, args.source, name),
                ]
            )
    finally:
        if store is not None:
            store.close()
    print(_table(rows))
    return 0
