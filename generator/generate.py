"""spec -> plan -> files: the steps behind `gen-source <spec>`, `plan`, `--check` and `diff`."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from generator.analysis import analyse, auth
from generator.errors import GenSourceError
from generator.overrides import apply_overrides, load_overrides
from generator.plan import Plan
from generator.render.files import render_index, render_source, summary
from generator.render.writer import read_tree, safe_child, write_file, write_tree
from generator.spec.loader import Loaded, check_name, load, pins
from generator.webhooks.plan import plan_webhooks


@dataclass
class Options:
    root: Path
    out: Path | None = None
    name: str | None = None
    no_overrides: bool = False
    strict: bool = False
    allow_external_refs: bool = False
    # openapi-spec-validator: off unless asked for (`--validate`, `--strict`). The plan
    # reads the spec through its own checks; the full validation takes longer than the
    # rest of generation, and what it finds is printed, never written into files.
    validate: bool = False

    @property
    def out_root(self) -> Path:
        return (self.out or self.root / "generated").resolve()


def make_plan(
    arg: str, opts: Options, *, defer_validation: bool = False
) -> tuple[Plan, Loaded]:
    """`defer_validation`: a background validation may still be running; the caller
    collects it with `finish_validation(plan, loaded)` (its warnings go first)."""
    loaded = load(
        arg,
        root=opts.root,
        name=opts.name,
        allow_external=opts.allow_external_refs,
        validate_spec=opts.validate,
        strict=opts.strict,
        background=True,
    )
    check_name(loaded.name)
    plan = analyse(loaded.spec, loaded.name)
    data = None
    if not opts.no_overrides:
        file = opts.root / "overrides" / f"{loaded.name}.yaml"
        data = load_overrides(file)
        if data is not None:
            apply_overrides(plan, data, f"overrides/{loaded.name}.yaml")
    auth.settle_scopes(plan, data)
    plan.webhooks = plan_webhooks(
        loaded.spec, plan, data, f"overrides/{loaded.name}.yaml"
    )
    if plan.webhooks is not None:
        plan.warnings.extend(plan.webhooks.warnings)
    plan.sort()
    if not defer_validation:
        finish_validation(plan, loaded)
    return plan, loaded


def finish_validation(plan: Plan, loaded: Loaded) -> None:
    plan.warnings[:0] = loaded.spec.finish_validation()


def render(plan: Plan, opts: Options) -> dict[str, str]:
    target = safe_child(opts.out_root, plan.source)
    return render_source(plan, out_dir=target, project_root=opts.root)


def generate(arg: str, opts: Options) -> tuple[Plan, Path, bool]:
    """Generate one source; returns (plan, folder, whether any byte changed). The files
    are a function of the spec, the overrides and the tool: a validation (`--validate`, a
    child process on a cold run) only adds its findings to the plan's warnings after they
    are rendered, for the command to print."""
    plan, loaded = make_plan(arg, opts, defer_validation=True)
    files = render(plan, opts)
    finish_validation(plan, loaded)
    target = safe_child(opts.out_root, plan.source)
    changed = read_tree(target) != files
    if changed:
        write_tree(target, files)
    index = opts.out_root / "SOURCES.md"
    new_index = updated_index(index, plan)
    if not index.is_file() or index.read_text() != new_index:
        write_file(index, new_index)
        changed = True
    return plan, target, changed


ROW_RE = re.compile(r"^\| \[(?P<name>[^\]]+)\]\(")


def updated_index(index: Path, plan: Plan) -> str:
    """SOURCES.md with this source's row replaced (other sources' rows kept as they are)."""
    rows: dict[str, str] = {}
    if index.is_file():
        for line in index.read_text().splitlines():
            m = ROW_RE.match(line)
            if m:
                rows[m["name"]] = line
    rows[plan.source] = render_index([summary(plan)]).splitlines()[-1]
    text = render_index([])
    return text + "".join(rows[k] + "\n" for k in sorted(rows))


def generated_sources(opts: Options) -> list[str]:
    root = opts.out_root
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith((".", "_"))
    )


def check(opts: Options) -> list[str]:
    """Regenerate every generated source in memory; return the files that differ."""
    differ: list[str] = []
    pinned = {p.name for p in pins(opts.root)}
    rows = []
    for name in generated_sources(opts):
        if name not in pinned:
            raise GenSourceError(
                f"generated/{name} has no pin specs/{name}.toml to regenerate it from; "
                f"write one with `gen-source pin <file|url> --name {name}`",
                where="--check",
            )
        plan, _ = make_plan(name, Options(**{**opts.__dict__, "name": None}))
        rows.append(summary(plan))
        target = opts.out_root / name
        expected = render(plan, opts)
        actual = read_tree(target)
        for rel in sorted(set(expected) | set(actual)):
            if expected.get(rel) != actual.get(rel):
                differ.append(
                    f"{target.relative_to(opts.out_root.parent) if opts.out is None else target}/{rel}"
                )
    index = opts.out_root / "SOURCES.md"
    if rows:
        want = render_index(sorted(rows, key=lambda r: r["name"]))
        if not index.is_file() or index.read_text() != want:
            differ.append(
                str(index.relative_to(opts.root)) if opts.out is None else str(index)
            )
    return differ


def diff(name: str, opts: Options) -> str:
    plan, _ = make_plan(name, opts)
    target = safe_child(opts.out_root, plan.source)
    expected = render(plan, opts)
    actual = read_tree(target)
    out: list[str] = []
    for rel in sorted(set(expected) | set(actual)):
        a, b = actual.get(rel, ""), expected.get(rel, "")
        if a != b:
            out.extend(
                difflib.unified_diff(
                    a.splitlines(keepends=True),
                    b.splitlines(keepends=True),
                    f"a/{plan.source}/{rel}",
                    f"b/{plan.source}/{rel}",
                )
            )
    return "".join(out)
