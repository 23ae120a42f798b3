"""Each paginator's state machine on its own, plus body paths and the Link header parser.
(End-to-end paging against a loopback API is in test_reader.py.)"""

from __future__ import annotations

import json

import httpx
import pytest

from runtime.catalog import (
    CursorPagination,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
    SinglePage,
)
from runtime.read.paginators import (
    CursorPaginator,
    PaginationConfigError,
    PaginationLoopError,
    make_paginator,
    parse_link_header,
)
from runtime.read.values import MISSING, get_path

URL = "https://api.example.com/v1/items?limit=2"


def _response(url: str = URL, headers: dict | None = None) -> httpx.Response:
    return httpx.Response(200, headers=headers or {}, request=httpx.Request("GET", url))


def _page(paginator, body, rows=None, url=URL, headers=None):
    rows = rows if rows is not None else body.get("data", [])
    paginator.update_state(_response(url, headers), body, rows)
    params: dict = {}
    next_url = paginator.update_request(params) if paginator.has_next_page else None
    return params, next_url


# -- body paths ---------------------------------------------------------------------------
BODY = {
    "data": [{"id": "a"}, {"id": "b", "tags": [{"n": 1}]}],
    "meta": {"next_cursor": "c2"},
    "_links": {"next": {"href": "/v1/items?page=2"}},
    "empty": None,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", BODY),
        ("data", BODY["data"]),
        ("meta.next_cursor", "c2"),
        ("data[-1].id", "b"),
        ("data[0].id", "a"),
        ("data[1].tags[0].n", 1),
        ("_links.next.href", "/v1/items?page=2"),
        ("$.meta.next_cursor", "c2"),
        ("empty", None),
    ],
)
def test_get_path_reads_body_paths(path, expected):
    assert get_path(BODY, path) == expected


@pytest.mark.parametrize(
    "path", ["missing", "data[5].id", "meta.next_cursor.x", "data.id"]
)
def test_get_path_missing_steps_give_the_default(path):
    assert get_path(BODY, path) is None
    assert get_path(BODY, path, MISSING) is MISSING


def test_get_path_on_a_top_level_array():
    assert get_path([{"id": 1}, {"id": 2}], "[-1].id") == 2
    assert get_path([], "[-1].id", MISSING) is MISSING


# -- cursor -------------------------------------------------------------------------------
def test_cursor_from_a_body_path_until_it_is_empty():
    paginator = make_paginator(
        CursorPagination(
            cursor_param="cursor", cursor_path="meta.next", limit_param="n", page_size=2
        )
    )
    params: dict = {"cursor": "stale"}
    paginator.init_request(params)
    assert params == {"n": 2}
    params, url = _page(
        paginator, {"data": [{"id": 1}, {"id": 2}], "meta": {"next": "c2"}}
    )
    assert (params, url) == ({"cursor": "c2"}, None)
    _page(paginator, {"data": [{"id": 3}], "meta": {"next": ""}})
    assert not paginator.has_next_page


def test_cursor_stops_on_an_empty_page_without_has_more():
    paginator = CursorPaginator("after", "next")
    _page(paginator, {"data": [], "next": "c9"})
    assert not paginator.has_next_page


def test_cursor_last_row_form_with_has_more():
    paginator = make_paginator(
        CursorPagination(
            cursor_param="starting_after",
            cursor_path="data[-1].id",
            has_more_path="has_more",
        )
    )
    params, _ = _page(paginator, {"data": [{"id": "a"}, {"id": "b"}], "has_more": True})
    assert params == {"starting_after": "b"}
    _page(paginator, {"data": [{"id": "c"}], "has_more": False})
    assert not paginator.has_next_page


def test_cursor_last_row_form_reads_rows_when_the_body_path_does_not_fit():
    # data_selector "$": the body is the array; `data[-1].id` means the last row's id.
    paginator = CursorPaginator("after", "data[-1].id")
    rows = [{"id": 7}, {"id": 8}]
    paginator.update_state(_response(), rows, rows)
    assert paginator.has_next_page
    assert paginator.cursor == 8


