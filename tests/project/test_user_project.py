"""gen-source in the user's own repository, run as a user would: the CLI in a subprocess
whose working directory is a fresh project folder (the tool's code lives elsewhere).

`init` makes the layout, `pin` pins a spec from the mirror, `gen-source <name>`
generates, `--check` and the project's `ci/check` pass; the project is found from a
sub-folder, by `--root` and by GEN_SOURCE_ROOT, never at the install location; command
names are refused as source names; a connector generated with an override module
refuses to run without it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from generator.cli import VERBS
from generator.errors import GenSourceError
from generator.spec.loader import COMMAND_NAMES, check_name

ROOT = Path(__file__).resolve().parents[2]
SPEC = ("resend", "resend.yaml")  # small (220 KB), 23 tables, webhooks


def run(
    args: list[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    command: list[str] | None = None,
) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.pop("GEN_SOURCE_ROOT", None)
    full["PYTHONPATH"] = str(ROOT)  # the tool's code, from outside the project
    full.update(env or {})
    argv = command or [sys.executable, "-m", "generator.cli", *args]
    return subprocess.run(
        argv, cwd=cwd, env=full, capture_output=True, text=True, timeout=timeout
    )


def ok(done: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def one_line(done: subprocess.CompletedProcess, status: int = 2) -> str:
    assert done.returncode == status, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def spec_file(specs) -> Path:
    return specs / SPEC[0] / SPEC[1]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> dict[str, str]:
    return {"GEN_SOURCE_CACHE": str(tmp_path_factory.mktemp("cache"))}


@pytest.fixture(scope="module")
def install_location() -> dict[str, bytes]:
    """What the tool's own checkout holds: no command run from a project may change
    it."""
    return {f: tree(ROOT / f) for f in ("specs", "generated", "overrides")}


@pytest.fixture(scope="module")
def project(tmp_path_factory, spec_file, cache, install_location):
    """init, pin, generate, check: each clean, from the new project's folder."""
    folder = tmp_path_factory.mktemp("users-repo")
    ok(run(["init"], folder, env=cache))
    pin = ok(run(["pin", str(spec_file)], folder, env=cache))
    assert "gen-source resend" in pin.stdout
    generated = ok(run(["resend"], folder, env=cache))
    assert "not pinned" not in generated.stdout
    assert (
        "gen-source --check: generated/ is up to date"
        in ok(run(["--check"], folder, env=cache)).stdout
    )
    return folder


def test_init_creates_the_layout_with_a_ci_check(tmp_path, cache):
    done = ok(run(["init", "repo"], tmp_path, env=cache))
    repo = tmp_path / "repo"
    assert str(repo) in done.stdout
    assert sorted(tree(repo)) == [
        ".github/workflows/gen-source.yml",
        ".gitignore",
        "README.md",
        "ci/check",
        "generated/.gitkeep",
        "overrides/README.md",
        "specs/.gitkeep",
    ]
    assert "gen-source --check" in (repo / "ci" / "check").read_text()
    assert "ci/check" in (repo / ".github" / "workflows" / "gen-source.yml").read_text()
    assert os.access(repo / "ci" / "check", os.X_OK)
    # An empty project checks clean, and its CI script passes.
    assert "up to date" in ok(run(["--check"], repo, env=cache)).stdout
    ok(run([], repo, env=cache, command=[str(repo / "ci" / "check")]))


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path, cache):
    (tmp_path / "README.md").write_text("mine\n")
    line = one_line(run(["init"], tmp_path, env=cache))
    assert line == (
        f"gen-source: {tmp_path}: README.md already exists; init writes only new files "
        "(nothing written)"
    )
    assert tree(tmp_path) == {"README.md": b"mine\n"}


def test_pin_generate_check_in_a_new_project(project, spec_file, install_location):
    pin = tomllib.loads((project / "specs" / "resend.toml").read_text())
    assert pin == {
        "name": "resend",
        "sha256": hashlib.sha256(spec_file.read_bytes()).hexdigest(),
        "mirror_path": "resend/resend.yaml",
    }
    files = tree(project / "generated" / "resend")
    assert {
        "source.py",
        "settings.py",
        "resend.py",
        "config.py",
        "api_inventory.md",
        "tests/test_smoke.py",
    } <= set(files)
    assert (project / "generated" / "SOURCES.md").is_file()
    # The generated connector's own tests pass through the project's CI script.
    done = ok(run([], project, command=[str(project / "ci" / "check")]))
    assert "passed" in done.stdout
    # Nothing was written where the tool is installed.
    assert {f: tree(ROOT / f) for f in install_location} == install_location


