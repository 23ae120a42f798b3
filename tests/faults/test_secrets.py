"""A planted credential never leaves the request headers.

Generate, `plan --json`, a successful `gen-source sync`, a sync whose key is rejected by a
server that echoes the whole key in its 401 body, a 500 whose body echoes the key and the
Authorization header, and an in-process run with every logger at DEBUG: then every artefact
is searched (stdout/stderr, log file, exception text and traceback, generated files, plan
JSON, Delta table files including the decoded parquet values and _delta_log, the state DB,
the validation cache) for the key, raw and base64-encoded. None may hold it.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import traceback
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from runtime.source.connector import RestSource, load_connector
from runtime.state.store import StateStore
from runtime.sync import run_schema
from tests.emulators.base import Response

from .clitools import cli_env, run_cli

SECRET = "sk_test_PLANTED_SECRET_123"
WRONG = "sk_test_PLANTED_WRONG_456"  # a rejected key must not leak either
SCHEMA = "customers"


def forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [
        raw,
        base64.b64encode(raw),
        base64.b64encode(raw + b":"),
        base64.b64encode(b":" + raw),
    ]


def echoing_emulator(emu, *, in_header: bool = False) -> None:
    """Make the emulator a careless vendor: a rejected key comes back whole in the 401 body
    (and a response header with `in_header`), and every listing but customers answers 500
    with the key and the Authorization header in the body."""
    original_auth, original_handle = emu.check_auth, emu.handle

    def check_auth(req):
        header = req.headers.get("authorization", "")
        if header != f"Bearer {emu.api_key}":
            echo = (
                {
                    "WWW-Authenticate": f'Bearer error="invalid_token", key="{header[7:]}"'
                }
                if in_header
                else {}
            )
            return Response(
                401,
                {
                    "error": {
                        "message": f"Invalid API Key provided: {header[7:]}",
                        "type": "invalid_request_error",
                    }
                },
                echo,
            )
        return original_auth(req)

    def handle(req):
        if req.path != f"/v1/{SCHEMA}":
            return Response(
                500,
                {
                    "error": {
                        "message": f"boom for {emu.api_key} "
                        f"(Authorization: {req.headers.get('authorization')})"
                    }
                },
                {"Retry-After": "0"},
            )  # retried at once: keeps the test fast
        return original_handle(req)

    emu.check_auth, emu.handle = check_auth, handle


def debug_run(work: Path, emu, log_file: Path) -> dict[str, str]:
    """An in-process sync with a rejected key, every logger at DEBUG into `log_file`;
    returns the failure's text and traceback."""
    handler = logging.FileHandler(log_file)
    handler.setFormatter(
        logging.Formatter(
            "%(name)s %(levelname)s %(message)s %(context)s", defaults={"context": ""}
        )
    )
    root = logging.getLogger()
    level = root.level
    root.setLevel(
        logging.DEBUG
    )  # setLevel, not the attribute: loggers cache their level
    root.addHandler(handler)
    try:
        package = load_connector(work / "out" / "stripe")
        source_cls = next(
            v
            for v in vars(package.source).values()
            if isinstance(v, type) and issubclass(v, RestSource) and v is not RestSource
        )
        config = {"token": WRONG, "base_url": emu.base_url}
        with (
            StateStore(work / "inproc.db") as store,
            pytest.raises(Exception) as failure,
        ):
            run_schema(
                source_cls(allow_private_hosts=True),
                config,
                SCHEMA,
                dest=str(work / "warehouse2"),
                source_name="stripe",
                store=store,
            )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()
    assert "HTTP 401" in str(failure.value)
    assert log_file.stat().st_size > 0
    return {
        "exception": f"{failure.value!s} {failure.value!r} {failure.value.args!r}",
        "traceback": "".join(traceback.format_exception(failure.value)),
    }


def scan(root: Path, texts: dict[str, str]) -> list[str]:
    """Where any form of either key appears: files under `root` (raw bytes, plus decoded
    parquet values and SQLite rows) and the given texts."""
    needles = forms(SECRET) + forms(WRONG)
    found: list[str] = []
    for name, text in texts.items():
        found += [f"{name}: {n!r}" for n in needles if n in text.encode()]
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found += [f"{path}: {n!r}" for n in needles if n in data]
        if path.suffix == ".parquet":
            values = str(pq.read_table(path).to_pylist()).encode()
            found += [f"{path} (decoded): {n!r}" for n in needles if n in values]
        if data.startswith(b"SQLite format 3"):
            with sqlite3.connect(path) as db:
                tables = [
                    r[0]
                    for r in db.execute(
                        "select name from sqlite_master where type='table'"
                    )
                ]
                dump = str(
                    [db.execute(f"select * from {t}").fetchall() for t in tables]
                ).encode()
            found += [f"{path} (rows): {n!r}" for n in needles if n in dump]
    return found


