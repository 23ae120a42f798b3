"""`gen-source sync`, `record` and `verify`: run a generated connector.

Runtime errors a user can cause are `runtime.errors.UserError`s, printed by
`generator.cli` in one line; here they only get the flag they are about (`about`) where
they name none.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from generator.errors import GenSourceError
from generator.project import project_root
from generator.render.writer import safe_child
from runtime.delta.storage import default_state_location, parse_destination
from runtime.errors import about
from runtime.http.hosts import UnsafeHostError, check_url
from runtime.read.reader import ReadLimits
from runtime.progress import ProgressReporter
from runtime.source.config_input import collect
from runtime.source.connector import MissingOverrideModule, RestSource, load_connector
from runtime.state.store import StateStore
from runtime.sync import CredentialRejected, run_schema, run_sync
from runtime.testing.record import RecordError, record_cassettes
from runtime.testing.verify import format_report, suggested_overrides, verify_source
from runtime.webhooks.store import EventStore, default_location
from runtime.webhooks.sync import events_runner


def _connector(args):
    return connector_for(args.source, args.out)


def connector_for(source: str, out: Path | None):
    """The generated package of `source` (under `out`, else the project's)."""
    root = (out or project_root() / "generated").resolve()
    folder = safe_child(root, source)
    if not (folder / "source.py").is_file():
        raise GenSourceError(
            f"no generated connector at {folder}; run `gen-source {source}` first",
            where=source,
        )
    try:
        return load_connector(folder)
    except MissingOverrideModule as exc:
        raise GenSourceError(str(exc), where=source) from None


def _config(args, package):
    source_cls = package.source.__dict__[_source_class_name(package)]
    with about(args.source):
        config = collect(
            args.source,
            source_cls.config_class,
            file=args.config,
            base_url=args.base_url,
        )
    return source_cls, config


def _source_class_name(package) -> str:
    for name, value in vars(package.source).items():
        if (
            isinstance(value, type)
            and issubclass(value, RestSource)
            and value is not RestSource
        ):
            return name
    raise GenSourceError(
        "generated source.py defines no source class", where=package.__name__
    )


def _schemas(args, package) -> list[str]:
    catalog = package.settings.ENDPOINTS
    selected = [n for n, e in catalog.items() if e.selected]
    if args.all or not args.schema:
        return selected
    for name in args.schema:
        if name not in catalog or not catalog[name].selected:
            raise GenSourceError(
                f"no table {name!r}; tables: {', '.join(selected)}", where=args.source
            )
    return list(args.schema)


def _check_host(config, source_cls, args) -> None:
    """Refuse the spec's example host, or a private, loopback or link-local base URL,
    once, before any table runs."""
    with about(source_cls.source_name):
        url = source_cls.transport.base_url(config)
    try:
        check_url(url, allow_private_hosts=args.allow_private_hosts)
    except UnsafeHostError as exc:
        raise GenSourceError(
            str(exc), where="--base-url" if args.base_url else "base URL"
        ) from None


def _check_incremental_field(args, package, schemas: list[str]) -> None:
    """`--incremental-field NAME` must be a field every named table offers."""
    name = args.incremental_field
    if name is None:
        return
    for schema in schemas:
        offered = [
            f.field for f in package.settings.ENDPOINTS[schema].incremental_fields
        ]
        if name not in offered:
            raise GenSourceError(
                f"table {schema!r} offers no incremental field {name!r} "
                f"(offered: {', '.join(offered) or 'none'})",
                where="--incremental-field",
            )


def _destination(args):
    dest = parse_destination(str(args.dest))  # its errors name --dest
    dest.prepare()
    return dest, args.state or default_state_location(dest)


def sync(args) -> int:
    package = _connector(args)
    schemas = _schemas(args, package)
    _check_incremental_field(args, package, schemas)
    jobs = _at_least_one(args.jobs, "--jobs")
    concurrency = _at_least_one(args.concurrency, "--concurrency")
    if args.temporal:
        if args.jobs is not None:
            raise GenSourceError(
                "does not apply with --temporal: the workers sync tables at once"
                " (`gen-source worker --max-concurrent N`)",
                where="--jobs",
            )
        return _sync_on_temporal(args, package, schemas, concurrency)
    if jobs > 1:  # named twice, a table would run twice at once (its lock refuses one)
        schemas = list(dict.fromkeys(schemas))
    source_cls, config = _config(args, package)
    _check_host(config, source_cls, args)
    dest, state = _destination(args)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr
    )
    source = source_cls(
        allow_private_hosts=args.allow_private_hosts,
        limits=ReadLimits(concurrency=concurrency) if concurrency > 1 else None,
    )
    progress = ProgressReporter(stream=sys.stderr)
    run = run_schema
    events_path = _events_path(args, package, dest.uri)
    if (
        events_path is not None
    ):  # pull as before, then apply the buffered webhook events
        run = events_runner(EventStore(events_path))
    try:
        with about(args.source):
            summary = run_sync(
                source,
                config,
                schemas,
                dest=dest.uri,
                source_name=args.source,
                store=StateStore(state),
                full_refresh=args.full_refresh,
                progress=progress,
                storage_options=dest.storage_options or None,
                run=run,
                incremental_field=args.incremental_field,
                jobs=jobs,
            )
    except CredentialRejected as exc:  # a failed run (exit 1), said in one line
        print(f"gen-source: {exc}", file=sys.stderr)
        return 1
    print(summary.table())
    for result in summary.results:
        if result.error:
            print(
                f"gen-source: {args.source}/{result.schema}: {result.error}",
                file=sys.stderr,
            )
    return 0 if summary.ok else 1


