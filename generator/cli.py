"""`gen-source`: generate, plan, check, diff, sync, record, and the everyday commands.

User mistakes (`runtime.errors.UserError`, which `GenSourceError` and the runtime's own
errors derive from) print one line (`gen-source: <where>: <what>`) and exit non-zero,
no traceback. Commands import what they need when they run, so `--help` and
`--version` stay fast (`--help` takes 0.8 s that way and 7 s with the connector
commands' deltalake and pyarrow imported at the top).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import generator
from generator.errors import GenSourceError
from generator.plan import LOW_CONFIDENCE
from generator.project import init_project, pin_spec, pinned_sha256, project_root
from generator.spec.loader import NAME_RE, check_name, source_name
from generator.spec.parse import printable
from runtime.errors import UserError
from runtime.project import ROOT_VARIABLE, find_root

# Every command with its one line, as the README's command table says it (a test
# compares them).
COMMANDS: dict[str, str] = {
    "<spec>": "generate generated/<source>/ (<spec>: a pin name in specs/, a file, "
    "or a URL; --name, --out DIR, --strict)",
    "plan": "print the decisions (plan format, plus these fields)",
    "--check": "regenerate everything in memory; exit 1 listing the files that differ "
    "(CI runs it)",
    "diff": "the unified diff regeneration would make",
    "init": "a new project: specs/, overrides/, generated/, README, CI check",
    "pin": "write specs/<name>.toml (path or URL, sha256, mirror path)",
    "sync": "run a connector into Delta tables at <dest>/<source>/<table>",
    "record": "record cassettes into tests/cassettes/<source>/",
    "tables": "the connector's tables: sync mode, incremental field, parent, selected",
    "status": "per table: last run, rows, Delta version, watermark, pending checkpoint",
    "check-credentials": "read one page with the config a sync would use; "
    "exit 1 if rejected",
    "verify": "check the plan against a few pages of each table (docs/verify.md)",
    "worker": "run syncs submitted with sync --temporal (see Scaling out)",
    "webhooks": "receive the vendor's change events (see Webhooks)",
    "--version": "print gen-source's version",
}
VERBS = tuple(c for c in COMMANDS if c[0] not in "<-")
# Exit status of a process whose output pipe closed (128 + SIGPIPE), as shells expect.
EXIT_BROKEN_PIPE = 141


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--name",
        help="source name for a file or URL spec (default: from the file name)",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="write generated/<source>/ under DIR instead of the project root",
    )
    p.add_argument(
        "--no-overrides", action="store_true", help="plan from the spec alone"
    )
    p.add_argument(
        "--validate",
        action="store_true",
        help="also run openapi-spec-validator and print what it finds (never written "
        "into generated files)",
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="run openapi-spec-validator; what it finds is an error",
    )
    p.add_argument(
        "--no-validate",
        action="store_true",
        help="do not run openapi-spec-validator (the default; wins over --validate)",
    )
    p.add_argument(
        "--allow-external-refs",
        action="store_true",
        help="follow $refs to files outside the spec's folder",
    )


def _options(args):
    from generator.generate import Options  # lazy: startup (module docstring)

    return Options(
        root=_plan_root(args),
        out=getattr(args, "out", None),
        name=getattr(args, "name", None),
        no_overrides=getattr(args, "no_overrides", False),
        strict=getattr(args, "strict", False),
        allow_external_refs=getattr(args, "allow_external_refs", False),
        validate=(getattr(args, "validate", False) or getattr(args, "strict", False))
        and not getattr(args, "no_validate", False),
    )


def _plan_root(args) -> Path:
    """The project; outside one, a file or URL spec written elsewhere (`--out DIR`) is
    planned from the spec alone (there are no pins or overrides to read)."""
    if getattr(args, "out", None) is not None and find_root() is None:
        return Path.cwd()
    return project_root()


def cmd_generate(args) -> int:
    from generator.generate import check, generate  # lazy: startup (module docstring)
    from generator.render import config_model  # lazy: as above

    if args.check:
        differ = check(_options(args))
        if differ:
            print(
                "gen-source --check: generated files differ from what the specs, overrides and "
                "generator produce now:",
                file=sys.stderr,
            )
            for f in differ:
                print(f"  {f}", file=sys.stderr)
            return 1
        print("gen-source --check: generated/ is up to date")
        return 0
    if not args.spec:
        raise GenSourceError(
            "give a spec (pin name, file or URL), or --check", where="gen-source"
        )
    opts = _options(args)
    config_model.start()  # datamodel-code-generator imports beside the analysis
    plan, target, changed = generate(args.spec, opts)
    _print_warnings(plan)
    selected = sum(1 for e in plan.endpoints if e.selected)
    state = "written" if changed else "unchanged"
    print(
        f"{plan.source}: {len(plan.operations())} JSON GET endpoints, {selected} selected -> {target} ({state})"
    )
    if pinned_sha256(opts.root, plan.source) != plan.spec.sha256:
        name = "" if args.name is None else f" --name {plan.source}"
        pin = f"gen-source pin {shlex.quote(args.spec)}{name}"
        print(
            f"{plan.source} is not pinned, so `gen-source --check` cannot regenerate "
            f"it: `{pin}` writes specs/{plan.source}.toml"
        )
    return 0


def cmd_init(args) -> int:
    folder = args.folder.resolve()
    init_project(folder)
    print(
        f"gen-source project created in {folder}: specs/, overrides/, generated/, "
        "README.md, ci/check, .github/workflows/gen-source.yml; "
        "next: `gen-source pin <file|url>`"
    )
    return 0


def cmd_pin(args) -> int:
    root = project_root()
    target, state = pin_spec(args.spec, root, args.name)
    name = target.stem
    print(f"{name}: {target} ({state}); generate with `gen-source {name}`")
    return 0


def _print_warnings(plan) -> None:
    """Every table whose paging is a guess gets its line; other warnings stop after 20."""
    guessed = [w for w in plan.warnings if w.message.startswith(LOW_CONFIDENCE)]
    rest = [w for w in plan.warnings if not w.message.startswith(LOW_CONFIDENCE)]
    for w in guessed + rest[:20]:
        print(f"warning: {w.where}: {w.message}", file=sys.stderr)
    if len(rest) > 20:
        print(
            f"warning: ... and {len(rest) - 20} more (see api_inventory.md or `plan --json`)",
            file=sys.stderr,
        )


def cmd_plan(args) -> int:
    from generator.generate import make_plan  # lazy: startup (module docstring)

    plan, _ = make_plan(args.spec, _options(args))
    if args.json:
        sys.stdout.write(
            json.dumps(plan.to_json(), indent=1, ensure_ascii=False) + "\n"
        )
    else:
        for e in plan.endpoints:
            mark = "*" if e.selected else " "
            print(f"{mark} {e.name:40} {e.path}  [{e.pagination.type}]")
        _print_warnings(plan)
    return 0


def cmd_diff(args) -> int:
    from generator.generate import diff  # lazy: startup (module docstring)

    text = diff(args.source, _options(args))
    sys.stdout.write(text)
    return 0


def cmd_sync(args) -> int:
    from generator.connector_commands import sync  # lazy: startup (module docstring)

    return sync(args)


def cmd_webhooks(args) -> int:
    from runtime.webhooks.serve import main as serve  # lazy: startup (module docstring)

    rest = list(args.rest)
    if "--generated" not in rest:
        rest += ["--generated", str(project_root() / "generated")]
    return serve(rest)


def cmd_tables(args) -> int:
    from generator.inspect_commands import tables  # lazy: startup (module docstring)

    return tables(args)


def cmd_status(args) -> int:
    from generator.inspect_commands import status  # lazy: startup (module docstring)

    return status(args)


def cmd_check_credentials(args) -> int:
    # lazy: startup (module docstring)
    from generator.connector_commands import check_credentials

    return check_credentials(args)


def cmd_worker(args) -> int:
    from generator.connector_commands import worker  # lazy: startup (module docstring)

    return worker(args)


def cmd_record(args) -> int:
    from generator.connector_commands import record  # lazy: startup (module docstring)

    return record(args)


def _early_checks(args) -> None:
    """Refuse a bad `--name` (or the name a file would get) before anything is read."""
    name = getattr(args, "name", None)
    if name is not None:
        check_name(name)
    spec = getattr(args, "spec", None)
    if name is None and spec and not NAME_RE.fullmatch(spec) and "://" not in spec:
        derived = source_name(Path(spec).stem)
        try:
            check_name(derived)
        except GenSourceError as exc:
            raise GenSourceError(
                f"{exc.message} (the name from the file name)", where=spec
            ) from None


def _take_root(argv: list[str]) -> list[str]:
    """`--root DIR` anywhere: sets GEN_SOURCE_ROOT, so every part of the run (and the
    processes it starts) sees the same project."""
    out, it = [], iter(argv)
    for arg in it:
        if arg == "--root" or arg.startswith("--root="):
            value = arg.partition("=")[2] if "=" in arg else next(it, "")
            folder = Path(value).resolve() if value else None
            if folder is None or not folder.is_dir():
                raise GenSourceError(
                    f"{value or '(missing)'} is not a folder", where="--root"
                )
            os.environ[ROOT_VARIABLE] = str(folder)
        else:
            out.append(arg)
    return out


def _overview() -> str:
    width = max(len(c) for c in COMMANDS)
    lines = [f"  gen-source {c.ljust(width)}  {line}" for c, line in COMMANDS.items()]
    return (
        "commands:\n"
        + "\n".join(lines)
        + "\n\n`gen-source COMMAND --help` shows a command's options."
    )


def _connector_options(p: argparse.ArgumentParser) -> None:
    """How a command names a generated connector (as `sync` does)."""
    p.add_argument("source", help="the connector's name (generated/<source>/)")
    p.add_argument(
        "--out", type=Path, help="where generated/<source>/ lives, if not the project's"
    )


def _config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", type=Path, help="JSON file with the config class's fields"
    )
    p.add_argument("--base-url", help="another host (sandbox, proxy, emulator)")
    p.add_argument(
        "--allow-private-hosts",
        action="store_true",
        help="allow loopback/private addresses as the base URL",
    )


def _verb_parser(verb: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog=f"gen-source {verb}", description=COMMANDS[verb]
    )


def cmd_verify(args) -> int:
    from generator.connector_commands import verify  # lazy: startup (module docstring)

    return verify(args)


def build_parser(verb: str | None) -> argparse.ArgumentParser:
    if verb is None:
        p = argparse.ArgumentParser(
            prog="gen-source",
            usage="gen-source [COMMAND] ...",
            description="Turns a vendor's OpenAPI spec into a tested data-warehouse "
            "import connector.",
            epilog=_overview(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument(
            "spec", nargs="?", help="pin name (specs/<name>.toml), spec file, or URL"
        )
        p.add_argument(
            "--check", action="store_true", help="exit 1 if generated/ is out of date"
        )
        p.add_argument(
            "--version", action="version", version=f"gen-source {generator.__version__}"
        )
        _common(p)
        _root_option(p)
        p.set_defaults(func=cmd_generate)
        return p
    p = _verb_parser(verb)
    if verb == "init":
        p.add_argument(
            "folder",
            nargs="?",
            type=Path,
            default=Path("."),
            help="where to create the project (default: here)",
        )
        p.set_defaults(func=cmd_init)
    elif verb == "pin":
        p.add_argument("spec", help="spec file or URL")
        p.add_argument("--name", help="source name (default: from the file name)")
        p.set_defaults(func=cmd_pin)
    elif verb == "plan":
        p.add_argument("spec")
        p.add_argument(
            "--json",
            action="store_true",
            help="print the plan as JSON (docs: plan-format)",
        )
        _common(p)
        p.set_defaults(func=cmd_plan)
    elif verb == "diff":
        p.add_argument("source")
        _common(p)
        p.set_defaults(func=cmd_diff)
    elif verb in ("sync", "record", "verify"):
        _connector_options(p)
        group = p.add_mutually_exclusive_group(required=verb != "verify")
        group.add_argument("--schema", action="append", help="table name (repeatable)")
        group.add_argument("--all", action="store_true", help="every selected table")
        _config_options(p)
        if verb == "verify":
            p.add_argument(
                "--pages", type=int, default=3, help="pages read per table (default 3)"
            )
            p.add_argument(
                "--suggest",
                type=Path,
                help="write the suggested overrides fragment to FILE (default: stdout)",
            )
            p.set_defaults(func=cmd_verify)
        elif verb == "sync":
            p.add_argument(
                "--dest", default="./warehouse", help="table root (default ./warehouse)"
            )
            p.add_argument(
                "--state",
                help="state store: SQLite file or redis:// URL (default <dest>/.state.db)",
            )
            p.add_argument(
                "--full-refresh",
                action="store_true",
                help="ignore saved incremental state",
            )
            p.add_argument(
                "--incremental-field",
                metavar="NAME",
                help="the incremental field to sync on (default: each table's first)",
            )
            p.add_argument(
                "--jobs",
                type=int,
                metavar="N",
                help="tables synced at once (default 1: one after another)",
            )
            p.add_argument(
                "--concurrency",
                type=int,
                metavar="N",
                help="a fan-out table's parents whose children are read at once"
                " (default 1); a rate-limited answer pauses them all",
            )
            p.add_argument(
                "--temporal", help="HOST:PORT of a Temporal server to run the sync on"
            )
            p.add_argument(
                "--task-queue",
                default="gen-source",
                help="Temporal task queue (default gen-source)",
            )
            p.add_argument(
                "--events",
                type=Path,
                help="webhook event store to apply after the pull"
                " (default <dest>/.webhooks.db, where `webhooks serve` keeps them)",
            )
            p.set_defaults(func=cmd_sync)
        else:
            p.add_argument(
                "--cassettes",
                type=Path,
                help="cassette folder (default tests/cassettes/<source>)",
            )
            p.add_argument(
                "--page-size",
                type=int,
                help="smaller pages, so a short recording still pages",
            )
            p.add_argument(
                "--max-pages", type=int, help="stop each table after this many pages"
            )
            p.set_defaults(func=cmd_record)
    elif verb == "tables":
        _connector_options(p)
        p.add_argument(
            "--all",
            action="store_true",
            help="also the tables not selected (read only as parents)",
        )
        p.set_defaults(func=cmd_tables)
    elif verb == "status":
        _connector_options(p)
        p.add_argument(
            "--dest",
            default="./warehouse",
            help="table root the syncs wrote (default ./warehouse)",
        )
        p.add_argument(
            "--state",
            help="state store: SQLite file or redis:// URL (default <dest>/.state.db)",
        )
        p.set_defaults(func=cmd_status)
    elif verb == "check-credentials":
        _connector_options(p)
        _config_options(p)
        p.add_argument(
            "--schema", help="probe this table (default: the connector's probe table)"
        )
        p.set_defaults(func=cmd_check_credentials)
    elif verb == "worker":
        p.add_argument(
            "--temporal", required=True, help="HOST:PORT of the Temporal server"
        )
        p.add_argument(
            "--task-queue",
            default="gen-source",
            help="task queue to poll (default gen-source)",
        )
        p.add_argument(
            "--max-concurrent",
            type=int,
            default=4,
            help="activities run at once (default 4)",
        )
        p.set_defaults(func=cmd_worker)
    elif verb == "webhooks":
        p.add_argument("action", choices=["serve"])
        p.add_argument(
            "rest",
            nargs=argparse.REMAINDER,
            help="<source> --port N [--host H] [--dest DIR] [--db FILE] [--config FILE]",
        )
        p.set_defaults(func=cmd_webhooks)
    _root_option(p)
    return p


def _root_option(p: argparse.ArgumentParser) -> None:
    # Taken out of argv before parsing (`_take_root`); here for --help.
    p.add_argument(
        "--root",
        metavar="DIR",
        help="the project folder (default: the nearest folder above the "
        "current one holding specs/, overrides/ and generated/; "
        "GEN_SOURCE_ROOT)",
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv = _take_root(argv)
    except GenSourceError as exc:
        print(f"gen-source: {printable(str(exc))}", file=sys.stderr)
        return 2
    verb = argv[0] if argv and argv[0] in VERBS else None
    try:
        args = build_parser(verb).parse_args(argv[1:] if verb else argv)
        _early_checks(args)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return code
    except UserError as exc:
        print(f"gen-source: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gen-source: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _output_closed()


def _output_closed() -> int:
    """The reader of stdout went away (`gen-source plan stripe | head -1`): stop
    quietly. Pointing stdout at /dev/null keeps the interpreter's final flush from
    raising again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
