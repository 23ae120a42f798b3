"""`gen-source plan <pin> --json` works on every spec in the mirror: plan-format JSON, no
traceback, every warning located; every pinned spec generates code that passes ruff and imports."""

import json
from pathlib import Path

import pytest

from generator.cli import main
from generator.spec.loader import pins

ROOT = Path(__file__).resolve().parents[2]
PINS = [p.name for p in pins(ROOT)]
CONTRACT = {"source", "spec", "base_url", "auth", "endpoints", "warnings"}
ENDPOINT = {
    "name",
    "path",
    "method",
    "selected",
    "data_selector",
    "primary_key",
    "pagination",
    "incremental_fields",
    "partition_key",
    "sort_mode",
    "parent",
    "why",
}
PAGINATION_TYPES = {
    "cursor",
    "next_url",
    "link_header",
    "offset",
    "page_number",
    "single_page",
}


def test_every_spec_file_in_the_mirror_has_a_pin(specs):
    pinned = {
        (ROOT / "specs" / f"{p}.toml")
        .read_text()
        .split('mirror_path = "')[1]
        .split('"')[0]
        for p in PINS
    }
    files = {
        str(f.relative_to(specs))
        for f in specs.rglob("*")
        if f.suffix in (".json", ".yaml", ".yml")
        and f.parent.name in ("history",) + tuple(d.name for d in specs.iterdir())
        and f.name != "fixtures3.json"
        and "resources" not in f.parts
        and "shared" not in f.parts
    }
    assert files <= pinned


@pytest.fixture(scope="module")
def every_connector(specs, tmp_path_factory):
    """Every pin generated once (the plans and the files); the tests below share it."""
    from generator.generate import Options, generate

    out = tmp_path_factory.mktemp("all")
    plans = {}
    for pin in PINS:
        plan, _, _ = generate(pin, Options(root=ROOT, out=out, validate=False))
        plans[pin] = plan
    return out, plans


def test_plan_json_is_what_generation_planned(every_connector, capsys):
    """`plan --json` prints the plan generation renders from (so the test below can read
    the plans generation made rather than plan every spec a second time)."""
    _, plans = every_connector
    assert main(["plan", "stripe", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(
        json.dumps(plans["stripe"].to_json())
    )


@pytest.mark.parametrize("pin", PINS)
def test_plan_json_for_every_pinned_spec(pin, every_connector):
    _, plans = every_connector
    plan = json.loads(json.dumps(plans[pin].to_json(), ensure_ascii=False))
    assert CONTRACT <= set(plan) and plan["source"] == pin
    assert plan["endpoints"], "a spec with JSON GET endpoints gives at least one"
    for ep in plan["endpoints"]:
        assert ENDPOINT <= set(ep)
        assert ep["pagination"]["type"] in PAGINATION_TYPES
    assert [e["path"] for e in plan["endpoints"]] == sorted(
        e["path"] for e in plan["endpoints"]
    )
    for w in plan["warnings"]:
        assert w["where"] and w["message"] and "Traceback" not in w["message"]


def test_every_pinned_spec_generates_code_that_passes_ruff(every_connector):
    import subprocess
    import sys

    out, _ = every_connector
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "E4,E7,E9,F,B",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]


@pytest.mark.parametrize("pin", PINS)
def test_every_generated_connector_imports_and_offers_its_selected_tables(
    pin, every_connector
):
    from runtime.source.connector import RestSource, load_connector

    out, plans = every_connector
    package = load_connector(out / pin)
    (source_cls,) = [
        v
        for v in vars(package.source).values()
        if isinstance(v, type) and issubclass(v, RestSource) and v is not RestSource
    ]
    names = {s.name for s in source_cls().get_schemas(None)}
    assert names == {e.name for e in plans[pin].endpoints if e.selected}
    form = (
        source_cls().get_source_config().field_names()
    )  # options' and groups' fields too
    assert form == set(
        package.config.__dict__[source_cls.config_class.__name__].model_fields
    )
