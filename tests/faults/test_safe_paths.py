"""Safe file system and network, through the real CLI: no name (CLI, pin or override) can
write outside `generated/`, and a connector refuses loopback, private, link-local and
unspecified base URLs unless `--allow-private-hosts` is given (no connection is attempted).
"""

from __future__ import annotations

import pytest

from .clitools import Listener, cli_env, run_cli, tree_bytes
from .test_bad_specs import OK_SPEC


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return cli_env(GEN_SOURCE_CACHE=str(tmp_path_factory.mktemp("cache")))


def one_line_refusal(run, where: str) -> str:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"gen-source: {where}"), run.stderr
    return lines[0]


@pytest.mark.parametrize("name", ["../x", "/etc/x", "x/y", "..", "a\\b", "X", "x\n"])
def test_name_that_would_leave_generated_is_refused(name, tmp_path, env):
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "ok.yaml").write_text(OK_SPEC)
    run = run_cli(
        ["ok.yaml", "--out", str(tmp_path / "out"), "--name", name],
        cwd=tmp_path / "spec",
        env=env,
    )
    line = one_line_refusal(run, "--name: invalid source name")
    assert repr(name) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "spec"
    ]  # nothing written anywhere
    assert sorted(p.name for p in (tmp_path / "spec").iterdir()) == ["ok.yaml"]


@pytest.mark.parametrize("verb", [["sync", "--all"], ["diff"]])
@pytest.mark.parametrize("source", ["../x", "/etc"])
def test_source_argument_that_would_leave_generated_is_refused(
    verb, source, tmp_path, env
):
    (tmp_path / "out").mkdir()
    run = run_cli(
        [verb[0], source, *verb[1:], "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert tree_bytes(tmp_path) == {}


def test_pin_whose_name_would_leave_generated_is_refused(tmp_path, env):
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "mirror").mkdir()
    (root / "mirror" / "ok.yaml").write_text(OK_SPEC)
    (root / "specs" / "evil.toml").write_text(
        'name = "../evil"\nurl = "https://example.com/ok.yaml"\nsha256 = "00"\nmirror_path = "ok.yaml"\n'
    )
    run = run_cli(
        ["evil"],
        cwd=root,
        env=dict(env, GEN_SOURCE_ROOT=str(root), GEN_SOURCE_SPECS=str(root / "mirror")),
    )
    line = one_line_refusal(run, "--name: invalid source name")
    assert "'../evil'" in line
    assert not (tmp_path / "evil").exists() and not (root / "generated").exists()


def test_override_renaming_a_table_outside_is_refused(tmp_path, env):
    root = tmp_path / "project"
    (root / "overrides").mkdir(parents=True)
    (root / "ok.yaml").write_text(OK_SPEC)
    (root / "overrides" / "ok.yaml").write_text(
        'endpoints:\n  "GET /things":\n    name: "../../evil"\n'
    )
    run = run_cli(["ok.yaml"], cwd=root, env=dict(env, GEN_SOURCE_ROOT=str(root)))
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert len(run.stderr.splitlines()) == 1
    assert "overrides/ok.yaml" in run.stderr and "name" in run.stderr
    assert not (root / "generated").exists() and not (tmp_path / "evil").exists()


# ---- base URLs ----------------------------------------------------------------------------

EMPTY_PAGE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]"


@pytest.fixture(scope="module")
def listener():
    server = Listener(reply=EMPTY_PAGE)
    yield server
    server.close()


@pytest.fixture(scope="module")
def connector(tmp_path_factory, env, listener):
    """A connector whose spec itself names a loopback server (the listener)."""
    folder = tmp_path_factory.mktemp("connector")
    (folder / "local.yaml").write_text(
        OK_SPEC.replace("https://api.example.com", f"http://127.0.0.1:{listener.port}")
    )
    run = run_cli(["local.yaml", "--out", str(folder / "out")], cwd=folder, env=env)
    assert run.returncode == 0, run.stderr
    return folder


UNSAFE = {
    "loopback": "http://127.0.0.1:{port}",
    "loopback by name": "http://localhost:{port}",
    "loopback as a number": "http://2130706433:{port}",
    "loopback v6": "http://[::1]:{port}",
    "link-local (cloud metadata)": "http://169.254.169.254",
    "private": "http://10.0.0.1",
    "unspecified": "http://0.0.0.0:{port}",
}


def sync(connector, env, *extra: str):
    return run_cli(
        [
            "sync",
            "local",
            "--all",
            "--out",
            str(connector / "out"),
            "--dest",
            str(connector / "wh"),
            *extra,
        ],
        cwd=connector,
        env=dict(env, GEN_SOURCE_LOCAL_TOKEN="t0ken"),
    )


@pytest.mark.parametrize("kind", sorted(UNSAFE))
def test_unsafe_base_url_is_refused_without_the_flag_and_never_contacted(
    kind, connector, env, listener
):
    before = listener.accepted
    run = sync(connector, env, "--base-url", UNSAFE[kind].format(port=listener.port))
    assert run.returncode != 0
    assert "refusing it" in run.stderr and "Traceback" not in run.stderr
    assert listener.accepted == before  # refused before any connection
    assert run.stderr.splitlines()[-1].startswith("gen-source: --base-url: ")


def test_base_url_from_the_spec_is_checked_too(connector, env, listener):
    before = listener.accepted
    run = sync(connector, env)
    assert run.returncode != 0 and "loopback address; refusing it" in run.stderr
    assert listener.accepted == before


def test_allow_private_hosts_lets_the_same_sync_connect(connector, env, listener):
    """Positive control: with the flag the same sync reaches the listener (an empty page)."""
    before = listener.accepted
    run = sync(
        connector,
        env,
        "--allow-private-hosts",
        "--base-url",
        f"http://127.0.0.1:{listener.port}",
    )
    assert run.returncode == 0, run.stderr
    assert listener.accepted == before + 1


def test_unsafe_base_url_is_one_line_naming_the_cli_flag(connector, env, listener):
    run = sync(connector, env, "--base-url", f"http://127.0.0.1:{listener.port}")
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.stderr.splitlines()) == 1 and "--allow-private-hosts" in run.stderr


def test_events_option_on_a_connector_without_webhooks_is_one_line(
    connector, env, listener
):
    run = sync(
        connector,
        env,
        "--base-url",
        f"http://127.0.0.1:{listener.port}",
        "--allow-private-hosts",
        "--events",
        str(connector / "events.db"),
    )
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert (
        run.stderr.splitlines()[-1]
        == "gen-source: --events: this connector has no webhooks (no webhooks.py)"
    )
    assert not (connector / "events.db").exists()
