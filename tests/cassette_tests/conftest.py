"""Shared fixtures: a copy of the generated Stripe connector, a tmp project root (pin +
conformance fixes) and cassettes recorded from that connector against the Stripe emulator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.emulators import Emulator, start_emulator

ROOT = Path(__file__).resolve().parents[2]
ROWS = 12  # with a page size of 5: three pages of customers
PAGE_SIZE = 5
TOKEN = "sk_test_emulator"
SCHEMAS = ("customers", "customer_balance_transactions")  # cursor pages; fan-out child


def make_project(
    base: Path, source: str = "stripe", overrides: str | None = None
) -> Path:
    """A project root holding the source's pin and conformance fixes (and overrides)."""
    (base / "specs").mkdir(parents=True)
    shutil.copy(ROOT / "specs" / f"{source}.toml", base / "specs")
    fixes = ROOT / "tests" / "cassettes" / source / "conformance.yaml"
    (base / "tests" / "cassettes" / source).mkdir(parents=True)
    if fixes.is_file():
        shutil.copy(fixes, base / "tests" / "cassettes" / source)
    (base / "overrides").mkdir()
    real = ROOT / "overrides" / f"{source}.yaml"
    if overrides is not None:
        (base / "overrides" / f"{source}.yaml").write_text(overrides)
    elif real.is_file():
        shutil.copy(real, base / "overrides")
    return base


def generate_into(root: Path, out: Path, source: str = "stripe") -> Path:
    from generator.generate import Options, generate

    _, folder, _ = generate(source, Options(root=root, out=out, validate=False))
    return folder


@dataclass
class Recorded:
    root: Path  # tmp project root
    folder: Path  # its tests/cassettes/stripe
    connector: Path  # the generated connector folder
    package: object
    written: list[Path]


def record(
    package,
    emulator: Emulator,
    folder: Path,
    root: Path,
    schemas=SCHEMAS,
    check: bool = True,
) -> list[Path]:
    from generator.conformance import checker_for
    from runtime.testing.cassettes import source_class
    from runtime.testing.record import record_cassettes

    cls = source_class(package)
    config = cls.config_class(token=TOKEN, base_url=emulator.base_url)
    return record_cassettes(
        cls(allow_private_hosts=True),
        config,
        list(schemas),
        folder=folder,
        source_name="stripe",
        page_size=PAGE_SIZE,
        check_response=checker_for("stripe", root) if check else None,
    )


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator[Emulator]:
    emu = start_emulator("stripe", rows=ROWS, api_key=TOKEN)
    yield emu
    emu.stop()


@pytest.fixture(scope="session")
def recorded(tmp_path_factory, specs, stripe_emulator) -> Recorded:
    from runtime.source.connector import load_connector

    root = make_project(tmp_path_factory.mktemp("project"))
    # The committed connector (`gen-source --check` keeps it equal to what the generator
    # writes), copied so a test can add files to it.
    connector = tmp_path_factory.mktemp("generated") / "stripe"
    shutil.copytree(
        ROOT / "generated" / "stripe",
        connector,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    package = load_connector(connector)
    missing = [s for s in SCHEMAS if s not in package.settings.ENDPOINTS]
    assert not missing, f"the generated Stripe connector lacks {missing}"
    folder = root / "tests" / "cassettes" / "stripe"
    written = record(package, stripe_emulator, folder, root)
    return Recorded(root, folder, connector, package, written)
