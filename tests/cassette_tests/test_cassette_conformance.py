"""Response conformance: recorded bodies are validated against the operation's response schema,
mismatches name the endpoint and the JSON pointer, and the documented normalisation steps fix
the known spec gaps without turning validation off."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from generator.conformance import (
    ConformanceError,
    ResponseChecker,
    _cached,
    add_enum_values,
    checker_for,
    load_fixes,
    normalise_identical_one_of,
    normalise_nullable,
    normalised,
)
from generator.errors import GenSourceError

ROOT = Path(__file__).resolve().parents[2]
JSON = "application/json"


def tiny_spec(**schema_props) -> dict:
    """A one-operation spec whose list response holds rows with `schema_props`."""
    row = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string"}, **schema_props},
    }
    return {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://api.example.com/v2"}],
        "paths": {
            "/items": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                JSON: {
                                    "schema": {
                                        "type": "object",
                                        "required": ["data"],
                                        "properties": {
                                            "data": {"type": "array", "items": row}
                                        },
                                    }
                                }
                            },
                        }
                    }
                }
            },
            "/items/{id}/parts": {"get": {"responses": {"200": {"description": "ok"}}}},
        },
    }


def body(rows: list[dict]) -> bytes:
    return orjson.dumps({"data": rows})


# -- the checker -------------------------------------------------------------------------------


def test_a_conforming_body_passes_and_a_wrong_one_names_endpoint_path_and_pointer():
    checker = ResponseChecker(tiny_spec(n={"type": "integer"}), label="tiny.json")
    checker.check(
        "https://api.example.com/v2/items", 200, JSON, body([{"id": "a", "n": 1}])
    )
    with pytest.raises(ConformanceError) as err:
        checker.check(
            "https://api.example.com/v2/items",
            200,
            JSON,
            body([{"id": "a", "n": 1}, {"id": "b", "n": "two"}]),
            endpoint="items",
        )
    text = str(err.value)
    assert text.startswith("items: response does not match tiny.json")
    assert "GET /items -> 200: /data/1/n: 'two' is not of type 'integer'" in text


def test_missing_required_field_and_undocumented_status_are_mismatches():
    checker = ResponseChecker(tiny_spec(), label="tiny.json")
    problems = checker.problems(
        "https://api.example.com/v2/items", 200, JSON, body([{"x": 1}])
    )
    assert problems == ["GET /items -> 200: /data/0: 'id' is a required property"]
    problems = checker.problems("https://api.example.com/v2/items", 429, JSON, b"{}")
    assert len(problems) == 1 and "ResponseNotFound" in problems[0]


def test_operation_is_found_with_or_without_the_server_base_path_and_behind_a_proxy():
    checker = ResponseChecker(tiny_spec(), label="tiny.json")
    assert checker.operation_path("/v2/items") == "/items"
    assert checker.operation_path("/items") == "/items"
    assert checker.operation_path("/proxy/v2/items/abc/parts") == "/items/{id}/parts"
    assert checker.operation_path("/v2/unknown") is None
    assert checker.problems("https://h/v2/unknown", 200, JSON, b"{}") == [
        "GET /v2/unknown: no GET operation in the spec matches this path"
    ]


def test_only_openapi_3_documents_are_accepted():
    with pytest.raises(GenSourceError, match="OpenAPI 3.x"):
        ResponseChecker({"swagger": "2.0", "paths": {}}, label="old.json")


# -- normalisation -----------------------------------------------------------------------------


def test_nullable_combinators_and_enums_accept_null_after_normalisation():
    props = {
        "a": {"anyOf": [{"type": "string"}], "nullable": True},
        "o": {"oneOf": [{"type": "integer"}], "nullable": True},
        "l": {"allOf": [{"type": "string"}], "nullable": True},
        "e": {"type": "string", "enum": ["x"], "nullable": True},
        "strict": {"anyOf": [{"type": "string"}]},
    }
    spec = tiny_spec(**props)
    nulls = {"id": "1", "a": None, "o": None, "l": None, "e": None}
    raw = ResponseChecker(json.loads(json.dumps(spec)), label="raw")
    found = raw.problems("https://api.example.com/v2/items", 200, JSON, body([nulls]))
    assert {p.split(": ")[1] for p in found} == {
        "/data/0/a",
        "/data/0/o",
        "/data/0/l",
        "/data/0/e",
    }
    fixed = normalised(spec, {}, "here")
    assert spec["paths"] == tiny_spec(**props)["paths"]  # the original is untouched
    checker = ResponseChecker(fixed, label="fixed")
    assert (
        checker.problems("https://api.example.com/v2/items", 200, JSON, body([nulls]))
        == []
    )
    # still strict: a non-nullable combinator rejects null, a nullable one rejects wrong types
    assert checker.problems(
        "https://api.example.com/v2/items",
        200,
        JSON,
        body([{"id": "1", "strict": None}]),
    )
    assert checker.problems(
        "https://api.example.com/v2/items", 200, JSON, body([{"id": "1", "a": 5}])
    )


def test_normalise_nullable_is_idempotent_and_handles_ref_siblings():
    node = {
        "x": {"$ref": "#/components/schemas/y", "nullable": True},
        "z": {"anyOf": [{"type": "string"}], "nullable": True},
    }
    assert normalise_nullable(node) == 2
    assert node["x"] == {
        "anyOf": [{"$ref": "#/components/schemas/y"}, {"enum": [None]}],
        "nullable": True,
    }
    assert normalise_nullable(node) == 0


def test_a_oneof_with_identical_branches_is_checked_as_anyof_and_others_stay_oneof():
    same = {"type": "object", "properties": {"smart": {"type": "boolean"}}}
    spec = tiny_spec(
        opts={
            "oneOf": [
                {"$ref": "#/components/schemas/a"},
                {"$ref": "#/components/schemas/b"},
            ]
        },
        kind={"oneOf": [{"type": "string"}, {"type": "integer"}]},
    )
    spec["components"] = {"schemas": {"a": same, "b": json.loads(json.dumps(same))}}
    url = "https://api.example.com/v2/items"
    rows = body([{"id": "1", "opts": {"smart": True}, "kind": "x"}])
    raw = ResponseChecker(json.loads(json.dumps(spec)), label="raw")
    assert raw.problems(url, 200, JSON, rows)[0].startswith(
        "GET /items -> 200: /data/0/opts: {'smart': True} is valid under each of"
    )
    fixed = normalised(spec, {}, "f")
    props = fixed["paths"]["/items"]["get"]["responses"]["200"]["content"][JSON][
        "schema"
    ]["properties"]["data"]["items"]["properties"]
    assert "anyOf" in props["opts"] and "oneOf" in props["kind"]
    checker = ResponseChecker(fixed, label="fixed")
    assert checker.problems(url, 200, JSON, rows) == []
    assert checker.problems(
        url, 200, JSON, body([{"id": "1", "opts": {"smart": "yes"}}])
    )
    assert normalise_identical_one_of(fixed) == 0


def test_enum_additions_apply_at_the_pointer_and_stale_pointers_fail():
    doc = {"components": {"schemas": {"err": {"enum": ["a"]}, "a/b": {"enum": ["x"]}}}}
    add_enum_values(
        doc,
        [
            {
                "pointer": "/components/schemas/err",
                "values": ["b", "a"],
                "why": "docs say so",
            },
            {"pointer": "/components/schemas/a~1b", "values": ["y"], "why": "w"},
        ],
        "fixes.yaml",
    )
    assert doc["components"]["schemas"]["err"]["enum"] == ["a", "b"]
    assert doc["components"]["schemas"]["a/b"]["enum"] == ["x", "y"]
    with pytest.raises(
        GenSourceError, match=r"fixes.yaml: enum_additions\[0\]: pointer /nope"
    ):
        add_enum_values(
            doc, [{"pointer": "/nope", "values": ["b"], "why": "w"}], "fixes.yaml"
        )
    with pytest.raises(GenSourceError, match="has no enum"):
        add_enum_values(
            doc, [{"pointer": "/components", "values": ["b"], "why": "w"}], "f"
        )
    with pytest.raises(GenSourceError, match="needs a pointer and why"):
        add_enum_values(
            doc, [{"pointer": "/components/schemas/err", "values": ["b"]}], "f"
        )
    with pytest.raises(GenSourceError, match="needs values"):
        add_enum_values(doc, [{"pointer": "/components/schemas/err", "why": "w"}], "f")


def test_nullable_fix_lets_a_documented_null_through_and_nothing_else():
    spec = tiny_spec(
        reason={"$ref": "#/components/schemas/reason"},
        link={"type": "string", "format": "uri"},
    )
    spec["components"] = {"schemas": {"reason": {"type": "string", "enum": ["ended"]}}}
    url, rows = (
        "https://api.example.com/v2/items",
        body([{"id": "1", "reason": None, "link": None}]),
    )
    assert (
        len(
            ResponseChecker(normalised(spec, {}, "f"), label="s").problems(
                url, 200, JSON, rows
            )
        )
        >= 2
    )
    fixes = {
        "nullable": [
            {"pointer": "/components/schemas/reason", "why": "docs: null while open"},
            {
                "pointer": "/paths/~1items/get/responses/200/content/application~1json"
                "/schema/properties/data/items/properties/link",
                "why": "w",
            },
        ]
    }
    checker = ResponseChecker(normalised(spec, fixes, "f"), label="s")
    assert checker.problems(url, 200, JSON, rows) == []
    assert checker.problems(url, 200, JSON, body([{"id": "1", "reason": "other"}]))
    with pytest.raises(
        GenSourceError,
        match=r"nullable\[0\]: /components/schemas/reason is"
        " nullable already",
    ):
        normalised(normalised(spec, fixes, "f"), fixes, "f")


def test_fixes_file_rejects_unknown_keys(tmp_path):
    folder = tmp_path / "tests" / "cassettes" / "src"
    folder.mkdir(parents=True)
    (folder / "conformance.yaml").write_text("skip_validation: true\n")
    with pytest.raises(GenSourceError, match="unknown keys"):
        load_fixes(tmp_path, "src")
    assert load_fixes(tmp_path, "other")[0] == {}


# -- the real Stripe spec ----------------------------------------------------------------------

CUSTOMER = {
    "id": "cus_1",
    "object": "customer",
    "created": 1,
    "livemode": False,
    "address": None,
    "default_source": None,
    "shipping": None,
    "discount": None,
}


def test_stripe_nullable_anyof_rejects_null_unless_normalised(specs):
    from generator.spec.loader import load

    doc = load("stripe", root=ROOT, validate_spec=False).spec.doc
    raw = ResponseChecker(doc, label="spec3.json")  # no normalisation
    listing = orjson.dumps(
        {
            "object": "list",
            "url": "/v1/customers",
            "has_more": False,
            "data": [CUSTOMER],
        }
    )
    found = raw.problems("https://api.stripe.com/v1/customers", 200, JSON, listing)
    assert (
        "GET /v1/customers -> 200: /data/0/address: None is not valid under any of the given"
        " schemas" in found
    )
    assert (
        checker_for("stripe", ROOT).problems(
            "https://api.stripe.com/v1/customers", 200, JSON, listing
        )
        == []
    )


def test_stripe_rate_limit_error_needs_the_documented_enum_addition(specs):
    error = orjson.dumps(
        {"error": {"type": "rate_limit_error", "message": "Too many requests"}}
    )
    fixes, where = load_fixes(ROOT, "stripe")
    assert fixes["enum_additions"][0]["values"] == ["rate_limit_error"]
    from generator.spec.loader import load

    doc = load("stripe", root=ROOT, validate_spec=False).spec.doc
    without = ResponseChecker(normalised(doc, {}, where), label="spec3.json")
    assert without.problems(
        "https://api.stripe.com/v1/customers", 429, JSON, error
    ) == [
        "GET /v1/customers -> 429: /error/type: 'rate_limit_error' is not one of"
        " ['api_error', 'card_error', 'idempotency_error', 'invalid_request_error']"
    ]
    checker = checker_for("stripe", ROOT)
    checker.check("https://api.stripe.com/v1/customers", 429, JSON, error)
    assert "tests/cassettes/stripe/conformance.yaml" in checker.label


def test_the_parsed_spec_is_cached_per_process(specs):
    checker_for("stripe", ROOT)
    hits = _cached.cache_info().hits
    assert checker_for("stripe", ROOT) is checker_for("stripe", ROOT)
    assert _cached.cache_info().hits == hits + 2
