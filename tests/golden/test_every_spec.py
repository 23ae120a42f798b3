"""`gen-source plan <pin> --json` works on every spec in the mirror: plan-format JSON, no
traceback, every warning located."""

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.spec.loader import pins

ROOT = Path(__file__).resolve().parents[2]
PINS = [p.name for p in pins(ROOT)]
CONTRACT = {"source", "spec", "base_url", "auth", "endpoints", "warnings"}
ENDPOINT = {"name", "path", "method", "selected", "data_selector", "primary_key", "pagination",
            "incremental_fields", "partition_key", "sort_mode", "parent", "why"}
PAGINATION_TYPES = {"cursor", "next_url", "link_header", "offset", "page_number", "single_page"}


def test_every_spec_file_in_the_mirror_has_a_pin(specs):
    pinned = {(ROOT / "specs" / f"{p}.toml").read_text().split('mirror_path = "')[1].split('"')[0] for p in PINS}
    files = {str(f.relative_to(specs)) for f in specs.rglob("*") if f.suffix in (".json", ".yaml", ".yml")
             and f.parent.name in ("history",) + tuple(d.name for d in specs.iterdir())
             and f.name != "fixtures3.json" and "resources" not in f.parts and "shared" not in f.parts}
    assert files <= pinned


@pytest.mark.parametrize("pin", PINS)
def test_plan_json_for_every_pinned_spec(pin, specs, capsys):
    assert main(["plan", pin, "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert CONTRACT <= set(plan) and plan["source"] == pin
    assert plan["endpoints"], "a spec with JSON GET endpoints gives at least one"
    for ep in plan["endpoints"]:
        assert ENDPOINT <= set(ep)
        assert ep["pagination"]["type"] in PAGINATION_TYPES
    assert [e["path"] for e in plan["endpoints"]] == sorted(e["path"] for e in plan["endpoints"])
    for w in plan["warnings"]:
        assert w["where"] and w["message"] and "Traceback" not in w["message"]
