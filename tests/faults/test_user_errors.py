"""Mistakes a user can make on the command line, each answered by one line and a
non-zero exit status (no traceback), run as the user runs them: `gen-source` in a child
process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from runtime.source.config_input import env_name

from .clitools import ROOT, cli_env, run_cli
from .test_bad_specs import deep_schema

TWILIO = "twilio-api-v2010"


def no_config_env(source: str) -> dict[str, str]:
    own = env_name(source, "")
    return {k: v for k, v in cli_env().items() if not k.startswith(own)}


def one_line(run) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    lines = [
        line for line in run.stderr.splitlines() if not line.startswith("warning: ")
    ]
    assert len(lines) == 1, run.stderr
    return lines[0]


# ---- --dest that is not a folder ----------------------------------------------------


def test_sync_dest_that_is_a_file_names_the_path(tmp_path):
    afile = tmp_path / "warehouse.txt"
    afile.write_text("notes\n")
    env = {**cli_env(), env_name("stripe", "token"): "sk_test_x"}
    base = [
        "sync",
        "stripe",
        "--schema",
        "customers",
        "--base-url",
        "http://127.0.0.1:9",
        "--allow-private-hosts",
    ]
    run = run_cli([*base, "--dest", str(afile)], cwd=tmp_path, env=env)
    assert run.returncode == 2
    assert (
        one_line(run)
        == f"gen-source: --dest {afile}: is a file; give a folder for the tables"
    )
    below = afile / "sub"
    run = run_cli([*base, "--dest", str(below)], cwd=tmp_path, env=env)
    assert run.returncode == 2
    assert one_line(run) == (
        f"gen-source: --dest {below}: is inside {afile}, a file; "
        "give a folder for the tables"
    )
    assert afile.read_text() == "notes\n" and sorted(
        p.name for p in tmp_path.iterdir()
    ) == [afile.name]


def test_status_dest_that_is_a_file_names_the_path(tmp_path):
    afile = tmp_path / "warehouse.txt"
    afile.write_text("")
    run = run_cli(["status", "stripe", "--dest", str(afile)], cwd=tmp_path)
    assert run.returncode == 2
    assert (
        one_line(run)
        == f"gen-source: --dest {afile}: is a file; give a folder for the tables"
    )


# ---- a closed output pipe ------------------------------------------------------------


def test_plan_into_a_closed_pipe_exits_quietly(tmp_path):
    """`gen-source plan stripe | head -1` once head has gone: the read end is closed
    before gen-source writes, so every write meets EPIPE (no race with a real head)."""
    for extra in ([], ["--json"]):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "generator.cli", "plan", "stripe", *extra],
                cwd=ROOT,
                env=cli_env(),
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
            )
        finally:
            os.close(write_end)
        assert proc.returncode == 141, proc.stderr[-2000:]
        other = [
            line
            for line in proc.stderr.splitlines()
            if not line.startswith("warning: ")
        ]
        assert other == [], proc.stderr[-2000:]


def test_plan_piped_to_head_prints_one_line_and_no_traceback(tmp_path):
    err = tmp_path / "err"
    shell = f"{sys.executable} -m generator.cli plan stripe --json 2>{err} | head -1"
    done = subprocess.run(
        ["bash", "-c", shell],
        cwd=ROOT,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout == "{\n"
    errors = (tmp_path / "err").read_text()
    assert (
        "Traceback" not in errors
        and "BrokenPipe" not in errors
        and "Exception" not in errors
    )


# ---- config --------------------------------------------------------------------------


def test_every_missing_config_field_is_named_with_its_variable(tmp_path):
    run = run_cli(
        ["sync", TWILIO, "--all", "--dest", str(tmp_path / "w")],
        cwd=tmp_path,
        env=no_config_env(TWILIO),
    )
    assert run.returncode == 2
    fields = ["username", "account_sid", "country_code"]
    names = ", ".join(f"'{f}'" for f in fields)
    variables = ", ".join(env_name(TWILIO, f) for f in fields)
    assert one_line(run) == (
        f"gen-source: {TWILIO}: missing config fields {names} "
        f"(set them in --config or {variables})"
    )
    assert not (tmp_path / "w").exists()
    # One set by its variable, one by --config: the rest are still all named.
    (tmp_path / "c.json").write_text(json.dumps({"account_sid": "AC1"}))
    env = {**no_config_env(TWILIO), env_name(TWILIO, "username"): "AC1"}
    run = run_cli(
        ["sync", TWILIO, "--all", "--config", str(tmp_path / "c.json")],
        cwd=tmp_path,
        env=env,
    )
    assert one_line(run) == (
        f"gen-source: {TWILIO}: missing config field 'country_code' "
        f"(set it in --config or {env_name(TWILIO, 'country_code')})"
    )


# ---- JSON nested deeper than the fast parser's limit ---------------------------------


def test_valid_json_deeper_than_orjson_allows_is_parsed(tmp_path):
    """orjson stops at 1,024 levels. YAML cannot stand in for it: this document's `\\/`
    and surrogate-pair escapes are valid JSON but not YAML (it used to fail as
    "malformed YAML")."""
    text = deep_schema(1_500).replace(
        '"title": "Deep"',
        '"title": "Deep \\/ slash \\ud83d\\ude00", "description": "tab\\there"',
    )
    (tmp_path / "deep.json").write_text(text)
    run = run_cli(["plan", "deep.json", "--json", "--no-validate"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    plan = json.loads(run.stdout)
    assert plan["spec"]["title"] == "Deep / slash \U0001f600"
    assert [e["path"] for e in plan["endpoints"]] == ["/things"]


def test_malformed_json_deeper_than_orjson_allows_says_where(tmp_path):
    text = deep_schema(1_500)
    cut = text.rindex('"string"')
    (tmp_path / "deep.json").write_text(
        text[:cut] + '"string",,' + text[cut + len('"string"') :]
    )
    run = run_cli(["plan", "deep.json", "--no-validate"], cwd=tmp_path)
    assert run.returncode == 2
    line = one_line(run)
    assert line.startswith(
        "gen-source: deep.json#/paths/~1things/get/responses/200/content/"
    )
    assert ": malformed JSON at line 1, column " in line and "Expecting" in line


# ---- server URLs: example hosts and server variables ---------------------------------


def small_spec(server: dict) -> str:
    return json.dumps(
        {
            "openapi": "3.0.3",
            "info": {"title": "Small", "version": "1"},
            "servers": [server],
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
            },
            "security": [{"bearer": []}],
            "paths": {
                "/things": {
                    "get": {
                        "responses": {
                            "200": {
                                "description": "ok",
                                "content": {
                                    "application/json": {
                                        "schema": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "properties": {
                                                    "id": {"type": "string"}
                                                },
                                            },
                                        }
                                    }
                                },
                            }
                        }
                    }
                }
            },
        }
    )


def generate_small(tmp_path, name: str, server: dict):
    (tmp_path / f"{name}.json").write_text(small_spec(server))
    run = run_cli(
        [f"{name}.json", "--out", str(tmp_path / "gen"), "--no-validate"], cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr


def test_okta_example_host_names_the_config_field_and_server_variable(tmp_path, specs):
    spec = specs / "okta" / "management-minimal.yaml"
    made = run_cli(
        [str(spec), "--name", "okta", "--out", str(tmp_path / "gen"), "--no-validate"],
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    env = {**no_config_env("okta"), env_name("okta", "api_key"): "k"}
    for command in (
        ["sync", "okta", "--all", "--dest", str(tmp_path / "w")],
        ["check-credentials", "okta"],
    ):
        run = run_cli([*command, "--out", str(tmp_path / "gen")], cwd=tmp_path, env=env)
        assert run.returncode == 2
        assert one_line(run) == (
            "gen-source: okta: base URL https://subdomain.okta.com: subdomain.okta.com "
            "is the spec's example host; set the real one with config field "
            "'your_okta_domain' (GEN_SOURCE_OKTA_YOUR_OKTA_DOMAIN, server variable "
            "{yourOktaDomain}) or --base-url"
        )
    assert not (tmp_path / "w").exists()
    # Set, the variable fills the URL: the run goes on to the host check (no such host).
    env[env_name("okta", "your_okta_domain")] = "acme.okta.invalid"
    run = run_cli(
        ["check-credentials", "okta", "--out", str(tmp_path / "gen")],
        cwd=tmp_path,
        env=env,
    )
    assert one_line(run).startswith(
        "gen-source: base URL: host 'acme.okta.invalid' could not be resolved"
    )


def test_example_host_without_variables_names_base_url(tmp_path):
    generate_small(tmp_path, "small", {"url": "https://api.example.com/v1"})
    env = {**no_config_env("small"), env_name("small", "token"): "t"}
    run = run_cli(
        ["sync", "small", "--all", "--out", str(tmp_path / "gen")],
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 2
    assert one_line(run) == (
        "gen-source: small: base URL https://api.example.com/v1: api.example.com is "
        "the spec's example host; set the real one with config field 'base_url' "
        "(GEN_SOURCE_SMALL_BASE_URL) or --base-url"
    )


def test_server_variable_outside_its_enum_or_unset_is_one_line(tmp_path):
    generate_small(
        tmp_path,
        "regional",
        {
            "url": "https://{region}.vendor-api.io/{tenant}",
            "variables": {"region": {"default": "us", "enum": ["us", "eu"]}},
        },
    )
    env = {
        **no_config_env("regional"),
        env_name("regional", "token"): "t",
        env_name("regional", "region"): "ap",
    }
    run = run_cli(
        ["check-credentials", "regional", "--out", str(tmp_path / "gen")],
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 2
    assert one_line(run) == (
        "gen-source: regional: missing config field 'tenant' "
        "(set it in --config or GEN_SOURCE_REGIONAL_TENANT)"
    )
    env[env_name("regional", "tenant")] = "acme"
    run = run_cli(
        ["check-credentials", "regional", "--out", str(tmp_path / "gen")],
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 2
    assert one_line(run) == (
        "gen-source: regional: config field 'region' (server variable {region}): "
        "'ap' is not one of us, eu"
    )
