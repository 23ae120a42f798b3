"""One user-error base class: every runtime error a user can cause is a
`runtime.errors.UserError`, and the CLI prints any of them in one line without knowing
the subclass (no per-type translation)."""

from __future__ import annotations

import importlib.util

import pytest

from generator.errors import GenSourceError, OverrideError, SpecError
from runtime.delta.storage import DestinationError, parse_destination
from runtime.errors import UserError, about
from runtime.http.auth import AuthConfigError, TokenError
from runtime.http.client import HttpError
from runtime.http.hosts import UnsafeHostError, check_url
from runtime.source.config_input import ConfigError
from runtime.source.sources import SourceConfigError
from runtime.state.locks import TableBusyError
from runtime.state.store import StateStoreError
from runtime.webhooks.serve import ServeError
from runtime.webhooks.store import EventStoreError
from tests.faults.clitools import ROOT, cli_env, run_cli

USER_ERRORS = [
    ConfigError,
    SourceConfigError,
    UnsafeHostError,
    HttpError,
    AuthConfigError,
    TokenError,
    DestinationError,
    StateStoreError,
    TableBusyError,
    EventStoreError,
    ServeError,
    GenSourceError,
    OverrideError,
    SpecError,
]


@pytest.mark.parametrize("cls", USER_ERRORS, ids=lambda c: c.__name__)
def test_every_error_a_user_can_cause_is_a_user_error(cls):
    assert issubclass(cls, UserError)


def test_about_names_the_input_only_when_the_error_names_none():
    with pytest.raises(DestinationError) as err, about("--dest"):
        parse_destination("ftp://host/x")
    assert str(err.value).startswith(
        "--dest: --dest ftp://host/x: unsupported scheme ftp://"
    )
    with pytest.raises(UnsafeHostError) as err, about("--base-url"):
        check_url("http://127.0.0.1:9")
    assert str(err.value).startswith(
        "--base-url: host '127.0.0.1' is a loopback address; refusing it"
    )
    named = GenSourceError("bad", where="overrides/x.yaml")
    with pytest.raises(GenSourceError) as err, about("--out"):
        raise named
    assert str(err.value) == "overrides/x.yaml: bad"


def _sync(tmp_path, *extra):
    env = cli_env(GEN_SOURCE_STRIPE_TOKEN="sk_test_x", GEN_SOURCE_ROOT=str(ROOT))
    return run_cli(
        [
            "sync",
            "stripe",
            "--schema",
            "customers",
            "--base-url",
            "http://127.0.0.1:9",
            "--allow-private-hosts",
            *extra,
        ],
        cwd=tmp_path,
        env=env,
    )


def one_line(run) -> str:
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.mark.skipif(
    importlib.util.find_spec("redis") is not None,
    reason="with the redis extra installed the store opens",
)
def test_a_state_store_error_is_one_line_though_the_cli_names_no_such_type(tmp_path):
    run = _sync(
        tmp_path, "--dest", str(tmp_path / "wh"), "--state", "redis://127.0.0.1:1/0"
    )
    assert one_line(run).startswith(
        "gen-source: stripe: a redis:// state store needs the 'redis' package"
    )


def test_destination_and_config_errors_are_one_line(tmp_path):
    line = one_line(_sync(tmp_path, "--dest", "ftp://host/x"))
    assert line.startswith("gen-source: --dest ftp://host/x: unsupported scheme ftp://")
    line = one_line(
        _sync(
            tmp_path,
            "--dest",
            str(tmp_path / "wh"),
            "--config",
            str(tmp_path / "no.json"),
        )
    )
    assert line == f"gen-source: stripe: {tmp_path / 'no.json'}: no such file"
    assert not (tmp_path / "wh" / "stripe").exists()
