"""The entry point: every JSON GET, sorted by path; deterministic; spec warnings carried over."""

import json

from .fragments import S, api, arr, get, obj


def test_every_json_get_sorted_by_path_with_warnings(plan_of):
    doc = api(
        {
            "/b": get(arr(obj(id=S))),
            "/a": get(obj(id=S)),
            "/c": {"post": {"responses": {"200": {"description": "ok"}}}},
            "/d": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"text/html": {"schema": S}},
                        }
                    }
                }
            },
        }
    )
    plan = plan_of(doc, "src")
    assert [e.path for e in plan.endpoints] == ["/a", "/b"]
    assert plan.source == "src" and plan.base_url == "https://api.example.com"
    assert any(w.where == "GET /d" for w in plan.warnings)
    for e in plan.endpoints:
        assert set(e.why) >= {
            "pagination",
            "primary_key",
            "data_selector",
            "incremental",
            "partition_key",
            "sort_mode",
            "selected",
        }


def test_same_spec_same_plan_byte_for_byte(plan_of):
    doc = api(
        {
            f"/r{i}": get(
                obj(data=arr(obj(id=S, created=S)), has_more={"type": "boolean"})
            )
            for i in range(20)
        }
    )
    first = json.dumps(plan_of(doc).to_json())
    assert json.dumps(plan_of(doc).to_json()) == first


def test_real_specs_are_deterministic(specs):
    from generator.analysis import analyse
    from generator.spec.loader import load_path

    spec_file = specs / "klaviyo" / "stable.json"
    one = json.dumps(analyse(load_path(spec_file, validate_spec=False), "k").to_json())
    two = json.dumps(analyse(load_path(spec_file, validate_spec=False), "k").to_json())
    assert one == two