def _at_least_one(value: int | None, option: str) -> int:
    """A count option's value (1 when not given); below 1 is a one-line error."""
    count = 1 if value is None else value
    if count < 1:
        raise GenSourceError(f"must be 1 or more, got {count}", where=option)
    return count


def _events_path(args, package, dest_uri: str) -> Path | None:
    """`--events FILE`, else where `webhooks serve` keeps events by default (`<dest>/.webhooks.db`,
    for a connector with webhooks and a local destination)."""
    connector = Path(package.__file__).parent
    if args.events is not None:
        if not (connector / "webhooks.py").is_file():
            raise GenSourceError(
                "this connector has no webhooks (no webhooks.py)", where="--events"
            )
        return args.events
    return default_location(connector, dest_uri)


def _sync_on_temporal(args, package, schemas, concurrency: int) -> int:
    """Submit the sync as a Temporal workflow and follow it. Config values stay on the workers
    (by file path and environment variable names), never in workflow history."""
    # Imported here: temporalio takes 1.5-5 s to import; only --temporal and `worker`
    # need it.
    from runtime.temporal.client import make_request, run_temporal_sync

    request = make_request(
        source=args.source,
        connector=str(Path(package.__file__).parent),
        schemas=schemas,
        dest=str(args.dest),
        state=args.state,
        config_file=str(args.config.resolve()) if args.config else None,
        base_url=args.base_url,
        full_refresh=args.full_refresh,
        incremental_field=args.incremental_field,
        allow_private_hosts=args.allow_private_hosts,
        events=_events_path(args, package, str(args.dest)),
        concurrency=concurrency,
    )
    return run_temporal_sync(args.temporal, request, task_queue=args.task_queue)


_STATUS_ERRORS = {
    "HTTP 401": "CredentialsRejected",
    "HTTP 403": "PermissionDenied",
    "HTTP 404": "NotFound",
}


