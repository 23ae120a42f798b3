"""Fixtures for the run-time fault tests: a Stripe connector generated once per session by the
real CLI, Stripe emulators whose fault plans can hold a fault back for the first N requests,
and a session-wide count of the faults served (printed at the end of the run)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators import Emulator, Fault, FaultPlan, start_emulator

from .clitools import cli_env, run_cli

PLANS: list[FaultPlan] = []  # every plan of the session, for the total


class DelayedFaultPlan(FaultPlan):
    """A FaultPlan whose `inject(..., after=N)` lets the first N matching requests through
    untouched, so a test can break page N+1 of a listing."""

    def __init__(self) -> None:
        super().__init__()
        self.after: dict[int, int] = {}  # id(fault) -> requests still to let through
        PLANS.append(self)

    def inject(self, kind: str, count: int = 1, *, after: int = 0, **kwargs) -> Fault:
        fault = super().inject(kind, count, **kwargs)
        self.after[id(fault)] = after
        return fault

    def take(self, path: str, can_repeat: bool) -> Fault | None:
        with self._lock:
            for fault in self.pending:
                if fault.path and not path.startswith(fault.path):
                    continue
                if self.after.get(id(fault), 0) > 0:
                    self.after[id(fault)] -= 1
                    return None
                break
        return super().take(path, can_repeat)


def faults_served() -> int:
    return sum(len(plan.fired) for plan in PLANS)


def pytest_terminal_summary(terminalreporter) -> None:
    if PLANS:
        terminalreporter.write_line(
            f"tests/faults: {faults_served()} faults injected and served by the emulators"
        )


@pytest.fixture
def stripe_emulator() -> Iterator[Emulator]:
    """A Stripe emulator with 450 customers (5 pages of 100) and a delayed fault plan."""
    emu = start_emulator("stripe", rows=450, api_key="sk_test_emulator_key")
    emu.faults = DelayedFaultPlan()
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def stripe_connector(tmp_path_factory, specs) -> Path:
    """`generated/stripe/` made by `gen-source stripe --out <tmp>`."""
    out = tmp_path_factory.mktemp("generated")
    env = cli_env(
        GEN_SOURCE_SPECS=str(specs),
        GEN_SOURCE_CACHE=str(tmp_path_factory.mktemp("cache")),
    )
    run = run_cli(
        ["stripe", "--out", str(out)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return out / "stripe"


def connector_config(folder: Path, token: str, base_url: str) -> dict:
    """Config values for the generated connector: the token in its credential field, the
    emulator as base URL, and a placeholder in any other required field."""
    from runtime.source.connector import load_connector

    package = load_connector(folder)
    module = getattr(package, folder.name.replace("-", "_"))
    config_cls = next(
        v
        for k, v in vars(package.config).items()
        if k.endswith("Config") and hasattr(v, "model_fields")
    )
    values: dict = {"base_url": base_url}
    for field in module.CREDENTIALS.values():
        values[field] = token
    for name, info in config_cls.model_fields.items():
        if info.is_required() and name not in values:
            values[name] = "placeholder"
    return values


def write_config(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values))
    return path