def test_generated_connector_imports_runtime_and_its_own_files_only(project):
    """With `generator` made unimportable, the connector still loads and lists its
    tables."""
    code = (
        "import sys; sys.modules['generator'] = None\n"
        "from runtime.source.connector import load_connector\n"
        "package = load_connector('generated/resend')\n"
        "print(len(package.source.ResendSource().get_schemas(None)))\n"
    )
    done = ok(run([], project, command=[sys.executable, "-c", code]))
    assert int(done.stdout) == 23


def test_the_project_is_found_from_a_sub_folder(project, cache):
    deeper = project / "overrides" / "notes"
    deeper.mkdir(exist_ok=True)
    assert "up to date" in ok(run(["--check"], deeper, env=cache)).stdout
    plan = ok(run(["plan", "resend", "--json"], deeper, env=cache))
    assert '"source": "resend"' in plan.stdout


def test_root_option_and_variable_name_the_project_from_anywhere(
    project, tmp_path, cache
):
    assert (
        "up to date"
        in ok(run(["--root", str(project), "--check"], tmp_path, env=cache)).stdout
    )
    assert (
        "up to date"
        in ok(run(["--check", f"--root={project}"], tmp_path, env=cache)).stdout
    )
    env = dict(cache, GEN_SOURCE_ROOT=str(project))
    assert "up to date" in ok(run(["--check"], tmp_path, env=env)).stdout
    line = one_line(
        run(["--root", str(tmp_path / "nope"), "--check"], tmp_path, env=cache)
    )
    assert line == f"gen-source: --root: {tmp_path / 'nope'} is not a folder"


@pytest.mark.parametrize(
    "args", [["--check"], ["resend"], ["pin", "x.yaml"], ["diff", "resend"]]
)
def test_outside_any_project_one_line_names_init(args, tmp_path, cache):
    line = one_line(run(args, tmp_path, env=cache))
    assert line.startswith(f"gen-source: {tmp_path}: not in a gen-source project")
    assert "`gen-source init`" in line and "--root" in line
    assert tree(tmp_path) == {}


def test_every_command_is_a_reserved_name():
    assert set(VERBS) <= COMMAND_NAMES
    for name in VERBS:
        with pytest.raises(GenSourceError, match="is a gen-source command"):
            check_name(name)
    assert check_name("resend") == "resend"


@pytest.mark.parametrize("name", ["pin", "sync", "check-credentials"])
def test_command_names_are_refused_as_source_names(name, project, spec_file, cache):
    before = tree(project)
    # As --name, for pin and for generating.
    for args in (
        ["pin", str(spec_file), "--name", name],
        [str(spec_file), "--name", name],
    ):
        line = one_line(run(args, project, env=cache))
        assert line == (
            f"gen-source: --name: source name {name!r} is a gen-source command; "
            "choose another with --name"
        )
    # As the name a file would get.
    copy = project / "overrides" / "notes" / f"{name}.yaml"
    copy.parent.mkdir(exist_ok=True)
    copy.write_bytes(spec_file.read_bytes())
    try:
        for args in (["pin", str(copy)], [str(copy)]):
            line = one_line(run(args, project, env=cache))
            derived = name.replace("-", "_")
            assert line.startswith(
                f"gen-source: {copy}: source name {derived!r} is a gen-source"
            )
    finally:
        copy.unlink()
    assert tree(project) == before


def test_generate_by_path_then_by_pin_and_check_is_clean(tmp_path, spec_file, cache):
    """The output depends on the spec's bytes, not on how it was named: generated by
    file path, then pinned, `--check` is clean without regenerating, and by pin nothing
    changes."""
    ok(run(["init"], tmp_path, env=cache))
    by_path = ok(run([str(spec_file)], tmp_path, env=cache))
    hint = [line for line in by_path.stdout.splitlines() if "not pinned" in line]
    assert hint == [
        f"resend is not pinned, so `gen-source --check` cannot regenerate it: "
        f"`gen-source pin {spec_file}` writes specs/resend.toml"
    ]
    first = tree(tmp_path / "generated")

    line = one_line(run(["--check"], tmp_path, env=cache))
    assert line == (
        "gen-source: --check: generated/resend has no pin specs/resend.toml to "
        "regenerate it from; write one with `gen-source pin <file|url> --name resend`"
    )

    ok(run(["pin", str(spec_file)], tmp_path, env=cache))
    assert "up to date" in ok(run(["--check"], tmp_path, env=cache)).stdout
    by_pin = ok(run(["resend"], tmp_path, env=cache))
    assert "(unchanged)" in by_pin.stdout and "not pinned" not in by_pin.stdout
    assert tree(tmp_path / "generated") == first


