"""Fixtures: analyse small spec fragments through a real file and the real loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.analysis import analyse
from generator.plan import Endpoint, Plan
from generator.spec.loader import load_path


@pytest.fixture
def plan_of(tmp_path: Path):
    """doc -> Plan, through a real file and the real loader."""
    counter = {"n": 0}

    def run(doc: dict, source: str = "test") -> Plan:
        counter["n"] += 1
        file = tmp_path / f"spec{counter['n']}.json"
        file.write_text(json.dumps(doc))
        return analyse(load_path(file, validate_spec=False), source)

    return run


@pytest.fixture
def endpoint_of(plan_of):
    """doc, path -> that path's Endpoint."""

    def run(doc: dict, path: str) -> Endpoint:
        plan = plan_of(doc)
        found = [e for e in plan.endpoints if e.path == path]
        assert found, f"{path} not in plan: {[e.path for e in plan.endpoints]}"
        return found[0]

    return run
