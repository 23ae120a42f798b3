"""EndpointReader against a loopback API that pages the way each pagination type says: every
paginator end to end, shapes, incremental params and passes, fan-out, hooks, caps, resume."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from runtime.catalog import (
    CursorPagination,
    EndpointConfig,
    IncrementalField,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    PageNumberPagination,
    ParentConfig,
    SinglePage,
)
from runtime.read.paginators import OffsetPaginator, PaginationLoopError
from runtime.read.reader import (
    EndpointReader,
    IncrementalWindow,
    ReadLimits,
    ShapeError,
)
from runtime.read.values import compare_key, format_incremental
from tests.runtime.conftest import Reply

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
ITEMS = [{"id": i, "created": T0 + i * 3600, "name": f"item {i}"} for i in range(1, 8)]


def _window(rows, query, page_size=3):
    """Filter by created_gt / created_lt, order (sort=desc), and cut at `after` (an id)."""
    out = list(rows)
    if "created_gt" in query:
        out = [r for r in out if r["created"] > int(query["created_gt"])]
    if "created_lt" in query:
        out = [r for r in out if r["created"] < int(query["created_lt"])]
    if query.get("sort") == "desc":
        out.reverse()
    return out, int(query.get("limit", page_size))


def cursor_route(rows):
    def handle(seen):
        out, limit = _window(rows, seen.query)
        if "after" in seen.query:
            ids = [r["id"] for r in out]
            out = out[ids.index(int(seen.query["after"])) + 1 :]
        page = out[:limit]
        return Reply(200, {"data": page, "has_more": len(out) > limit})

    return handle


def next_url_route(rows, path):
    def handle(seen):
        out, limit = _window(rows, seen.query)
        page = int(seen.query.get("page", 1))
        chunk = out[(page - 1) * limit : page * limit]
        more = page * limit < len(out)
        return Reply(
            200,
            {
                "results": chunk,
                "next": f"{path}?page={page + 1}&limit={limit}" if more else None,
            },
        )

    return handle


def link_route(rows, path):
    def handle(seen):
        out, limit = _window(rows, seen.query)
        page = int(seen.query.get("page", 1))
        last = max(1, -(-len(out) // limit))
        links = [f'<{path}?page=1&per_page={limit}>; rel="first"']
        if page < last:
            links.append(f'<{path}?page={page + 1}&per_page={limit}>; rel="next"')
        links.append(f'<{path}?page={last}&per_page={limit}>; rel="last"')
        chunk = out[(page - 1) * limit : page * limit]
        return Reply(200, chunk, {"Link": ", ".join(links)})

    return handle


def offset_route(rows):
    def handle(seen):
        out, limit = _window(rows, seen.query)
        offset = int(seen.query.get("offset", 0))
        return Reply(200, {"items": out[offset : offset + limit], "total": len(out)})

    return handle


def page_route(rows):
    def handle(seen):
        out, limit = _window(rows, seen.query)
        page = int(seen.query.get("page", 1))
        return Reply(200, {"data": out[(page - 1) * limit : page * limit]})

    return handle


PAGINATIONS = {
    "cursor": (
        "data",
        CursorPagination(
            cursor_param="after",
            cursor_path="data[-1].id",
            has_more_path="has_more",
            limit_param="limit",
        ),
    ),
    "next_url": (
        "results",
        NextUrlPagination(next_url_path="next", limit_param="limit"),
    ),
    "link_header": ("$", LinkHeaderPagination(limit_param="per_page")),
    "offset": (
        "items",
        OffsetPagination(
            offset_param="offset", limit_param="limit", total_path="total"
        ),
    ),
    "page_number": (
        "data",
        PageNumberPagination(page_param="page", base_page=1, limit_param="limit"),
    ),
}


def serve(server, kind, path="/api/items", rows=ITEMS):
    routes = {
        "cursor": lambda: cursor_route(rows),
        "next_url": lambda: next_url_route(rows, path),
        "link_header": lambda: link_route(rows, path),
        "offset": lambda: offset_route(rows),
        "page_number": lambda: page_route(rows),
    }
    server.route(path, routes[kind]())


def endpoint(kind, name="items", path="/api/items", **changes):
    selector, pagination = PAGINATIONS[kind]
    options = {
        "data_selector": selector,
        "pagination": pagination,
        "page_size": 3,
        "primary_key": ("id",),
    }
    options.update(changes)
    page_size = options.pop("page_size")
    if not isinstance(options["pagination"], SinglePage):
        options["pagination"] = replace(options["pagination"], page_size=page_size)
    return EndpointConfig(name=name, path=path, **options)


def reader(client, catalog, name="items", **kwargs):
    kwargs.setdefault("config_values", {})
    return EndpointReader(client, catalog, name, **kwargs)


def ids(pages):
    return [row["id"] for page in pages for row in page.rows]


@pytest.mark.parametrize("kind", list(PAGINATIONS))
def test_every_paginator_reads_every_row_once(server, client_for, kind):
    serve(server, kind)
    client = client_for(server.url)
    pages = list(reader(client, {"items": endpoint(kind)}).pages())
    assert ids(pages) == [1, 2, 3, 4, 5, 6, 7]
    requests = server.hits("/api/items")
    assert len(requests) == 3
    for seen in requests:  # following a next URL never sends the first params twice
        names = [pair.split("=")[0] for pair in seen.raw_query.split("&") if pair]
        assert len(names) == len(set(names))
    assert pages[-1].resume_state == {"pass": "full", "done": True}
    assert pages[0].url.startswith(server.url + "/api/items")


def test_empty_last_page_ends_a_cursor_without_has_more(server, client_for):
    rows = ITEMS[:6]  # two full pages, then an empty one
    server.route("/api/items", cursor_route(rows))
    pagination = CursorPagination(
        cursor_param="after", cursor_path="data[-1].id", limit_param="limit"
    )
    client = client_for(server.url)
    pages = list(
        reader(client, {"items": endpoint("cursor", pagination=pagination)}).pages()
    )
    assert [len(p.rows) for p in pages] == [3, 3, 0]
    assert ids(pages) == [1, 2, 3, 4, 5, 6]


def test_short_page_ends_page_number_paging(server, client_for):
    server.route("/api/items", page_route(ITEMS))
    client = client_for(server.url)
    pages = list(reader(client, {"items": endpoint("page_number")}).pages())
    assert [len(p.rows) for p in pages] == [3, 3, 1]
    assert [s.query["page"] for s in server.hits("/api/items")] == ["1", "2", "3"]


def test_repeated_cursor_names_the_endpoint(server, client_for):
    server.route(
        "/api/items",
        lambda seen: Reply(200, {"data": [{"id": 1}], "next": "same-token"}),
    )
    pagination = CursorPagination(cursor_param="cursor", cursor_path="next")
    client = client_for(server.url)
    with pytest.raises(
        PaginationLoopError,
        match=r"^GET items http://127.0.0.1:\d+/api/items\?cursor=same-token: .*cursor",
    ):
        list(
            reader(client, {"items": endpoint("cursor", pagination=pagination)}).pages()
        )
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "maintenance"}, "data selector 'data' not found in the response"),
        ({"data": {"id": 1}}, "data selector 'data' is a dict, not a list"),
        ({"data": [1, 2]}, "rows at 'data' must be objects"),
    ],
)
def test_wrong_shape_page_raises_shape_error(server, client_for, body, message):
    server.route(
        "/api/items",
        [Reply(200, {"data": ITEMS[:3], "has_more": True}), Reply(200, body)],
    )
    client = client_for(server.url)
    pages = reader(client, {"items": endpoint("cursor")}).pages()
    assert len(next(pages).rows) == 3
    with pytest.raises(ShapeError, match=message) as info:
        next(pages)
    assert str(info.value).startswith(
        f"GET items {server.url}/api/items?limit=3&after=3:"
    )


def test_null_rows_are_an_empty_page(server, client_for):
    server.route("/api/items", [Reply(200, {"data": None, "has_more": False})])
    client = client_for(server.url)
    pages = list(reader(client, {"items": endpoint("cursor")}).pages())
    assert [p.rows for p in pages] == [[]]


def test_config_path_params_and_fixed_params(server, client_for):
    server.route("/api/acc%2F1/items", cursor_route(ITEMS[:2]))
    ep = endpoint(
        "cursor",
        path="/api/{account}/items",
        config_params=("account",),
        params={"expand": "all"},
    )
    client = client_for(server.url)
    pages = list(
        reader(client, {"items": ep}, config_values={"account": "acc/1"}).pages()
    )
    assert ids(pages) == [1, 2]
    assert server.requests[0].query == {"expand": "all", "limit": "3"}
    with pytest.raises(
        ValueError,
        match=r"endpoint items: path parameter \{account\} has no config value",
    ):
        list(reader(client, {"items": ep}).pages())


# -- resume -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(PAGINATIONS))
def test_resume_continues_after_the_page_the_state_came_from(server, client_for, kind):
    serve(server, kind)
    client = client_for(server.url)
    catalog = {"items": endpoint(kind)}
    first = list(reader(client, catalog).pages())
    state = json.loads(json.dumps(first[1].resume_state))  # as a store would keep it
    before = len(server.requests)
    resumed = list(reader(client, catalog).pages(state))
    assert ids(resumed) == [7]
    assert resumed[0].url == first[2].url
    assert len(server.requests) == before + 1
    assert list(reader(client, catalog).pages(resumed[-1].resume_state)) == []


# -- incremental --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("type_", "last", "expression", "sent"),
    [
        ("integer", T0 + 4 * 3600, None, str(T0 + 4 * 3600)),
        ("timestamp", "2024-01-01T04:00:00Z", None, str(T0 + 4 * 3600)),
        ("datetime", T0 + 4 * 3600, None, "2024-01-01T04:00:00Z"),
        ("datetime", "2024-01-01T06:00:00+02:00", None, "2024-01-01T04:00:00Z"),
        ("date", "2024-01-02T23:00:00Z", None, "2024-01-02"),
        ("numeric", Decimal("12.5"), None, "12.5"),
        (
            "datetime",
            datetime(2024, 1, 1, 4, tzinfo=UTC),
            "greater-than(updated,{value})",
            "greater-than(updated,2024-01-01T04:00:00Z)",
        ),
    ],
)
def test_incremental_filter_param_per_type(
    server, client_for, type_, last, expression, sent
):
    server.route("/api/items", [Reply(200, {"data": [], "has_more": False})])
    field = IncrementalField(
        "created", type_, "filter[created]", filter_expression=expression
    )
    ep = endpoint("cursor", incremental_fields=(field,))
    window = IncrementalWindow(field=field, last_value=last, earliest_value=None)
    client = client_for(server.url)
    pages = list(reader(client, {"items": ep}, incremental=window).pages())
    assert server.requests[0].query["filter[created]"] == sent
    assert pages[-1].resume_state == {"pass": "newer", "done": True}


def test_incremental_newer_pass_reads_only_newer_rows(server, client_for):
    server.route("/api/items", cursor_route(ITEMS))
    field = IncrementalField("created", "integer", "created_gt")
    window = IncrementalWindow(
        field=field, last_value=ITEMS[3]["created"], earliest_value=None
    )
    client = client_for(server.url)
    pages = list(
        reader(client, {"items": endpoint("cursor")}, incremental=window).pages()
    )
    assert ids(pages) == [5, 6, 7]
    assert all(
        s.query["created_gt"] == str(ITEMS[3]["created"]) for s in server.requests
    )


DESC_FIELD = IncrementalField(
    "created", "integer", "created_gt", before_param="created_lt"
)


def desc_endpoint(**changes):
    return endpoint(
        "cursor",
        sort_mode="desc",
        params={"sort": "desc"},
        incremental_fields=(DESC_FIELD,),
        **changes,
    )


def test_desc_api_runs_the_older_pass_then_the_newer_pass(server, client_for):
    server.route("/api/items", cursor_route(ITEMS))
    # An earlier run read items 7..5 newest-first and stopped; meanwhile nothing is newer.
    window = IncrementalWindow(
        field=DESC_FIELD,
        last_value=ITEMS[6]["created"],
        earliest_value=ITEMS[4]["created"],
        backfill_complete=False,
    )
    client = client_for(server.url)
    pages = list(reader(client, {"items": desc_endpoint()}, incremental=window).pages())
    assert ids(pages) == [4, 3, 2, 1]
    passes = [p.resume_state["pass"] for p in pages]
    assert passes == ["older", "older", "newer"]
    first, second, newer = server.requests
    assert first.query == {
        "sort": "desc",
        "limit": "3",
        "created_lt": str(ITEMS[4]["created"]),
    }
    assert second.query["after"] == "2" and "created_gt" not in second.query
    assert newer.query == {
        "sort": "desc",
        "limit": "3",
        "created_gt": str(ITEMS[6]["created"]),
    }


def test_desc_resume_between_passes_starts_the_newer_pass(server, client_for):
    server.route("/api/items", cursor_route(ITEMS))
    window = IncrementalWindow(
        field=DESC_FIELD,
        last_value=ITEMS[4]["created"],
        earliest_value=ITEMS[1]["created"],
        backfill_complete=False,
    )
    client = client_for(server.url)
    pages = list(reader(client, {"items": desc_endpoint()}, incremental=window).pages())
    assert ids(pages) == [1, 7, 6]
    older_done = pages[0].resume_state
    assert older_done == {"pass": "older", "done": True}
    again = list(
        reader(client, {"items": desc_endpoint()}, incremental=window).pages(older_done)
    )
    assert ids(again) == [7, 6]
    assert all("created_gt" in p.url for p in again)


def test_desc_without_before_param_falls_back_to_a_full_read(server, client_for):
    server.route("/api/items", cursor_route(ITEMS))
    field = IncrementalField("created", "integer", "created_gt")
    window = IncrementalWindow(
        field=field,
        last_value=ITEMS[6]["created"],
        earliest_value=ITEMS[4]["created"],
        backfill_complete=False,
    )
    ep = endpoint(
        "cursor", sort_mode="desc", params={"sort": "desc"}, incremental_fields=(field,)
    )
    client = client_for(server.url)
    pages = list(reader(client, {"items": ep}, incremental=window).pages())
    assert ids(pages) == [7, 6, 5, 4, 3, 2, 1]
    assert {p.resume_state["pass"] for p in pages} == {"full"}


# -- fan-out ------------------------------------------------------------------------------
ORGS = [{"id": "o1"}, {"id": "o/2"}]
TEAMS = {"o1": [{"id": 10}, {"id": 11}], "o%2F2": [{"id": 20}]}
MEMBERS = {
    10: [{"id": "m1"}, {"id": "m2"}, {"id": "m3"}, {"id": "m4"}],
    11: [],
    20: [{"id": "m5"}],
}


def fanout_catalog(page_size=2):
    paging = PageNumberPagination(page_param="page", base_page=1, limit_param="limit")
    common = {"data_selector": "$", "pagination": replace(paging, page_size=page_size)}
    return {
        "orgs": EndpointConfig("orgs", "/orgs", selected=False, **common),
        "teams": EndpointConfig(
            "teams",
            "/orgs/{org}/teams",
            parent=ParentConfig("orgs", "org", "id"),
            **common,
        ),
        "members": EndpointConfig(
            "members",
            "/orgs/{org}/teams/{team}/members",
            parent=ParentConfig("teams", "team", "id", inherited={"org": "_orgs_id"}),
            **common,
        ),
    }


def serve_fanout(server):
    def paged(rows):
        def handle(seen):
            page, limit = int(seen.query["page"]), int(seen.query["limit"])
            return Reply(200, rows[(page - 1) * limit : page * limit])

        return handle

    server.route("/orgs", paged(ORGS))
    for org, teams in TEAMS.items():
        server.route(f"/orgs/{org}/teams", paged(teams))
        for team in teams:
            server.route(
                f"/orgs/{org}/teams/{team['id']}/members", paged(MEMBERS[team["id"]])
            )


def member_rows(pages):
    return [(r["id"], r["_teams_id"], r["_orgs_id"]) for p in pages for r in p.rows]


EXPECTED_MEMBERS = [
    ("m1", 10, "o1"),
    ("m2", 10, "o1"),
    ("m3", 10, "o1"),
    ("m4", 10, "o1"),
    ("m5", 20, "o/2"),
]


def test_fan_out_over_two_levels_adds_parent_columns(server, client_for):
    serve_fanout(server)
    client = client_for(server.url)
    pages = list(reader(client, fanout_catalog(), "members").pages())
    assert member_rows(pages) == EXPECTED_MEMBERS
    # ids are URL-quoted in paths; each parent level is paged with its own paginator
    assert server.hits("/orgs/o%2F2/teams/20/members")
    assert [s.query["page"] for s in server.hits("/orgs/o1/teams/10/members")] == [
        "1",
        "2",
        "3",
    ]
    teams = list(reader(client, fanout_catalog(), "teams").pages())
    assert [(r["id"], r["_orgs_id"]) for p in teams for r in p.rows] == [
        (10, "o1"),
        (11, "o1"),
        (20, "o/2"),
    ]


@pytest.mark.parametrize("cut", range(5))
def test_resume_mid_fan_out_yields_exactly_the_rest(server, client_for, cut):
    serve_fanout(server)
    client = client_for(server.url)
    full = list(reader(client, fanout_catalog(), "members").pages())
    assert (
        len(full) == 5
    )  # team 10: 3 pages (the last empty), team 11: 1 empty, team 20: 1
    state = json.loads(json.dumps(full[cut].resume_state))
    rest = list(reader(client, fanout_catalog(), "members").pages(state))
    assert member_rows(rest) == member_rows(full[cut + 1 :])
    assert [p.url for p in rest] == [p.url for p in full[cut + 1 :]]


def test_resume_mid_fan_out_finds_a_shifted_parent_row(server, client_for):
    serve_fanout(server)
    client = client_for(server.url)
    full = list(reader(client, fanout_catalog(page_size=5), "teams").pages())
    state = json.loads(json.dumps(full[0].resume_state))  # after org o1's teams
    ORGS.insert(
        0, {"id": "o0"}
    )  # a new parent row appears before the one we stopped at
    try:
        server.route("/orgs/o0/teams", [Reply(200, [{"id": 99}])])
        rest = list(reader(client, fanout_catalog(page_size=5), "teams").pages(state))
    finally:
        ORGS.pop(0)
    assert [(r["id"], r["_orgs_id"]) for p in rest for r in p.rows] == [(20, "o/2")]


# -- hooks and caps -----------------------------------------------------------------------
class Hooks:
    def __init__(self):
        self.asked = []

    def make_paginator(self, endpoint_name, endpoint):
        self.asked.append(endpoint_name)
        if endpoint_name == "items":
            return OffsetPaginator("offset", "limit", 2)
        return None

    def transform_row(self, endpoint_name, row):
        if row["id"] % 2 == 0:
            return None
        return {**row, "seen_by": endpoint_name}


def test_hooks_choose_the_paginator_and_transform_rows(server, client_for):
    server.route("/api/items", offset_route(ITEMS))
    ep = endpoint("offset", pagination=SinglePage())
    client = client_for(server.url)
    hooks = Hooks()
    pages = list(reader(client, {"items": ep}, hooks=hooks).pages())
    assert [s.query["limit"] for s in server.requests] == ["2", "2", "2", "2"]
    assert ids(pages) == [1, 3, 5, 7]
    assert {r["seen_by"] for p in pages for r in p.rows} == {"items"}
    assert hooks.asked == ["items"]


def test_max_pages_stops_and_names_endpoint_and_parents(server, client_for, caplog):
    serve_fanout(server)
    client = client_for(server.url)
    with caplog.at_level(logging.WARNING, logger="runtime.read.reader"):
        pages = list(
            reader(
                client, fanout_catalog(), "members", limits=ReadLimits(max_pages=1)
            ).pages()
        )
    # orgs capped at page 1 (o1, o/2 fit in it), team 10's members capped at page 1
    assert member_rows(pages) == [("m1", 10, "o1"), ("m2", 10, "o1"), ("m5", 20, "o/2")]
    warnings = [r.getMessage() for r in caplog.records]
    assert (
        "endpoint members (parent teams=10, _orgs_id=o1): stopped at max_pages=1; the API has more pages"
        in warnings
    )
    assert all(r.job_id == "job-42" for r in caplog.records)


def test_max_pages_from_the_endpoint(server, client_for):
    serve(server, "offset")
    client = client_for(server.url)
    pages = list(reader(client, {"items": endpoint("offset", max_pages=2)}).pages())
    assert ids(pages) == [1, 2, 3, 4, 5, 6]
    assert pages[-1].resume_state == {"pass": "full", "done": True}


def test_read_limits_cap_the_read_and_leave_the_catalog_alone(server, client_for):
    """Recording and replay hand their caps to the reader; the catalog stays as generated."""
    serve(server, "cursor")
    item = endpoint("cursor")  # page_size 3
    catalog = {"items": item}
    client = client_for(server.url)
    limits = ReadLimits(page_size=2, max_pages=3)
    pages = list(reader(client, catalog, limits=limits).pages())
    assert [len(p.rows) for p in pages] == [
        2,
        2,
        2,
    ]  # limit=2 sent, stopped after 3 pages
    assert catalog == {"items": item} and catalog["items"].page_size == 3
    # A cap above the endpoint's own page size does not raise it.
    pages = list(reader(client, catalog, limits=ReadLimits(page_size=50)).pages())
    assert [len(p.rows) for p in pages] == [3, 3, 1]


# -- values -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        (1704164645, "datetime", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05.900Z", "datetime", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05", "datetime", "2024-01-02T03:04:05Z"),
        (datetime(2024, 1, 2, 3, 4, 5), "datetime", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05Z", "integer", "1704164645"),
        (1704164645.7, "timestamp", "1704164645"),
        ("1704164645", "integer", "1704164645"),
        (1704164645, "date", "2024-01-02"),
        (date(2024, 1, 2), "date", "2024-01-02"),
        ("2024-01-02", "date", "2024-01-02"),
        (3.25, "numeric", "3.25"),
    ],
)
def test_format_incremental(value, type_, expected):
    assert format_incremental(value, type_) == expected


def test_compare_key_orders_mixed_representations():
    mixed = ["2024-01-02T03:04:05Z", 1704164600, datetime(2024, 1, 2, 3, 5, tzinfo=UTC)]
    assert max(mixed, key=lambda v: compare_key(v, "datetime")) == mixed[2]
    assert min(mixed, key=lambda v: compare_key(v, "integer")) == 1704164600
    assert (
        max(
            ["2024-01-02", "2024-01-10T00:00:00Z"], key=lambda v: compare_key(v, "date")
        )
        == "2024-01-10T00:00:00Z"
    )
    assert compare_key("10.5", "numeric") > compare_key(9, "numeric")
    assert compare_key(None, "datetime") is None
    with pytest.raises(ValueError, match="cannot read 'soon' as a time"):
        compare_key("soon", "datetime")
