"""`gen-source sync` and `gen-source record`: run a generated connector."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from generator.errors import GenSourceError
from generator.render.writer import safe_child
from generator.spec.loader import project_root


def _connector(args):
    from runtime.source.connector import load_connector

    root = (args.out or project_root() / "generated").resolve()
    folder = safe_child(root, args.source)
    if not (folder / "source.py").is_file():
        raise GenSourceError(f"no generated connector at {folder}; run `gen-source {args.source}` first",
                             where=args.source)
    return load_connector(folder)


def _config(args, package):
    from runtime.source.config_input import ConfigError, collect

    source_cls = package.source.__dict__[_source_class_name(package)]
    try:
        config = collect(args.source, source_cls.config_class, file=args.config, base_url=args.base_url)
    except ConfigError as exc:
        raise GenSourceError(str(exc), where=args.source) from None
    return source_cls, config


def _source_class_name(package) -> str:
    from runtime.source.connector import RestSource

    for name, value in vars(package.source).items():
        if isinstance(value, type) and issubclass(value, RestSource) and value is not RestSource:
            return name
    raise GenSourceError("generated source.py defines no source class", where=package.__name__)


def _schemas(args, package) -> list[str]:
    catalog = package.settings.ENDPOINTS
    selected = [n for n, e in catalog.items() if e.selected]
    if args.all:
        return selected
    for name in args.schema:
        if name not in catalog or not catalog[name].selected:
            raise GenSourceError(f"no table {name!r}; tables: {', '.join(selected)}", where=args.source)
    return list(args.schema)


def _check_host(config, package, allow_private_hosts: bool) -> None:
    """Refuse a private, loopback or link-local base URL once, before any table runs."""
    from runtime.http.hosts import UnsafeHostError, check_url

    url = getattr(config, "base_url", None) or package.settings.BASE_URL
    try:
        check_url(url, allow_private_hosts=allow_private_hosts)
    except UnsafeHostError as exc:
        message = str(exc).replace(" (pass allow_private_hosts=True for a self-hosted API)", "")
        raise GenSourceError(f"{message}; pass --allow-private-hosts for a local or self-hosted API",
                             where="--base-url") from None


def _check_incremental_field(args, package, schemas: list[str]) -> None:
    """`--incremental-field NAME` must be a field every named table offers."""
    name = args.incremental_field
    if name is None:
        return
    for schema in schemas:
        offered = [f.field for f in package.settings.ENDPOINTS[schema].incremental_fields]
        if name not in offered:
            raise GenSourceError(f"table {schema!r} offers no incremental field {name!r} "
                                 f"(offered: {', '.join(offered) or 'none'})", where="--incremental-field")


def _destination(args):
    from runtime.delta.storage import DestinationError, default_state_location, parse_destination

    try:
        dest = parse_destination(str(args.dest))
        dest.prepare()
    except DestinationError as exc:
        raise GenSourceError(str(exc), where="--dest") from None
    return dest, args.state or default_state_location(dest)


def sync(args) -> int:
    from runtime.http.hosts import UnsafeHostError
    from runtime.http.client import HttpError
    from runtime.progress import ProgressReporter
    from runtime.state.store import StateStore
    from runtime.sync import run_sync

    package = _connector(args)
    schemas = _schemas(args, package)
    _check_incremental_field(args, package, schemas)
    if args.temporal:
        return _sync_on_temporal(args, package, schemas)
    source_cls, config = _config(args, package)
    _check_host(config, package, args.allow_private_hosts)
    dest, state = _destination(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr)
    source = source_cls(allow_private_hosts=args.allow_private_hosts)
    progress = ProgressReporter(stream=sys.stderr)
    events = None
    events_path = _events_path(args, package, dest.uri)
    if events_path is not None:
        from runtime.webhooks.store import EventStore

        events = EventStore(events_path)
    try:
        summary = run_sync(source, config, schemas, dest=dest.uri, source_name=args.source,
                           store=StateStore(state), full_refresh=args.full_refresh, progress=progress,
                           storage_options=dest.storage_options or None, events=events,
                           incremental_field=args.incremental_field)
    except (HttpError, UnsafeHostError) as exc:
        raise GenSourceError(str(exc), where=args.source) from None
    print(summary.table())
    for result in summary.results:
        if result.error:
            print(f"gen-source: {args.source}/{result.schema}: {result.error}", file=sys.stderr)
    return 0 if summary.ok else 1


def _events_path(args, package, dest_uri: str) -> Path | None:
    """`--events FILE`, else where `webhooks serve` keeps events by default (`<dest>/.webhooks.db`,
    for a connector with webhooks and a local destination)."""
    from runtime.webhooks.store import default_location

    connector = Path(package.__file__).parent
    if args.events is not None:
        if not (connector / "webhooks.py").is_file():
            raise GenSourceError("this connector has no webhooks (no webhooks.py)", where="--events")
        return args.events
    return default_location(connector, dest_uri)


def _sync_on_temporal(args, package, schemas) -> int:
    """Submit the sync as a Temporal workflow and follow it. Config values stay on the workers
    (by file path and environment variable names), never in workflow history."""
    from runtime.delta.storage import DestinationError
    from runtime.temporal.client import make_request, run_temporal_sync

    try:
        request = make_request(source=args.source, connector=str(Path(package.__file__).parent), schemas=schemas,
                               dest=str(args.dest), state=args.state,
                               config_file=str(args.config.resolve()) if args.config else None,
                               base_url=args.base_url, full_refresh=args.full_refresh,
                               incremental_field=args.incremental_field,
                               allow_private_hosts=args.allow_private_hosts,
                               events=_events_path(args, package, str(args.dest)))
    except DestinationError as exc:
        raise GenSourceError(str(exc), where="--dest") from None
    return run_temporal_sync(args.temporal, request, task_queue=args.task_queue)


def worker(args) -> int:
    from runtime.temporal.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    return run_worker(args.temporal, args.task_queue, max_concurrent=args.max_concurrent)


def record(args) -> int:
    from generator.conformance import checker_for
    from runtime.testing.record import RecordError, record_cassettes

    package = _connector(args)
    source_cls, config = _config(args, package)
    schemas = _schemas(args, package)
    folder = args.cassettes or project_root() / "tests" / "cassettes" / args.source
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        written = record_cassettes(source_cls(allow_private_hosts=args.allow_private_hosts), config, schemas,
                                   folder=Path(folder), source_name=args.source, page_size=args.page_size,
                                   max_pages=args.max_pages, check_response=checker_for(args.source))
    except RecordError as exc:
        for path in exc.written:
            print(f"recorded {path}")
        for failure in exc.failures:
            print(f"gen-source: {args.source}: not recorded: {failure}", file=sys.stderr)
        return 1
    for path in written:
        print(f"recorded {path}")
    return 0
