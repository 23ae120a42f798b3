"""Loading: JSON/YAML, multi-file refs, circular refs, refused refs, located errors."""

import json
from pathlib import Path

import pytest

from generator.errors import SpecError
from generator.spec.loader import load_path
from generator.spec.model import Node
from generator.spec.refs import RefError


def write(tmp: Path, name: str, doc) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc) if name.endswith(".json") else doc)
    return path


def api(paths: dict, **extra) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "T", "version": "1"},
        "paths": paths,
        **extra,
    }


def list_op(schema: dict) -> dict:
    return {
        "get": {
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": schema}},
                }
            }
        }
    }


def test_multi_file_relative_refs_resolve_from_the_referring_file(tmp_path):
    write(
        tmp_path,
        "shared/models/thing.yml",
        "type: object\nproperties:\n  id: {type: string}\n"
        "  owner: {$ref: './owner.yml'}\n",
    )
    write(
        tmp_path,
        "shared/models/owner.yml",
        "type: object\nproperties:\n  name: {type: string}\n",
    )
    write(
        tmp_path,
        "resources/things.yml",
        "get:\n  responses:\n    200:\n      description: ok\n      content:\n        application/json:\n"
        "          schema:\n            type: array\n            items: {$ref: '../shared/models/thing.yml'}\n",
    )
    root = write(
        tmp_path,
        "api.yml",
        "openapi: 3.0.3\ninfo: {title: T, version: '1'}\n"
        "paths:\n  /things:\n    $ref: resources/things.yml\n",
    )
    spec = load_path(root, validate_spec=False)
    (op,) = spec.operations()
    item = spec.items(op.response)
    props = spec.properties(item)
    assert set(props) == {"id", "owner"}
    assert set(spec.properties(props["owner"])) == {"name"}


def test_circular_refs_do_not_recurse(tmp_path):
    schemas = {
        "A": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "b": {"$ref": "#/components/schemas/B"},
            },
        },
        "B": {
            "type": "object",
            "properties": {"a": {"$ref": "#/components/schemas/A"}},
        },
    }
    root = write(
        tmp_path,
        "api.json",
        api(
            {"/a": list_op({"$ref": "#/components/schemas/A"})},
            components={"schemas": schemas},
        ),
    )
    spec = load_path(root, validate_spec=False)
    (op,) = spec.operations()
    a = spec.deref(op.response)
    b = spec.properties(a)["b"]
    assert "a" in spec.properties(b)
    with pytest.raises(RefError):
        spec.resolver.deref({"$ref": "#/components/schemas/C"}, spec.resolver.root_key)


def test_ref_cycle_of_refs_only_is_an_error_not_a_hang(tmp_path):
    root = write(
        tmp_path,
        "api.json",
        api(
            {"/a": list_op({"$ref": "#/components/schemas/X"})},
            components={
                "schemas": {
                    "X": {"$ref": "#/components/schemas/Y"},
                    "Y": {"$ref": "#/components/schemas/X"},
                }
            },
        ),
    )
    spec = load_path(root, validate_spec=False)
    with pytest.raises(RefError, match="cycle"):
        spec.deref(spec.operations()[0].response)


@pytest.mark.parametrize(
    "ref, message",
    [
        ("https://example.com/schema.json", "URL refused"),
        ("../outside.json", "outside the spec's folder refused"),
    ],
)
def test_refs_to_urls_or_outside_files_are_refused_with_location(
    tmp_path, ref, message
):
    (tmp_path / "outside.json").write_text("{}")
    root = write(tmp_path, "spec/api.json", api({"/a": {"$ref": ref}}))
    with pytest.raises(SpecError, match=message) as err:
        load_path(root, validate_spec=False)
    assert "api.json#/paths/~1a" in str(err.value)


def test_dangling_ref_skips_the_operation_with_a_located_warning(tmp_path):
    root = write(
        tmp_path,
        "api.json",
        api(
            {
                "/ok": list_op({"type": "array", "items": {"type": "object"}}),
                "/broken": {
                    "get": {
                        "parameters": [{"$ref": "#/components/parameters/Nope"}],
                        "responses": {"200": {"description": "x"}},
                    }
                },
            }
        ),
    )
    spec = load_path(root, validate_spec=False)
    assert [o.path for o in spec.operations()] == ["/ok"]
    (w,) = [w for w in spec.warnings if "/broken" in w.where]
    assert "dangling" in w.message and "/paths/~1broken/get" in w.where


def test_swagger2_parameters_and_responses_are_normalised(tmp_path):
    doc = {
        "swagger": "2.0",
        "info": {"title": "S", "version": "1"},
        "host": "api.example.com",
        "basePath": "/api",
        "produces": ["application/json"],
        "paths": {
            "/items": {
                "get": {
                    "parameters": [
                        {"name": "cursor", "in": "query", "type": "string"},
                        {"name": "body", "in": "body", "schema": {}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "schema": {
                                "type": "object",
                                "properties": {"items": {"type": "array"}},
                            },
                        }
                    },
                }
            }
        },
    }
    spec = load_path(write(tmp_path, "s.json", doc), validate_spec=False)
    (op,) = spec.operations()
    assert spec.base_url() == "https://api.example.com/api"
    assert [p.name for p in op.parameters] == ["cursor"]
    assert op.param("cursor").schema.value == {"type": "string"}
    assert set(spec.properties(op.response)) == {"items"}


def test_yaml_integer_response_codes_are_accepted(tmp_path):
    root = write(
        tmp_path,
        "a.yaml",
        "openapi: 3.0.0\ninfo: {title: T, version: '1'}\npaths:\n  /x:\n    get:\n"
        "      responses:\n        200:\n          description: ok\n          content:\n"
        "            application/json:\n              schema: {type: array, items: {type: object}}\n",
    )
    (op,) = load_path(root, validate_spec=False).operations()
    assert op.response_status == "200"


def test_binary_responses_are_not_tables(tmp_path):
    root = write(
        tmp_path,
        "a.json",
        api(
            {
                "/file": {
                    "get": {
                        "responses": {
                            "200": {
                                "description": "pdf",
                                "content": {
                                    "application/pdf": {"schema": {"type": "string"}}
                                },
                            }
                        }
                    }
                }
            }
        ),
    )
    spec = load_path(root, validate_spec=False)
    assert spec.operations() == []
    assert any(
        "not a table" in w.message and w.where == "GET /file" for w in spec.warnings
    )


def test_schema_types_understand_31_type_lists_and_unions(tmp_path):
    root = write(tmp_path, "a.json", api({}))
    spec = load_path(root, validate_spec=False)
    base = spec.resolver.root_key
    assert spec.types(Node({"type": ["string", "null"]}, base)) == {"string", "null"}
    assert spec.types(
        Node({"anyOf": [{"type": "integer"}, {"type": "string"}]}, base)
    ) == {"integer", "string"}
