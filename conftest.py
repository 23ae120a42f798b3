"""Fixtures the generated connectors' tests (generated/<source>/tests/) ask the project
for. Generated tests import only `runtime`; what needs the spec comes from here."""

import pytest

from generator.conformance import checker_for


@pytest.fixture
def check_response(request):
    """Checks a recorded response against the pinned spec of the test module's `SOURCE`
    (generated `tests/test_replay.py`); the spec is parsed once per process."""
    return checker_for(request.module.SOURCE)
