"""The bad-spec corpus (tests/bad_specs/) through the real CLI in subprocesses.

Fatal cases: one line `gen-source: <file>[#<pointer>]: <what>`, exit 2, no traceback, no
network, no file outside the spec's folder opened, and the previous `generated/<source>/`
left byte-identical. Tolerated cases: located warnings, generation goes on. Messages are
compared with committed snapshots (UPDATE_SNAPSHOTS=1 rewrites them for review).
"""

from __future__ import annotations

import json
import os
import py_compile
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .clitools import (
    BAD_SPECS,
    CliRun,
    Listener,
    check_snapshot,
    cli_env,
    run_cli,
    tree_bytes,
)

FATAL_DIR = BAD_SPECS / "fatal"
TOLERATED_DIR = BAD_SPECS / "tolerated"
COMMITTED_FATAL = sorted(p.name for p in FATAL_DIR.iterdir())
# Whole-document problems have no narrower place; every other message names a pointer.
NO_POINTER = {
    "binary.json",
    "empty.yaml",
    "not_utf8.yaml",
    "not_openapi.json",
    "top_level_list.yaml",
    "too_deep.json",
}
SECRET_FILES = ("outside/secret.yaml", "/etc/passwd")

OK_SPEC = """openapi: 3.0.3
info: {title: Previous, version: "1"}
servers: [{url: "https://api.example.com"}]
security: [{token: []}]
components: {securitySchemes: {token: {type: http, scheme: bearer}}}
paths:
  /things:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {type: object, properties: {id: {type: string}}}}
"""


def deep_schema(levels: int, *, flow_yaml: bool = False) -> str:
    """A spec whose one response schema nests `levels` objects inside each other (as JSON,
    or as flow-style YAML with bare keys, which only the YAML parser reads)."""
    q = (lambda s: s) if flow_yaml else (lambda s: f'"{s}"')
    inner = f"{{{q('type')}: {q('string')}}}"
    for _ in range(levels):
        inner = (
            f"{{{q('type')}: {q('object')}, {q('properties')}: {{{q('id')}: {{{q('type')}: {q('string')}}}, "
            f"{q('child')}: {inner}}}}}"
        )
    schema = {"type": "array", "items": "@INNER@"}
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Deep", "version": "1"},
        "servers": [{"url": "https://api.example.com"}],
        "paths": {
            "/things": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": schema}},
                        }
                    }
                }
            }
        },
    }
    text = json.dumps(doc).replace('"@INNER@"', inner)
    return f"# {levels} levels\n{text}" if flow_yaml else text


