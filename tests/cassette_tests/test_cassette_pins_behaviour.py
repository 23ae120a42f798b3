"""Committed cassettes pin a connector's behaviour: the same connector generated with a
changed pagination override no longer replays its cassette, and the failure names the
request that no recording answers."""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException

from runtime.testing.cassettes import replay_schema
from runtime.source.connector import load_connector
from tests.cassette_tests.conftest import ROOT, generate_into, make_project


def overrides_with(endpoint: str, change: dict) -> str:
    """The project's overrides for Stripe (if any) with `change` merged into one endpoint."""
    real = ROOT / "overrides" / "stripe.yaml"
    data = (yaml.safe_load(real.read_text()) if real.is_file() else None) or {}
    data.setdefault("endpoints", {}).setdefault(endpoint, {}).update(change)
    return yaml.safe_dump(data, sort_keys=False)


def test_a_changed_cursor_parameter_fails_replay_naming_the_request(
    recorded, tmp_path_factory, tmp_path
):
    cassette = ROOT / "tests" / "cassettes" / "stripe" / "customers.yaml"
    # The unchanged connector replays its cassette.
    run = replay_schema(recorded.package, cassette, tmp_path / "same")
    assert run.requests == run.recorded

    endpoint = recorded.package.settings.ENDPOINTS["customers"]
    assert endpoint.pagination.cursor_param == "starting_after"
    pagination = {
        "type": "cursor",
        **endpoint.pagination.settings(),
        "cursor_param": "ending_before",
    }
    change = {"pagination": pagination}
    root = make_project(
        tmp_path_factory.mktemp("changed"),
        overrides=overrides_with("GET /v1/customers", change),
    )
    folder = generate_into(root, tmp_path_factory.mktemp("changed-out"))
    changed = load_connector(folder)
    assert changed.settings.ENDPOINTS["customers"].pagination == replace(
        endpoint.pagination, cursor_param="ending_before"
    )
    try:
        with pytest.raises(CannotOverwriteExistingCassetteException) as err:
            replay_schema(changed, cassette, tmp_path / "changed")
    finally:
        load_connector(
            recorded.connector
        )  # other tests keep the unchanged connector loaded
    message = str(err.value)
    last_id = run.cassette.interactions[1].url.params["starting_after"]
    assert "no recorded interaction matches it (the closest differ in query)" in message
    assert (
        f"GET https://api.stripe.com/v1/customers?limit=5&ending_before={last_id}"
        in message
    )
    assert f"query differs: [('ending_before', '{last_id}'), ('limit', '5')]" in message
    assert f"Cassette: {cassette}" in message
