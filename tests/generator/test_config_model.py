"""config.py's model comes from a child that imported datamodel-code-generator while the
parent analysed the spec; the bytes are the same as rendering it in process, and a child
that fails or was never started changes nothing."""

from __future__ import annotations

import pytest

from generator.render import config_model

SCHEMA = {
    "title": "AcmeConfig",
    "type": "object",
    "properties": {
        "token": {"type": "string", "title": "Token"},
        "start_date": {"type": "string", "format": "date-time"},
        "page_size": {"type": "integer", "default": 100},
    },
    "required": ["token"],
}


@pytest.fixture(autouse=True)
def _not_imported_here(monkeypatch):
    """As in a fresh `gen-source` process (this one may have imported it already)."""
    monkeypatch.setattr(config_model, "_imported_here", lambda: False)
    yield
    config_model.stop()


def test_the_child_writes_the_same_model_as_this_process():
    here = config_model._generate(SCHEMA, "AcmeConfig")
    config_model.start()
    child = config_model._child
    assert child is not None and child.poll() is None  # importing, waiting for a schema
    assert config_model.model_source(SCHEMA, "AcmeConfig") == here
    assert child.returncode == 0 and config_model._child is None  # used once
    assert "class AcmeConfig(BaseModel):" in here and "token: str" in here


def test_a_child_that_died_is_replaced_by_rendering_here():
    config_model.start()
    config_model._child.kill()
    assert config_model.model_source(SCHEMA, "AcmeConfig") == config_model._generate(
        SCHEMA, "AcmeConfig"
    )


def test_an_unused_child_is_stopped():
    config_model.start()
    child = config_model._child
    config_model.stop()
    assert child.returncode is not None and config_model._child is None


def test_no_child_when_this_process_has_it_imported(monkeypatch):
    monkeypatch.setattr(config_model, "_imported_here", lambda: True)
    config_model.start()
    assert config_model._child is None
