"""`gen-source`: generate, plan, check, diff, sync, record.

User mistakes print one line (`gen-source: <where>: <what>`) and exit non-zero, no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from generator.errors import GenSourceError
from generator.spec.loader import project_root
from generator.spec.parse import printable

VERBS = ("plan", "diff", "sync", "record", "worker", "webhooks")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="source name for a file or URL spec (default: from the file name)")
    p.add_argument("--out", type=Path, help="write generated/<source>/ under DIR instead of the project root")
    p.add_argument("--no-overrides", action="store_true", help="plan from the spec alone")
    p.add_argument("--strict", action="store_true", help="spec validation problems are errors")
    p.add_argument("--no-validate", action="store_true", help="skip openapi-spec-validator")
    p.add_argument("--allow-external-refs", action="store_true",
                   help="follow $refs to files outside the spec's folder")


def _options(args):
    from generator.generate import Options

    return Options(root=project_root(), out=getattr(args, "out", None), name=getattr(args, "name", None),
                   no_overrides=getattr(args, "no_overrides", False), strict=getattr(args, "strict", False),
                   allow_external_refs=getattr(args, "allow_external_refs", False),
                   validate=not getattr(args, "no_validate", False))


def cmd_generate(args) -> int:
    from generator.generate import check, generate

    if args.check:
        differ = check(_options(args))
        if differ:
            print("gen-source --check: generated files differ from what the specs, overrides and "
                  "generator produce now:", file=sys.stderr)
            for f in differ:
                print(f"  {f}", file=sys.stderr)
            return 1
        print("gen-source --check: generated/ is up to date")
        return 0
    if not args.spec:
        raise GenSourceError("give a spec (pin name, file or URL), or --check", where="gen-source")
    plan, target, changed = generate(args.spec, _options(args))
    _print_warnings(plan)
    selected = sum(1 for e in plan.endpoints if e.selected)
    state = "written" if changed else "unchanged"
    print(f"{plan.source}: {len(plan.operations())} JSON GET endpoints, {selected} selected -> {target} ({state})")
    return 0


def _print_warnings(plan) -> None:
    for w in plan.warnings[:20]:
        print(f"warning: {w.where}: {w.message}", file=sys.stderr)
    if len(plan.warnings) > 20:
        print(f"warning: ... and {len(plan.warnings) - 20} more (see api_inventory.md or `plan --json`)",
              file=sys.stderr)


def cmd_plan(args) -> int:
    from generator.generate import make_plan

    plan, _ = make_plan(args.spec, _options(args))
    if args.json:
        sys.stdout.write(json.dumps(plan.to_json(), indent=1, ensure_ascii=False) + "\n")
    else:
        for e in plan.endpoints:
            mark = "*" if e.selected else " "
            print(f"{mark} {e.name:40} {e.path}  [{e.pagination.type}]")
        _print_warnings(plan)
    return 0


def cmd_diff(args) -> int:
    from generator.generate import diff

    text = diff(args.source, _options(args))
    sys.stdout.write(text)
    return 0


def cmd_sync(args) -> int:
    from generator.connector_commands import sync

    return sync(args)


def cmd_webhooks(args) -> int:
    from runtime.webhooks.serve import main as serve

    rest = list(args.rest)
    if "--generated" not in rest:
        rest += ["--generated", str(project_root() / "generated")]
    return serve(rest)


def cmd_worker(args) -> int:
    from generator.connector_commands import worker

    return worker(args)


def cmd_record(args) -> int:
    from generator.connector_commands import record

    return record(args)


def build_parser(verb: str | None) -> argparse.ArgumentParser:
    if verb is None:
        p = argparse.ArgumentParser(prog="gen-source", description="Generate a connector from an OpenAPI spec. "
                                    f"Other verbs: {', '.join(VERBS)}.")
        p.add_argument("spec", nargs="?", help="pin name (specs/<name>.toml), spec file, or URL")
        p.add_argument("--check", action="store_true", help="exit 1 if generated/ is out of date")
        _common(p)
        p.set_defaults(func=cmd_generate)
        return p
    p = argparse.ArgumentParser(prog=f"gen-source {verb}")
    if verb == "plan":
        p.add_argument("spec")
        p.add_argument("--json", action="store_true", help="print the plan as JSON (docs: plan-format)")
        _common(p)
        p.set_defaults(func=cmd_plan)
    elif verb == "diff":
        p.add_argument("source")
        _common(p)
        p.set_defaults(func=cmd_diff)
    elif verb in ("sync", "record"):
        p.add_argument("source")
        group = p.add_mutually_exclusive_group(required=True)
        group.add_argument("--schema", action="append", help="table name (repeatable)")
        group.add_argument("--all", action="store_true", help="every selected table")
        p.add_argument("--config", type=Path, help="JSON file with the config class's fields")
        p.add_argument("--base-url", help="another host (sandbox, proxy, emulator)")
        p.add_argument("--allow-private-hosts", action="store_true",
                       help="allow loopback/private addresses as the base URL")
        p.add_argument("--out", type=Path, help="where generated/<source>/ lives, if not the project's")
        if verb == "sync":
            p.add_argument("--dest", default="./warehouse", help="table root (default ./warehouse)")
            p.add_argument("--state", help="state store: SQLite file or redis:// URL (default <dest>/.state.db)")
            p.add_argument("--full-refresh", action="store_true", help="ignore saved incremental state")
            p.add_argument("--incremental-field", metavar="NAME",
                           help="the incremental field to sync on (default: each table's first)")
            p.add_argument("--temporal", help="HOST:PORT of a Temporal server to run the sync on")
            p.add_argument("--task-queue", default="gen-source", help="Temporal task queue (default gen-source)")
            p.add_argument("--events", type=Path, help="webhook event store to apply after the pull"
                           " (default <dest>/.webhooks.db, where `webhooks serve` keeps them)")
            p.set_defaults(func=cmd_sync)
        else:
            p.add_argument("--cassettes", type=Path, help="cassette folder (default tests/cassettes/<source>)")
            p.add_argument("--page-size", type=int, help="smaller pages, so a short recording still pages")
            p.add_argument("--max-pages", type=int, help="stop each table after this many pages")
            p.set_defaults(func=cmd_record)
    elif verb == "worker":
        p.add_argument("--temporal", required=True, help="HOST:PORT of the Temporal server")
        p.add_argument("--task-queue", default="gen-source", help="task queue to poll (default gen-source)")
        p.add_argument("--max-concurrent", type=int, default=4, help="activities run at once (default 4)")
        p.set_defaults(func=cmd_worker)
    elif verb == "webhooks":
        p.add_argument("action", choices=["serve"])
        p.add_argument("rest", nargs=argparse.REMAINDER,
                       help="<source> --port N [--host H] [--dest DIR] [--db FILE] [--config FILE]")
        p.set_defaults(func=cmd_webhooks)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verb = argv[0] if argv and argv[0] in VERBS else None
    parser = build_parser(verb)
    args = parser.parse_args(argv[1:] if verb else argv)
    try:
        return int(args.func(args) or 0)
    except GenSourceError as exc:
        print(f"gen-source: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gen-source: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
