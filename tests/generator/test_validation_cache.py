"""The validation cache holds results that depend only on the spec's bytes: the label of
whichever file was validated first must never show up when the same spec is read from
another path (it once made `--check` report a changed api_inventory.md)."""

import json

from generator.spec.loader import load_path
from generator.spec.validate import Background, cache_dir

# Valid YAML, invalid OpenAPI: a response without its required `description`.
SPEC = b"""openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /things:
    get:
      responses:
        '200':
          content: {application/json: {schema: {type: array, items: {type: object}}}}
"""


def _invalid(spec):
    return [w for w in spec.warnings if "invalid spec" in w.message]


def _write(folder, tmp_path):
    path = tmp_path / folder / "spec.yaml"
    path.parent.mkdir()
    path.write_bytes(SPEC)
    return path


def test_cached_warnings_name_the_file_read_now(tmp_path, monkeypatch):
    monkeypatch.setenv("GEN_SOURCE_CACHE", str(tmp_path / "cache"))
    first = _write("first", tmp_path)
    second = _write("second", tmp_path)

    cold = _invalid(load_path(first, label="first/spec.yaml"))
    assert cold and all(w.where.startswith("first/spec.yaml#/paths") for w in cold)

    stored = list((cache_dir() / "validation").glob("*.json"))
    assert len(stored) == 1
    text = stored[0].read_text()
    assert "first" not in text and str(tmp_path) not in text
    assert [w["where"] for w in json.loads(text)] == [
        w.where[len("first/spec.yaml") :] for w in cold
    ]

    warm = _invalid(load_path(second, label="second/spec.yaml"))
    assert [w.where for w in warm] == [
        w.where.replace("first", "second", 1) for w in cold
    ]
    assert [w.message for w in warm] == [w.message for w in cold]


def test_background_validation_is_labelled_by_its_parent(tmp_path, monkeypatch):
    monkeypatch.setenv("GEN_SOURCE_CACHE", str(tmp_path / "cache"))
    path = _write("spec", tmp_path)
    found = Background(path, "the/label.yaml", allow_external=False).result()
    invalid = [w for w in found if "invalid spec" in w.message]
    assert invalid and all(w.where.startswith("the/label.yaml#/paths") for w in invalid)
