"""Fixtures for the end-to-end tests: generated connectors (one generation per vendor per
session) and emulators that are always stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.emulators import Emulator, start_emulator

from .support import ROOT, Connector, build_connector


@pytest.fixture(scope="session")
def connector(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Connector]:
    """`connector("stripe")`: the committed generated/<pin> if present, else generated from
    the spec mirror into a session tmp dir (under CI=true a missing mirror fails)."""
    built: dict[str, Connector | Exception] = {}
    out = tmp_path_factory.mktemp("generated")

    def get(vendor: str) -> Connector:
        if vendor not in built:
            from .support import PINS

            if not (ROOT / "generated" / PINS[vendor] / "source.py").is_file():
                request.getfixturevalue("specs")  # fails (CI) or skips without a mirror
            try:
                built[vendor] = build_connector(vendor, out)
            except Exception as exc:  # noqa: BLE001 - each test that asks sees the same error
                built[vendor] = exc
        found = built[vendor]
        if isinstance(found, Exception):
            raise found
        return found

    return get


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    """`emulator("stripe", rows=250)`: started on a free loopback port, stopped after the test."""
    started: list[Emulator] = []

    def start(name: str, **kwargs) -> Emulator:
        emu = start_emulator(name, **kwargs)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()
