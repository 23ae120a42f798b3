"""The typed catalog: one frozen class per pagination type, built from the plan JSON's
shape, refusing what cannot work with a message that names the type and the key."""

from __future__ import annotations

import dataclasses

import pytest

from runtime.catalog import (
    PAGINATION_TYPES,
    CatalogError,
    CursorPagination,
    EndpointConfig,
    OffsetPagination,
    PageNumberPagination,
    SinglePage,
    pagination_from_dict,
)


def test_one_class_per_plan_pagination_type():
    assert PAGINATION_TYPES == (
        "cursor",
        "next_url",
        "link_header",
        "offset",
        "page_number",
        "single_page",
    )
    for kind in PAGINATION_TYPES:
        required = {
            "cursor": {"cursor_param": "c", "cursor_path": "next"},
            "next_url": {"next_url_path": "next"},
            "offset": {"offset_param": "offset"},
            "page_number": {"page_param": "page"},
        }.get(kind, {})
        assert pagination_from_dict({"type": kind, **required}).type == kind


def test_from_dict_keeps_every_setting_and_is_frozen():
    value = {
        "type": "cursor",
        "cursor_param": "starting_after",
        "cursor_path": "data[-1].id",
        "has_more_path": "has_more",
        "limit_param": "limit",
        "page_size": 100,
    }
    pagination = pagination_from_dict(value)
    assert pagination == CursorPagination(
        cursor_param="starting_after",
        cursor_path="data[-1].id",
        has_more_path="has_more",
        limit_param="limit",
        page_size=100,
    )
    assert {"type": pagination.type, **pagination.settings()} == value
    with pytest.raises(dataclasses.FrozenInstanceError):
        pagination.page_size = 5  # type: ignore[misc]


def test_settings_leave_out_what_is_unset_but_keep_base_page():
    assert OffsetPagination(offset_param="skip").settings() == {"offset_param": "skip"}
    assert PageNumberPagination(page_param="p").settings() == {
        "page_param": "p",
        "base_page": 1,
    }
    assert SinglePage().settings() == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "auto"}, "unknown pagination type 'auto'"),
        ({}, "unknown pagination type None"),
        (
            {"type": "cursor", "cursor_param": "c"},
            "pagination cursor: missing cursor_path",
        ),
        ({"type": "offset"}, "pagination offset: missing offset_param"),
        (
            {"type": "single_page", "page_size": 5},
            r"pagination single_page: unknown page_size \(known: none\)",
        ),
        (
            {"type": "offset", "offset_param": "o", "max_pages": 2},
            "pagination offset: unknown max_pages",
        ),
    ],
)
def test_from_dict_refuses_what_cannot_work(value, message):
    with pytest.raises(CatalogError, match=message):
        pagination_from_dict(value)


def test_a_required_setting_cannot_be_empty():
    with pytest.raises(
        CatalogError, match="pagination page_number: missing page_param"
    ):
        PageNumberPagination(page_param="")


def test_page_size_is_the_paginations_and_max_pages_the_endpoints():
    paging = CursorPagination(cursor_param="c", cursor_path="n", page_size=50)
    ep = EndpointConfig(name="items", path="/items", pagination=paging, max_pages=2)
    assert ep.page_size == 50 and ep.max_pages == 2
    assert "max_pages" not in paging.settings()
    assert EndpointConfig(name="one", path="/one").page_size is None