def test_repeated_cursor_raises_without_showing_it():
    paginator = CursorPaginator("cursor", "next")
    _page(paginator, {"data": [{"id": 1}], "next": "tok-abc"})
    _page(paginator, {"data": [{"id": 2}], "next": "tok-def"})
    with pytest.raises(
        PaginationLoopError, match="cursor it had already returned"
    ) as info:
        _page(paginator, {"data": [{"id": 3}], "next": "tok-abc"})
    assert "tok-abc" not in str(info.value)


def test_cursor_resume_state_round_trips_through_json():
    first = CursorPaginator("cursor", "next")
    _page(first, {"data": [{"id": 1}], "next": "c2"})
    state = json.loads(json.dumps(first.get_resume_state()))
    second = CursorPaginator("cursor", "next")
    second.set_resume_state(state)
    assert second.has_next_page
    params: dict = {}
    second.update_request(params)
    assert params == {"cursor": "c2"}
    assert second.pages_read == 1


# -- next_url -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "next",
            {"next": "https://api.example.com/v1/items?cursor=x"},
            "https://api.example.com/v1/items?cursor=x",
        ),
        (
            "links.next",
            {"links": {"next": "/v1/items?page=2"}},
            "https://api.example.com/v1/items?page=2",
        ),
        (
            "_links.next.href",
            {"_links": {"next": {"href": "v2/items?p=3"}}},
            "https://api.example.com/v2/items?p=3",
        ),
        (
            "paging.next",
            {"paging": {"next": "?page=4"}},
            "https://api.example.com/v1/items?page=4",
        ),
        (
            "next_page_uri",
            {"next_page_uri": "/2010-04-01/Calls.json?Page=1"},
            "https://api.example.com/2010-04-01/Calls.json?Page=1",
        ),
    ],
)
def test_next_url_resolves_relative_links_against_the_origin(path, body, expected):
    paginator = make_paginator(NextUrlPagination(next_url_path=path))
    params = {"limit": 2, "since": "x"}
    paginator.update_state(_response(), body, [{"id": 1}])
    assert paginator.update_request(params) == expected
    assert params == {}  # the URL's own query replaces the first request's params


def test_next_url_stops_when_missing_or_null():
    paginator = make_paginator(NextUrlPagination(next_url_path="next"))
    _page(paginator, {"data": [{"id": 1}], "next": None})
    assert not paginator.has_next_page


def test_next_url_repeating_raises():
    paginator = make_paginator(NextUrlPagination(next_url_path="next"))
    _page(paginator, {"data": [{"id": 1}], "next": "/v1/items?page=2"})
    with pytest.raises(PaginationLoopError, match="next URL"):
        _page(
            paginator,
            {"data": [{"id": 2}], "next": "https://api.example.com/v1/items?page=2"},
        )


# -- link header --------------------------------------------------------------------------
def test_link_header_with_several_rels_quoted_commas_and_rel_lists():
    header = (
        '<https://api.example.com/items?page=1>; rel="first", '
        '<https://api.example.com/items?page=3&q=a,b>; title="x, y; z"; rel="next last", '
        "</items?page=1>; rel=prev"
    )
    assert parse_link_header(header) == {
        "first": "https://api.example.com/items?page=1",
        "next": "https://api.example.com/items?page=3&q=a,b",
        "last": "https://api.example.com/items?page=3&q=a,b",
        "prev": "/items?page=1",
    }
    assert parse_link_header("") == {}


def test_link_header_paginator_follows_next_and_stops_without_it():
    paginator = make_paginator(
        LinkHeaderPagination(limit_param="per_page", page_size=50)
    )
    params: dict = {}
    paginator.init_request(params)
    assert params == {"per_page": 50}
    link = '<https://api.example.com/items?page=2>; rel="last", </items?page=2>; rel="next"'
    _, url = _page(paginator, {"data": [{"id": 1}]}, headers={"Link": link})
    assert url == "https://api.example.com/items?page=2"
    _page(
        paginator,
        {"data": [{"id": 2}]},
        headers={"Link": '</items?page=1>; rel="prev"'},
    )
    assert not paginator.has_next_page


