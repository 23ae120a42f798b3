"""Helpers for the end-to-end tests: a generated connector, its config from an emulator's
credentials, a sync (in this process or through the `gen-source sync` CLI) and the rows of
the Delta table it wrote.

Why config is built from the generated config class: the analysis decides which fields a
connector needs (a required `account` may come or go); the tests fill whatever fields the
class declares from what the emulator hands out, and name a field they cannot fill.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deltalake import DeltaTable

from runtime.source.config_input import env_name
from runtime.source.connector import RestSource, load_connector
from runtime.progress import ProgressReporter
from runtime.state.store import StateStore
from runtime.sync import SyncSummary, run_sync
from tests.emulators import Emulator

ROOT = Path(__file__).resolve().parents[2]

# emulator name -> spec pin (specs/<pin>.toml); the generated folder is named after the pin.
PINS = {
    "stripe": "stripe",
    "github": "github",
    "twilio": "twilio-api-v2010",
    "klaviyo": "klaviyo",
}


@dataclass
class Connector:
    """One generated connector: `out` is what `gen-source sync --out` takes."""

    vendor: str
    name: str
    out: Path
    package: types.ModuleType
    source_cls: type[RestSource]

    @property
    def catalog(self) -> dict:
        return self.package.settings.ENDPOINTS

    def table_at(self, path: str) -> str:
        """The selected table read from `path` (names may change; paths do not)."""
        names = [n for n, e in self.catalog.items() if e.path == path and e.selected]
        assert len(names) == 1, f"{self.name}: selected tables at {path}: {names}"
        return names[0]


def source_class(package: types.ModuleType) -> type[RestSource]:
    for value in vars(package.source).values():
        if (
            isinstance(value, type)
            and issubclass(value, RestSource)
            and value is not RestSource
        ):
            return value
    raise AssertionError(f"{package.__name__}: source.py defines no RestSource class")


def build_connector(vendor: str, out: Path) -> Connector:
    """`generated/<pin>` when the project has it, else generate the pin into `out`."""
    pin = PINS[vendor]
    committed = ROOT / "generated"
    if (committed / pin / "source.py").is_file():
        out = committed
    else:
        from generator.generate import Options, generate

        generate(pin, Options(root=ROOT, out=out))
    package = load_connector(out / pin)
    return Connector(vendor, pin, out, package, source_class(package))


def emulator_values(vendor: str, emu: Emulator) -> dict[str, str]:
    """Every config value the emulator can answer, under the names generated configs use."""
    creds = emu.credentials
    if vendor == "stripe":
        return {
            "token": emu.api_key,
            "api_key": emu.api_key,
            "account": "acct_emulator",
        }
    if vendor == "github":
        return {**creds, "username": "octocat"}
    if vendor == "twilio":
        sid, token = creds["account_sid"], creds["auth_token"]
        return {
            "username": sid,
            "password": token,
            "account_sid": sid,
            "AccountSid": sid,
            "country_code": "US",  # the emulator offers US numbers
        }
    if vendor == "klaviyo":
        return {
            "api_key": creds["api_key"],
            "token": creds["api_key"],
            "revision": creds["revision"],
        }
    raise ValueError(vendor)


def config_for(conn: Connector, emu: Emulator) -> dict[str, str]:
    """The generated config class's fields, filled from the emulator; base_url points at it."""
    values = {**emulator_values(conn.vendor, emu), "base_url": emu.base_url}
    fields = conn.source_cls.config_class.model_fields
    missing = [
        name for name, f in fields.items() if f.is_required() and name not in values
    ]
    assert not missing, (
        f"{conn.name}: config field(s) {missing} have no emulator value;"
        " teach tests/e2e/support.py:emulator_values about them"
    )
    return {k: v for k, v in values.items() if k in fields}


class Crash(BaseException):
    """Stands in for SIGKILL: a BaseException, so run_sync does not record it and go on."""


