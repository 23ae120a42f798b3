"""settings.py is the plan's catalog, rendered from its template: every catalog call takes
keyword arguments, a pagination object used by several tables is named once, and loading
the file gives back exactly the entries the plan holds."""

import ast
from pathlib import Path

import pytest

from generator.generate import Options, make_plan
from generator.plan import Endpoint
from generator.render.files import (
    catalog_endpoints,
    settings_context,
    shared_paginations,
)
from runtime.catalog import (
    CursorPagination,
    EndpointConfig,
    LinkHeaderPagination,
    NextUrlPagination,
    SinglePage,
)
from runtime.source.connector import load_connector

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = sorted((ROOT / "generated").glob("*/settings.py"))
CATALOG_CALLS = {
    "EndpointConfig",
    "ParentConfig",
    "IncrementalField",
    "Column",
    "CursorPagination",
    "NextUrlPagination",
    "LinkHeaderPagination",
    "OffsetPagination",
    "PageNumberPagination",
    "SinglePage",
}


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda p: p.parent.name)
def test_every_catalog_call_uses_keyword_arguments(settings):
    calls = [
        node
        for node in ast.walk(ast.parse(settings.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) in CATALOG_CALLS
    ]
    assert calls
    positional = [f"line {c.lineno}: {c.func.id}" for c in calls if c.args]
    assert positional == []


def test_stripe_names_its_shared_pagination_once_and_loads_back_as_the_plan(specs):
    text = (ROOT / "generated" / "stripe" / "settings.py").read_text()
    assert text.count("CursorPagination(") == 1
    assert text.count("pagination=CURSOR_STARTING_AFTER,") == 15
    plan, _ = make_plan("stripe", Options(root=ROOT))
    package = load_connector(ROOT / "generated" / "stripe")
    expected = {ep.name: ep.catalog_entry() for ep in catalog_endpoints(plan)}
    assert package.settings.ENDPOINTS == expected
    shared = package.settings.CURSOR_STARTING_AFTER
    assert all(e.pagination is shared for e in package.settings.ENDPOINTS.values())


def entry(name: str, pagination) -> EndpointConfig:
    return EndpointConfig(name=name, path=f"/{name}", pagination=pagination)


def test_shared_pagination_names_come_from_the_object_alone():
    by_limit = LinkHeaderPagination(limit_param="per_page", page_size=100)
    small = LinkHeaderPagination(limit_param="per_page", page_size=30)
    token = CursorPagination(cursor_param="page[cursor]", cursor_path="links.next")
    once = NextUrlPagination(next_url_path="next")
    entries = [
        entry(n, p)
        for n, p in [
            ("a", by_limit),
            ("b", by_limit),
            ("c", small),
            ("d", small),
            ("e", token),
            ("f", token),
            ("g", once),
            ("h", SinglePage()),
            ("i", SinglePage()),
        ]
    ]
    assert shared_paginations(entries) == {
        by_limit: "LINK_HEADER_PER_PAGE_100",
        small: "LINK_HEADER_PER_PAGE_30",
        token: "CURSOR_PAGE_CURSOR",
        SinglePage(): "SINGLE_PAGE",
    }


def test_settings_context_prints_spec_text_only_as_literals():
    ep = Endpoint(
        name="items",
        path="/items",
        selected=True,
        pagination=NextUrlPagination(next_url_path='x"); import os; ("'),
    )
    context = settings_context(
        [
            ep,
            Endpoint(
                name="more", path="/more", selected=True, pagination=ep.pagination
            ),
        ]
    )
    [shared] = context["shared"]
    assert shared["code"] == "NextUrlPagination(next_url_path='x\"); import os; (\"')"
    assert shared["name"].isidentifier() and shared["name"] == "NEXT_URL_X_IMPORT_OS"
