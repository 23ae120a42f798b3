"""The golden record: generated/ matches what specs/, overrides/ and generator/ produce now,
regeneration is byte-stable, and generated code is clean, black-stable and HTTP-free."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import black
import pytest

from generator.generate import Options, check, generate
from generator.render.writer import read_tree
from runtime.source.connector import load_connector

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated"
SOURCES = (
    sorted(
        p
        for p in GENERATED.iterdir()
        if p.is_dir() and not p.name.startswith((".", "_"))
    )
    if GENERATED.is_dir()
    else []
)
PY_FILES = sorted(
    f for s in SOURCES for f in s.rglob("*.py") if "__pycache__" not in f.parts
)


def test_committed_connectors_exist():
    assert {p.name for p in SOURCES} >= {
        "stripe",
        "github",
        "klaviyo",
        "twilio-api-v2010",
    }


def test_check_finds_no_drift(specs):
    assert check(Options(root=ROOT)) == []


def test_generation_is_byte_identical_and_a_second_run_changes_nothing(specs, tmp_path):
    # A copy of the project, so relative paths in the output (to overrides/) are the same.
    for folder in ("specs", "overrides", "tests/cassettes"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    opts = Options(root=tmp_path)
    _, folder, changed = generate("stripe", opts)
    assert changed
    first = read_tree(folder)
    _, _, changed_again = generate("stripe", opts)
    assert not changed_again
    assert read_tree(folder) == first
    assert first == read_tree(GENERATED / "stripe")


@pytest.mark.parametrize("path", PY_FILES, ids=lambda p: str(p.relative_to(GENERATED)))
def test_black_would_not_change_a_generated_file(path):
    text = path.read_text()
    mode = black.Mode(target_versions={black.TargetVersion.PY311}, line_length=88)
    assert black.format_str(text, mode=mode) == text


def test_ruff_check_passes_on_generated_code():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "E4,E7,E9,F,B",
            str(GENERATED),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_generated_connector_imports(source):
    package = load_connector(source)
    assert package.settings.ENDPOINTS
    assert package.source.__name__.endswith(".source")


HTTP_MODULES = {"httpx", "requests", "urllib", "urllib3", "http", "socket", "aiohttp"}
# What sends a request or opens a connection (httpx.URL() and friends only build values).
HTTP_CALLS = {
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "head",
    "options",
    "request",
    "stream",
    "Client",
    "AsyncClient",
    "urlopen",
    "create_connection",
    "Session",
}


def _http_use(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [
                a.name for a in node.names if a.name.split(".")[0] in HTTP_MODULES
            ]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0] in HTTP_MODULES
        ):
            found.append(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            if (
                isinstance(base, ast.Name)
                and base.id in HTTP_MODULES
                and node.func.attr in HTTP_CALLS
            ):
                found.append(f"{base.id}.{node.func.attr}()")
    return found


@pytest.mark.parametrize("path", PY_FILES, ids=lambda p: str(p.relative_to(GENERATED)))
def test_generated_code_makes_no_http_call_of_its_own(path):
    assert _http_use(ast.parse(path.read_text())) == []


def test_only_the_client_factory_calls_httpx_in_the_runtime():
    allowed = {
        "http/client.py",
        "http/auth.py",
    }  # the client factory and its auth flows
    offenders = {}
    for path in sorted((ROOT / "runtime").rglob("*.py")):
        calls = [c for c in _http_use(ast.parse(path.read_text())) if c.endswith("()")]
        if calls and path.relative_to(ROOT / "runtime").as_posix() not in allowed:
            offenders[str(path.relative_to(ROOT))] = calls
    assert offenders == {}