class CrashAfterCommit(ProgressReporter):
    """Dies right after commit number `commits`, when rows, resume state and watermark of
    that commit are on disk and nothing later is: what a kill at that moment leaves."""

    def __init__(self, commits: int) -> None:
        super().__init__(stream=io.StringIO(), tty=False)
        self.commits = commits

    def committed(self, batches: int) -> None:
        super().committed(batches)
        if batches >= self.commits:
            raise Crash(f"crash after commit {batches}")


def sync(
    conn: Connector,
    emu: Emulator,
    schemas: list[str],
    dest: Path,
    *,
    batch_rows: int = 5000,
    progress: ProgressReporter | None = None,
    jobs: int = 1,
) -> SyncSummary:
    """One `run_sync` in this process, state in `<dest>/.state.db` as the CLI keeps it."""
    with StateStore(dest / ".state.db") as store:
        return run_sync(
            conn.source_cls(allow_private_hosts=True),
            config_for(conn, emu),
            schemas,
            dest=str(dest),
            source_name=conn.name,
            store=store,
            batch_rows=batch_rows,
            progress=progress,
            jobs=jobs,
        )


def crash_then_resume(
    conn: Connector,
    emu: Emulator,
    schema: str,
    dest: Path,
    *,
    commits: int,
    batch_rows: int = 1,
) -> tuple[list, SyncSummary]:
    """Sync until just after commit `commits`, then rerun; returns the rerun's requests (as
    the emulator logged them) and its summary. batch_rows=1: every page is one commit."""
    try:
        sync(
            conn,
            emu,
            [schema],
            dest,
            batch_rows=batch_rows,
            progress=CrashAfterCommit(commits),
        )
    except Crash:
        pass
    else:
        raise AssertionError(f"{schema}: the sync finished before commit {commits}")
    before = len(emu.requests)
    summary = sync(conn, emu, [schema], dest, batch_rows=batch_rows)
    return emu.requests[before:], summary


def cli_command(
    conn: Connector, emu: Emulator, schemas: list[str], dest: Path
) -> tuple[list[str], dict[str, str]]:
    """argv and environment of `gen-source sync` against the emulator; secrets in env vars."""
    argv = [
        sys.executable,
        "-m",
        "generator.cli",
        "sync",
        conn.name,
        "--out",
        str(conn.out),
    ]
    for schema in schemas:
        argv += ["--schema", schema]
    argv += ["--dest", str(dest), "--base-url", emu.base_url, "--allow-private-hosts"]
    own = env_name(
        conn.name, ""
    )  # GEN_SOURCE_<SOURCE>_: only the values set below count
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    for field, value in config_for(conn, emu).items():
        if field != "base_url":
            env[env_name(conn.name, field)] = value
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    return argv, env


def cli_sync(
    conn: Connector,
    emu: Emulator,
    schemas: list[str],
    dest: Path,
    extra: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    argv, env = cli_command(conn, emu, schemas, dest)
    done = subprocess.run(
        [*argv, *extra], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, (
        f"gen-source sync failed:\n{done.stdout}\n{done.stderr}"
    )
    return done


def table_rows(dest: Path, conn: Connector, schema: str) -> list[dict[str, Any]]:
    return DeltaTable(str(dest / conn.name / schema)).to_pyarrow_table().to_pylist()


def column(rows: list[dict], name: str) -> list:
    return [r[name] for r in rows]


def assert_exactly_once(ids: list, expected: list, what: str) -> None:
    """Each expected id once, nothing else (duplicates and strays named)."""
    seen: dict = {}
    for i in ids:
        seen[i] = seen.get(i, 0) + 1
    dups = sorted(str(i) for i, n in seen.items() if n > 1)
    missing = set(expected) - set(seen)
    extra = set(seen) - set(expected)
    assert not dups, f"{what}: {len(dups)} ids more than once, e.g. {dups[:3]}"
    assert not missing, (
        f"{what}: {len(missing)} ids missing, e.g. {sorted(map(str, missing))[:3]}"
    )
    assert not extra, (
        f"{what}: {len(extra)} unexpected ids, e.g. {sorted(map(str, extra))[:3]}"
    )


def requests_to(emu: Emulator, path: str, since: int = 0) -> list:
    """The emulator's log entries for `path` (exact), from index `since`."""
    return [r for r in emu.requests[since:] if r.path == path]