def make_generated_cases(folder: Path) -> list[str]:
    """Fatal cases built at test time (too big to commit, or needing a symlink)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "too_deep.json").write_text("[" * 20_001 + "]" * 20_001)
    (folder / "too_deep_flow.yaml").write_text(deep_schema(6_000, flow_yaml=True))
    outside = folder.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "secret.yaml").write_text(
        (BAD_SPECS / "outside" / "secret.yaml").read_text()
    )
    (folder / "models").mkdir(exist_ok=True)
    link = folder / "models" / "pet.yaml"
    if not link.exists():
        link.symlink_to(
            outside / "secret.yaml"
        )  # inside the folder by name, outside in fact
    (folder / "symlink_ref.yaml").write_text(
        OK_SPEC.replace(
            "{type: array, items: {type: object, properties: {id: {type: string}}}}",
            "{type: array, items: {$ref: 'models/pet.yaml#/Pet'}}",
        )
    )
    return ["symlink_ref.yaml", "too_deep.json", "too_deep_flow.yaml"]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return cli_env(GEN_SOURCE_CACHE=str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def previous(tmp_path_factory, env) -> Path:
    """A real earlier generation: each fatal case must leave a copy of it untouched."""
    folder = tmp_path_factory.mktemp("previous")
    (folder / "ok.yaml").write_text(OK_SPEC)
    run = run_cli(["ok.yaml", "--out", str(folder / "out")], cwd=folder, env=env)
    assert run.returncode == 0, run.stderr
    return folder / "out"


@pytest.fixture(scope="module")
def fatal_runs(tmp_path_factory, env, previous) -> dict[str, tuple[CliRun, dict, dict]]:
    """Every fatal case, run concurrently: case -> (run, out tree before, out tree after)."""
    work = tmp_path_factory.mktemp("fatal")
    generated = make_generated_cases(work / "cases")
    jobs = [(name, FATAL_DIR) for name in COMMITTED_FATAL] + [
        (name, work / "cases") for name in generated
    ]

    def one(job: tuple[str, Path]) -> tuple[str, tuple[CliRun, dict, dict]]:
        name, cwd = job
        out = work / "out" / name
        shutil.copytree(previous / "ok", out / Path(name).stem)
        shutil.copy(previous / "SOURCES.md", out / "SOURCES.md")
        before = tree_bytes(out)
        run = run_cli(
            [name, "--out", str(out)],
            cwd=cwd,
            env=env,
            audit_log=work / f"{name}.audit",
        )
        return name, (run, before, tree_bytes(out))

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(one, jobs))


ALL_FATAL = COMMITTED_FATAL + [
    "symlink_ref.yaml",
    "too_deep.json",
    "too_deep_flow.yaml",
]


def test_the_corpus_has_the_cases_the_issue_lists():
    assert len(ALL_FATAL) >= 15 and len(sorted(TOLERATED_DIR.iterdir())) >= 3
    print(
        f"\nbad-spec corpus: {len(ALL_FATAL)} fatal + {len(list(TOLERATED_DIR.iterdir()))} tolerated "
        "+ 2 must-work (deep schema JSON/YAML) + 1 large spec"
    )


@pytest.mark.parametrize("case", ALL_FATAL)
def test_fatal_spec_gives_one_located_line_and_writes_nothing(case, fatal_runs):
    run, before, after = fatal_runs[case]
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith(f"gen-source: {case}")
    if case not in NO_POINTER:
        assert re.match(rf"gen-source: {re.escape(case)}#/\S*: ", lines[0]), lines[0]
    assert after == before, "a failed generation changed the previous output"
    check_snapshot(f"fatal/{Path(case).stem}", run.stderr)


@pytest.mark.parametrize("case", ALL_FATAL)
def test_fatal_spec_opens_no_outside_file_and_no_socket(case, fatal_runs):
    run = fatal_runs[case][0]
    assert run.events, "the audit hook logged nothing"
    assert run.network == []
    assert not [p for p in run.opened if p.endswith(SECRET_FILES)]


def test_the_audit_hook_sees_child_processes_too(tmp_path):
    """The proof below covers every Python process of a run (the background validator is one)."""
    import subprocess
    import sys

    from .clitools import AUDIT_SITE

    target = tmp_path / "read-by-the-child.txt"
    target.write_text("x")
    log = tmp_path / "audit"
    child = f"open({str(target)!r}).read()"
    env = cli_env(GEN_SOURCE_AUDIT_LOG=str(log), PYTHONPATH=str(AUDIT_SITE))
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])",
        ],
        env=env,
        check=True,
    )
    events = [json.loads(line) for line in log.read_text().splitlines()]
    pids = {pid for pid, _, _ in events}
    opener = {
        pid for pid, event, arg in events if event == "open" and arg == str(target)
    }
    assert len(pids) == 2 and len(opener) == 1


@pytest.mark.parametrize("flag", [[], ["--allow-external-refs"]])
def test_url_refs_anywhere_are_never_fetched(tmp_path, env, flag):
    """URL refs in a path item, a nested property and an unused component: refused with or
    without --allow-external-refs, and no connection ever reaches the URL's server."""
    listener = Listener()
    url = f"http://127.0.0.1:{listener.port}"
    spec = OK_SPEC.replace(
        "properties: {id: {type: string}}",
        f"properties: {{id: {{type: string}}, owner: {{$ref: '{url}/owner.json'}}}}",
    )
    spec += (
        f"  /remote:\n    $ref: '{url}/path-item.yaml'\n"
        f"x-unused: {{schema: {{$ref: '{url}/unused.json'}}}}\n"
    )
    spec = spec.replace(
        "components: {", f"components: {{schemas: {{U: {{$ref: '{url}/u.json'}}}}, "
    )
    (tmp_path / "remote.yaml").write_text(spec)
    try:
        run = run_cli(
            ["remote.yaml", "--out", str(tmp_path / "out"), *flag],
            cwd=tmp_path,
            env=env,
            audit_log=tmp_path / "audit",
        )
    finally:
        listener.close()
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1, run.stderr
    assert re.match(
        r"gen-source: remote\.yaml#/\S+: \$ref to a URL (refused|is not supported)",
        run.stderr,
    )
    assert listener.accepted == 0
    assert run.network == []
    assert not (tmp_path / "out").exists()


def test_outside_ref_is_followed_only_with_the_flag(tmp_path, env):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text(
        (BAD_SPECS / "outside" / "secret.yaml").read_text()
    )
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "api.yaml").write_text(
        OK_SPEC.replace(
            "{type: array, items: {type: object, properties: {id: {type: string}}}}",
            "{type: array, items: {$ref: '../outside/secret.yaml#/Pet'}}",
        )
    )
    refused = run_cli(
        ["api.yaml", "--out", str(tmp_path / "out")],
        cwd=tmp_path / "spec",
        env=env,
        audit_log=tmp_path / "a1",
    )
    assert refused.returncode == 2
    assert "--allow-external-refs" in refused.stderr
    assert not [p for p in refused.opened if p.endswith("secret.yaml")]
    allowed = run_cli(
        ["api.yaml", "--out", str(tmp_path / "out"), "--allow-external-refs"],
        cwd=tmp_path / "spec",
        env=env,
        audit_log=tmp_path / "a2",
    )
    assert allowed.returncode == 0, allowed.stderr
    assert [p for p in allowed.opened if p.endswith("secret.yaml")]
    assert '"secret"' in (tmp_path / "out" / "api" / "settings.py").read_text()


