"""Server variables filled at run time: the Stripe spec with its server URL written as
`http://{host}:{port}` (as Datadog's and Okta's specs write theirs), generated, then
synced by `gen-source sync` with no `--base-url`: the host and port come from the config
fields the variables became, and the rows land from the loopback emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from deltalake import DeltaTable

from runtime.source.config_input import env_name
from runtime.source.connector import load_connector

from .support import ROOT


def test_server_variables_from_config_fill_the_base_url(specs, emulator, tmp_path):
    doc = json.loads((specs / "stripe" / "spec3.json").read_bytes())
    doc["servers"] = [
        {
            "url": "http://{host}:{port}",
            "variables": {
                "host": {"default": "api.stripe.com"},
                "port": {"default": "443"},
            },
        }
    ]
    (tmp_path / "stripe.json").write_text(json.dumps(doc))
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(env_name("stripe", ""))
    }
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    env["GEN_SOURCE_ROOT"] = str(ROOT)  # the project whose overrides/ a plan reads

    def gen_source(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "generator.cli", *args],
            cwd=tmp_path,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )

    out = tmp_path / "gen"
    made = gen_source(
        "stripe.json", "--name", "stripe", "--out", str(out), "--no-validate"
    )
    assert made.returncode == 0, made.stderr[-2000:]
    fields = load_connector(out / "stripe").config.StripeConfig.model_fields
    assert (
        fields["host"].default == "api.stripe.com" and fields["port"].default == "443"
    )
    assert fields["base_url"].default is None

    emu = emulator("stripe", rows=30)
    port = emu.base_url.rsplit(":", 1)[1].strip("/")
    values = {
        env_name("stripe", "token"): emu.api_key,
        env_name("stripe", "host"): "127.0.0.1",
        env_name("stripe", "port"): port,
    }
    run = gen_source(
        "sync",
        "stripe",
        "--out",
        str(out),
        "--schema",
        "customers",
        "--dest",
        str(tmp_path / "wh"),
        "--allow-private-hosts",
        **values,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert DeltaTable(str(tmp_path / "wh" / "stripe" / "customers")).count() == 30
    assert {r.path for r in emu.requests} == {"/v1/customers"}
