"""A YAML spec that parsed cleanly is kept as JSON in the cache (keyed by its bytes) and read
from there next time; what JSON cannot give back equal is never kept."""

from __future__ import annotations

import datetime

import pytest

from generator.errors import SpecError
from generator.spec import parse
from generator.spec.parse import parse_bytes

SPEC = b"""openapi: 3.0.3
info: {title: T, version: '1'}
paths:
  /things:
    get:
      responses:
        200:
          description: ok
"""


def _no_yaml(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("parsed as YAML again")

    monkeypatch.setattr(parse.yaml, "load", refuse)


def test_a_parsed_yaml_file_is_read_back_from_the_cache(tmp_path, monkeypatch):
    first = parse_bytes(SPEC, "t.yaml", tmp_path)
    assert first["paths"]["/things"]["get"]["responses"]["200"] == {"description": "ok"}
    assert len(list(tmp_path.iterdir())) == 1
    _no_yaml(monkeypatch)
    assert parse_bytes(SPEC, "t.yaml", tmp_path) == first
    with pytest.raises(AssertionError, match="again"):
        parse_bytes(SPEC, "t.yaml", None)  # no cache: parsed
    with pytest.raises(AssertionError, match="again"):
        parse_bytes(SPEC + b"# changed\n", "t.yaml", tmp_path)  # other bytes, other key


def test_what_json_cannot_give_back_equal_is_not_kept(tmp_path):
    dated = SPEC + b"x-released: 2024-01-02\nx-big: 123456789012345678901234567890\n"
    got = parse_bytes(dated, "t.yaml", tmp_path)
    assert got["x-released"] == datetime.date(2024, 1, 2)
    assert list(tmp_path.iterdir()) == []
    assert parse_bytes(dated, "t.yaml", tmp_path) == got


def test_bad_yaml_is_never_kept(tmp_path):
    for _ in range(2):
        with pytest.raises(SpecError):
            parse_bytes(b"a: [1, 2\nb: {", "bad.yaml", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_real_spec_reads_back_equal(specs, tmp_path):
    data = (specs / "twilio" / "twilio_messaging_v1.yaml").read_bytes()
    fresh = parse_bytes(data, "twilio.yaml", None)
    assert parse_bytes(data, "twilio.yaml", tmp_path) == fresh  # parsed, then kept
    assert parse_bytes(data, "twilio.yaml", tmp_path) == fresh  # read back