def check_credentials(args) -> int:
    """Run the generated `validate_credentials` with the config a sync would use."""
    package = _connector(args)
    source_cls, config = _config(args, package)
    _check_host(config, source_cls, args)
    if args.schema is not None and args.schema not in package.settings.ENDPOINTS:
        catalog = package.settings.ENDPOINTS
        tables = ", ".join(n for n, e in catalog.items() if e.selected)
        raise GenSourceError(
            f"no table {args.schema!r}; tables: {tables}", where=args.source
        )
    source = source_cls(allow_private_hosts=args.allow_private_hosts)
    with about(args.source):
        ok, reason = source.validate_credentials(config, args.schema)
    if not ok:
        # The probe says what failed in text ("HTTP 401: ..."); the source explains its
        # error classes, so name the class that status is raised as.
        status = next((c for t, c in _STATUS_ERRORS.items() if t in (reason or "")), "")
        explanation = source.get_non_retryable_errors().get(status)
        hint = f" ({explanation})" if explanation else ""
        print(
            f"gen-source: {args.source}: credentials rejected: {reason}{hint}",
            file=sys.stderr,
        )
        return 1
    probe = f"table {args.schema}" if args.schema else "the credential probe"
    print(f"{args.source}: credentials accepted ({probe} read one page)")
    return 0


def worker(args) -> int:
    # Imported here: temporalio takes 1.5-5 s to import; only `worker` and --temporal
    # need it.
    from runtime.temporal.worker import run_worker

    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr
    )
    return run_worker(
        args.temporal, args.task_queue, max_concurrent=args.max_concurrent
    )


def record(args) -> int:
    # Imported here: openapi-core (the response checks) takes 1-4 s to import; `sync`
    # does not use it.
    from generator.conformance import checker_for

    package = _connector(args)
    source_cls, config = _config(args, package)
    _check_host(config, source_cls, args)
    schemas = _schemas(args, package)
    folder = args.cassettes or project_root() / "tests" / "cassettes" / args.source
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr
    )
    try:
        written = record_cassettes(
            source_cls(allow_private_hosts=args.allow_private_hosts),
            config,
            schemas,
            folder=Path(folder),
            source_name=args.source,
            page_size=args.page_size,
            max_pages=args.max_pages,
            check_response=checker_for(args.source),
        )
    except RecordError as exc:
        for path in exc.written:
            print(f"recorded {path}")
        for failure in exc.failures:
            print(
                f"gen-source: {args.source}: not recorded: {failure}", file=sys.stderr
            )
        return 1
    for path in written:
        print(f"recorded {path}")
    return 0


def verify(args) -> int:
    """Read a few pages of each table and check the plan against the API; print a
    pass/fail table and the overrides fragment for the fixes it is sure of. Exit 1 when
    a check fails."""
    package = _connector(args)
    source_cls, config = _config(args, package)
    schemas = _schemas(args, package)
    _check_host(config, source_cls, args)
    if args.pages < 1:
        raise GenSourceError("must be 1 or more", where="--pages")
    target = _suggest_target(args)
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stderr
    )
    source = source_cls(allow_private_hosts=args.allow_private_hosts)
    reports = verify_source(source, config, schemas, pages=args.pages)
    print(format_report(args.source, reports))
    fragment = suggested_overrides(args.source, reports)
    if fragment and target is not None:
        part = target.with_name(f".{target.name}.part")
        part.write_text(fragment)
        part.replace(target)
        print(f"suggested overrides written to {target}")
    elif fragment:
        print()
        sys.stdout.write(fragment)
    return 0 if all(r.ok for r in reports) else 1


def _suggest_target(args) -> Path | None:
    """`--suggest FILE`, refused when it is the overrides file itself (verify only
    suggests)."""
    if args.suggest is None:
        return None
    target = args.suggest.resolve()
    if target.parent.name == "overrides" and target.stem == args.source:
        raise GenSourceError(
            f"{args.suggest} is the overrides file; verify never edits"
            " it: name another file and merge what you keep",
            where="--suggest",
        )
    if not target.parent.is_dir():
        raise GenSourceError(f"no folder {target.parent}", where="--suggest")
    return target