# ---- tolerated: located warnings, generation goes on ---------------------------------------

TOLERATED = {
    # case: (tables that must be generated, tables that must not, places warnings must name)
    "dangling_ref.yaml": (
        {"pets"},
        {"toys", "owners"},
        [
            "dangling_ref.yaml#/components/schemas/Pet/properties/owner: dangling $ref",
            "dangling_ref.yaml#/paths/~1toys/get/parameters/0: dangling $ref",
            "dangling_ref.yaml#/paths/~1owners/get/responses/200/content/application~1json/schema: dangling $ref",
        ],
    ),
    "duplicate_operation_ids.yaml": (
        {"pets", "toys"},
        set(),
        [
            "duplicate_operation_ids.yaml#/paths/~1toys/get/operationId: duplicate operationId 'list'"
        ],
    ),
    "circular_refs.yaml": (
        {"nodes"},
        set(),
        ["circular_refs.yaml#/components/schemas/Loop: $ref cycle"],
    ),
}
SPEC_WARNING = re.compile(
    r"^warning: (\S+#\S*|\S+\.(yaml|json)|GET \S+ \(/paths\S*\)): "
)


def endpoint_names(settings: Path) -> set[str]:
    return set(
        re.findall(r'^    "([^"]+)": EndpointConfig\(', settings.read_text(), re.M)
    )


@pytest.mark.parametrize("case", sorted(TOLERATED))
def test_tolerated_spec_warns_where_and_generates(case, tmp_path, env):
    run = run_cli(
        [case, "--out", str(tmp_path)],
        cwd=TOLERATED_DIR,
        env=env,
        audit_log=tmp_path / "audit",
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and run.network == []
    present, absent, located = TOLERATED[case]
    names = endpoint_names(tmp_path / Path(case).stem / "settings.py")
    assert present <= names and not (absent & names), names
    for text in located:
        assert f"warning: {text}" in run.stderr
    spec_warnings = [
        line for line in run.stderr.splitlines() if SPEC_WARNING.match(line)
    ]
    check_snapshot(f"tolerated/{Path(case).stem}", "\n".join(spec_warnings) + "\n")


def test_validator_findings_are_printed_never_written(tmp_path, env):
    """`--validate` runs openapi-spec-validator: what it finds is printed with the file,
    and the generated files are byte for byte those of a run without it (the default)."""
    runs = {}
    for flag in ("--validate", "--no-validate"):
        out = tmp_path / flag.strip("-")
        runs[flag] = run_cli(
            ["duplicate_operation_ids.yaml", "--out", str(out), flag],
            cwd=TOLERATED_DIR,
            env=env,
        )
        assert runs[flag].returncode == 0, runs[flag].stderr
    assert (
        "warning: duplicate_operation_ids.yaml#: invalid spec: Operation ID 'list'"
        in runs["--validate"].stderr
    )
    assert "invalid spec" not in runs["--no-validate"].stderr

    def tree(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert tree(tmp_path / "validate") == tree(tmp_path / "no-validate")


# ---- must work: nesting thousands of levels deep -------------------------------------------


@pytest.mark.parametrize(
    "name, levels", [("deep.json", 3_000), ("deep_flow.yaml", 2_000)]
)
def test_schema_nested_thousands_deep_generates(name, levels, tmp_path, env):
    """Thousands of nested objects (twice as many containers): no RecursionError in parsing,
    validation (`--validate`), analysis or rendering; the validator's recursion becomes a
    warning."""
    (tmp_path / name).write_text(deep_schema(levels, flow_yaml=name.endswith(".yaml")))
    run = run_cli(
        [name, "--out", str(tmp_path / "out"), "--validate"], cwd=tmp_path, env=env
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr and "RecursionError" not in run.stderr
    assert (
        f"warning: {name}: validation skipped: the validator recursed too deeply"
        in run.stderr
    )
    folder = tmp_path / "out" / Path(name).stem
    for py in folder.rglob("*.py"):
        py_compile.compile(str(py), doraise=True)
    assert "things" in endpoint_names(folder / "settings.py")
    check_snapshot(
        f"tolerated/{Path(name).stem}",
        "\n".join(line for line in run.stderr.splitlines() if SPEC_WARNING.match(line))
        + "\n",
    )