def test_pin_of_a_project_file_stores_its_path(project, spec_file, cache):
    local = project / "specs" / "files" / "acme.yaml"
    local.parent.mkdir()
    local.write_bytes(spec_file.read_bytes())
    try:
        done = ok(run(["pin", "files/acme.yaml"], project / "specs", env=cache))
        assert "specs/acme.toml (written)" in done.stdout
        pin = tomllib.loads((project / "specs" / "acme.toml").read_text())
        assert pin["path"] == "specs/files/acme.yaml" and "url" not in pin
        again = ok(
            run(["pin", "specs/files/acme.yaml", "--name", "acme"], project, env=cache)
        )
        assert "(unchanged)" in again.stdout
        plan = ok(run(["plan", "acme", "--json", "--no-validate"], project, env=cache))
        assert '"source": "acme"' in plan.stdout
    finally:
        (project / "specs" / "acme.toml").unlink()
        local.unlink()
        local.parent.rmdir()


def test_connector_without_its_override_module_fails_at_import(
    project, cache, tmp_path
):
    hooks = project / "overrides" / "resend.py"
    hooks.write_text("def transform_row(endpoint_name, row):\n    return row\n")
    try:
        ok(run(["resend"], project, env=cache))
        transport = (project / "generated" / "resend" / "resend.py").read_text()
        assert (
            'HOOKS = load_hooks(Path(__file__).parent / "../../overrides/resend.py")'
            in transport
        )
        loaded = ok(
            run(
                [],
                project,
                command=[
                    sys.executable,
                    "-c",
                    "from runtime.source.connector import load_connector\n"
                    "print(load_connector('generated/resend').resend.HOOKS.__name__)",
                ],
            )
        )
        assert loaded.stdout.strip() == "gen_source_connectors_hooks.resend"
    finally:
        hooks.unlink()
    line = one_line(
        run(
            ["sync", "resend", "--all", "--dest", str(tmp_path / "wh")],
            project,
            env=cache,
        )
    )
    assert line == (
        f"gen-source: resend: override module {hooks} is missing: the connector was "
        "generated with it and does not run without it (restore the file, or "
        "regenerate the connector)"
    )
    assert not (tmp_path / "wh").exists()
    # Regenerated without it, the connector runs without hooks; the check is clean.
    ok(run(["resend"], project, env=cache))
    assert (
        "HOOKS = None" in (project / "generated" / "resend" / "resend.py").read_text()
    )
    assert "up to date" in ok(run(["--check"], project, env=cache)).stdout


def test_pin_of_a_url_downloads_once_and_regenerates_offline(
    project, spec_file, cache, httpserver
):
    """A URL pin: the URL and sha256 recorded, the download cached, so the spec is found
    again (not in the mirror under its name) and `--check` is clean."""
    httpserver.expect_request("/specs/resend.yaml").respond_with_data(
        spec_file.read_bytes()
    )
    url = httpserver.url_for("/specs/resend.yaml")
    index = (project / "generated" / "SOURCES.md").read_bytes()
    try:
        ok(run(["pin", url, "--name", "acme"], project, env=cache))
        pin = tomllib.loads((project / "specs" / "acme.toml").read_text())
        assert pin == {
            "name": "acme",
            "url": url,
            "sha256": hashlib.sha256(spec_file.read_bytes()).hexdigest(),
            "mirror_path": "acme/resend.yaml",
        }
        requests = len(httpserver.log)
        ok(run(["acme"], project, env=cache))
        assert "up to date" in ok(run(["--check"], project, env=cache)).stdout
        assert len(httpserver.log) == requests == 1
    finally:
        (project / "specs" / "acme.toml").unlink()
        shutil.rmtree(project / "generated" / "acme", ignore_errors=True)
        (project / "generated" / "SOURCES.md").write_bytes(index)