# -- offset -------------------------------------------------------------------------------
def _rows(start, count):
    return [{"id": i} for i in range(start, start + count)]


def test_offset_stops_on_a_short_page():
    paginator = make_paginator(
        OffsetPagination(offset_param="offset", limit_param="limit", page_size=2)
    )
    params: dict = {}
    paginator.init_request(params)
    assert params == {"offset": 0, "limit": 2}
    params, _ = _page(paginator, {"data": _rows(0, 2)})
    assert params == {"offset": 2}
    _page(paginator, {"data": _rows(2, 1)})
    assert not paginator.has_next_page


def test_offset_stops_on_total_and_on_empty_page():
    paginator = make_paginator(
        OffsetPagination(
            offset_param="skip",
            limit_param="take",
            total_path="meta.total",
            page_size=2,
        )
    )
    _page(paginator, {"data": _rows(0, 2), "meta": {"total": 4}})
    assert paginator.has_next_page
    _page(paginator, {"data": _rows(2, 2), "meta": {"total": 4}})
    assert not paginator.has_next_page

    no_size = make_paginator(OffsetPagination(offset_param="skip"))
    _page(no_size, {"data": _rows(0, 3)})
    assert no_size.has_next_page
    _page(no_size, {"data": []})
    assert not no_size.has_next_page


def test_offset_refuses_an_api_that_ignores_the_offset():
    paginator = make_paginator(OffsetPagination(offset_param="offset", page_size=2))
    _page(paginator, {"data": _rows(0, 2)})
    with pytest.raises(PaginationLoopError, match="repeats the previous page"):
        _page(paginator, {"data": _rows(0, 2)})


def test_offset_resume_state():
    paginator = make_paginator(OffsetPagination(offset_param="offset", page_size=2))
    _page(paginator, {"data": _rows(0, 2)})
    resumed = make_paginator(OffsetPagination(offset_param="offset", page_size=2))
    resumed.set_resume_state(json.loads(json.dumps(paginator.get_resume_state())))
    params: dict = {}
    resumed.update_request(params)
    assert params == {"offset": 2}


# -- page number --------------------------------------------------------------------------
@pytest.mark.parametrize("base", [0, 1])
def test_page_number_counts_from_its_base_and_stops_on_total_pages(base):
    paginator = make_paginator(
        PageNumberPagination(
            page_param="page", base_page=base, total_pages_path="pages"
        )
    )
    params: dict = {}
    paginator.init_request(params)
    assert params == {"page": base}
    params, _ = _page(paginator, {"data": _rows(0, 3), "pages": 2})
    assert params == {"page": base + 1}
    _page(paginator, {"data": _rows(3, 3), "pages": 2})
    assert not paginator.has_next_page


def test_page_number_stops_on_short_page_and_total():
    short = make_paginator(
        PageNumberPagination(page_param="p", limit_param="size", page_size=3)
    )
    _page(short, {"data": _rows(0, 3)})
    assert short.has_next_page
    _page(short, {"data": _rows(3, 2)})
    assert not short.has_next_page

    by_total = make_paginator(PageNumberPagination(page_param="p", total_path="total"))
    _page(by_total, {"data": _rows(0, 3), "total": 5})
    _page(by_total, {"data": _rows(3, 2), "total": 5})
    assert not by_total.has_next_page


def test_single_page_reads_once():
    paginator = make_paginator(SinglePage())
    params: dict = {}
    paginator.init_request(params)
    assert params == {}
    _page(paginator, {"data": _rows(0, 5)})
    assert not paginator.has_next_page


# -- construction -------------------------------------------------------------------------
def test_make_paginator_refuses_what_is_not_a_catalog_pagination():
    with pytest.raises(PaginationConfigError, match="not a catalog pagination"):
        make_paginator({"type": "cursor", "cursor_param": "c", "cursor_path": "n"})