def test_planted_secret_appears_in_no_artefact(tmp_path, specs):
    from tests.emulators import start_emulator

    work = tmp_path / "work"
    work.mkdir()
    env = cli_env(
        GEN_SOURCE_SPECS=str(specs),
        GEN_SOURCE_CACHE=str(work / "cache"),
        GEN_SOURCE_STRIPE_TOKEN=SECRET,
    )
    texts: dict[str, str] = {}

    def record(label: str, run) -> None:
        texts[f"{label} stdout"], texts[f"{label} stderr"] = run.stdout, run.stderr

    generated = run_cli(
        ["stripe", "--out", str(work / "out")], cwd=work, env=env, timeout=300
    )
    record("generate", generated)
    assert generated.returncode == 0, generated.stderr[-2000:]
    plan = run_cli(["plan", "stripe", "--json"], cwd=work, env=env, timeout=300)
    record("plan", plan)
    assert plan.returncode == 0 and '"endpoints"' in plan.stdout
    (work / "plan.json").write_text(plan.stdout)

    emu = start_emulator("stripe", rows=120, api_key=SECRET)
    echoing_emulator(emu)
    try:

        def sync(schema: str, key: str):
            return run_cli(
                [
                    "sync",
                    "stripe",
                    "--schema",
                    schema,
                    "--out",
                    str(work / "out"),
                    "--base-url",
                    emu.base_url,
                    "--allow-private-hosts",
                    "--dest",
                    str(work / "warehouse"),
                ],
                cwd=work,
                env=dict(env, GEN_SOURCE_STRIPE_TOKEN=key),
                timeout=120,
            )

        ok = sync(SCHEMA, SECRET)
        record("sync", ok)
        assert ok.returncode == 0, ok.stderr
        rejected = sync(SCHEMA, WRONG)
        record("sync with a rejected key", rejected)
        assert rejected.returncode == 1 and "HTTP 401" in rejected.stderr
        assert (
            "Invalid API Key provided" in rejected.stderr
        )  # the body excerpt is shown, masked
        failing = run_cli(
            [
                "sync",
                "stripe",
                "--all",
                "--out",
                str(work / "out"),
                "--base-url",
                emu.base_url,
                "--allow-private-hosts",
                "--dest",
                str(work / "warehouse"),
            ],
            cwd=work,
            env=env,
            timeout=120,
        )
        record("sync --all with 500s", failing)
        assert failing.returncode == 1 and "HTTP 500 after 6 attempts" in failing.stderr

        log_file = work / "debug.log"
        texts.update(debug_run(work, emu, log_file))
    finally:
        emu.stop()

    assert (work / "warehouse" / "stripe" / SCHEMA / "_delta_log").is_dir()
    assert any((work / "warehouse").rglob("*.parquet"))
    leaks = scan(work, texts)
    assert leaks == [], "secret found in:\n" + "\n".join(leaks)
    print(
        f"\nsecrets: 0 leaks in {sum(1 for p in work.rglob('*') if p.is_file())} files and {len(texts)} texts"
    )


def test_the_scan_finds_a_planted_secret_in_each_kind_of_artefact(tmp_path):
    """The search itself works: raw text, compressed parquet values and SQLite rows."""
    import pyarrow as pa

    (tmp_path / "log.txt").write_text(f"token={SECRET}")
    pq.write_table(
        pa.table({"v": [WRONG] * 50}), tmp_path / "t.parquet", compression="zstd"
    )
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("create table kv (v text)")
        db.execute(
            "insert into kv values (?)",
            (base64.b64encode(SECRET.encode() + b":").decode(),),
        )
    found = scan(tmp_path, {"stderr": f"Authorization: Bearer {SECRET}"})
    assert any("log.txt" in f for f in found) and any(
        "t.parquet (decoded)" in f for f in found
    )
    assert any("s.db" in f for f in found) and any(
        f.startswith("stderr") for f in found
    )


def test_a_key_echoed_in_a_response_header_stays_out_of_debug_logs(
    tmp_path, stripe_connector
):
    from tests.emulators import start_emulator

    emu = start_emulator("stripe", rows=10, api_key=SECRET)
    echoing_emulator(emu, in_header=True)
    (tmp_path / "out").symlink_to(stripe_connector.parent)
    (tmp_path / "logs").mkdir()
    try:
        texts = debug_run(tmp_path, emu, tmp_path / "logs" / "debug.log")
    finally:
        emu.stop()
    assert scan(tmp_path / "logs", texts) == []
