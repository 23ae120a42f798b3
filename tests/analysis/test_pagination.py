"""Pagination: from parameters, response properties and headers together."""

from generator.plan import pagination_json

from .fragments import I, S, api, arr, get, obj, q

B = {"type": "boolean"}
ROW = obj(id=S, name=S)


def pag(endpoint_of, body, params, headers=None, path="/things"):
    ep = endpoint_of(api({path: get(body, params, headers)}), path)
    return pagination_json(ep.pagination), ep


def test_cursor_from_last_item_id_with_has_more(endpoint_of):
    body = obj(object=S, data=arr(ROW), has_more=B, url=S)
    params = [
        q(
            "starting_after",
            description="A cursor for use in pagination: an object ID.",
        ),
        q("ending_before"),
        q(
            "limit",
            I,
            "A limit on the number of objects. Limit can range between 1 and 100, default is 10.",
        ),
    ]
    got, ep = pag(endpoint_of, body, params)
    assert got == {
        "type": "cursor",
        "cursor_param": "starting_after",
        "cursor_path": "data[-1].id",
        "has_more_path": "has_more",
        "limit_param": "limit",
        "page_size": 100,
    }
    assert ep.why["pagination"].startswith("cursor_from_last_item_id")


def test_cursor_from_last_id_in_body(endpoint_of):
    body = obj(object=S, data=arr(ROW), first_id=S, last_id=S, has_more=B)
    got, _ = pag(
        endpoint_of,
        body,
        [q("after", description="A cursor: an object ID"), q("limit", I)],
    )
    assert got["cursor_path"] == "last_id" and got["has_more_path"] == "has_more"


def test_cursor_token_in_body(endpoint_of):
    body = obj(data=arr(ROW), meta=obj(next_cursor=S))
    got, ep = pag(endpoint_of, body, [q("cursor"), q("limit", I)])
    assert (
        got["type"] == "cursor"
        and got["cursor_param"] == "cursor"
        and got["cursor_path"] == "meta.next_cursor"
    )
    assert ep.why["pagination"].startswith("cursor_token_in_body")


def test_marker_and_page_token_pairs(endpoint_of):
    got, _ = pag(
        endpoint_of,
        obj(entries=arr(ROW), next_marker=S, limit=I),
        [q("marker"), q("limit", I)],
    )
    assert (got["cursor_param"], got["cursor_path"]) == ("marker", "next_marker")
    got, _ = pag(
        endpoint_of,
        obj(items=arr(ROW), nextPageToken=S),
        [q("pageToken"), q("maxResults", I)],
    )
    assert (got["cursor_param"], got["cursor_path"], got["limit_param"]) == (
        "pageToken",
        "nextPageToken",
        "maxResults",
    )


def test_cursor_named_only_in_the_parameter_description(endpoint_of):
    desc = (
        "Paginate through collections of data by setting the `cursor` parameter to a `next_cursor` "
        "attribute returned by a previous request's `response_metadata`."
    )
    got, _ = pag(
        endpoint_of,
        obj(ok=B, members=arr(ROW)),
        [q("cursor", description=desc), q("limit", I)],
    )
    assert got["cursor_path"] == "response_metadata.next_cursor"


def test_next_url_in_body_variants(endpoint_of):
    cases = {
        "links.next": obj(
            data=arr(ROW), links=obj(self=S, next={"type": "string", "format": "uri"})
        ),
        "next_page_uri": obj(
            calls=arr(ROW), next_page_uri={"type": "string", "format": "uri"}, page=I
        ),
        "paging.next": obj(data=arr(ROW), paging=obj(next=S, previous=S)),
        "_links.next.href": obj(data=arr(ROW), _links=obj(next=obj(href=S))),
        "next": obj(
            items=arr(ROW),
            next={"type": "string", "nullable": True},
            total=I,
            offset=I,
            limit=I,
        ),
    }
    for path, body in cases.items():
        got, _ = pag(endpoint_of, body, [q("limit", I), q("offset", I)])
        assert got["type"] == "next_url" and got["next_url_path"] == path, (path, got)


def test_link_header_declared_described_and_by_convention(plan_of):
    pp = [q("page", I, "Page number"), q("per_page", I, "Results per page (max 100)")]
    rows = arr(ROW)
    doc = api(
        {
            "/declared": get(rows, pp, headers={"Link": {}}),
            "/described": get(
                rows,
                [
                    q("after", description="Obtained from the `Link` response header."),
                    q("limit", I),
                ],
            ),
            **{f"/linked{i}": get(rows, pp, headers={"Link": {}}) for i in range(3)},
            "/undeclared": get(rows, pp),
        }
    )
    plan = plan_of(doc)
    by_path = {e.path: e for e in plan.endpoints}
    assert pagination_json(by_path["/declared"].pagination) == {
        "type": "link_header",
        "limit_param": "per_page",
        "page_size": 100,
    }
    assert by_path["/described"].pagination.type == "link_header"
    assert by_path["/undeclared"].pagination.type == "link_header"
    assert "elsewhere in this spec" in by_path["/undeclared"].why["pagination"]


def test_page_number_without_link_convention(endpoint_of):
    got, _ = pag(
        endpoint_of,
        obj(data=arr(ROW), page=I, pages=I, results=I),
        [
            q("page", {"type": "integer", "minimum": 1, "default": 1}),
            q("page_size", {"type": "integer", "maximum": 500, "default": 100}),
        ],
    )
    assert got == {
        "type": "page_number",
        "page_param": "page",
        "base_page": 1,
        "limit_param": "page_size",
        "page_size": 500,
        "total_pages_path": "pages",
    }


def test_zero_based_page_from_minimum_or_description(endpoint_of):
    got, _ = pag(
        endpoint_of,
        obj(data=arr(ROW)),
        [q("Page", {"type": "integer", "minimum": 0}), q("PageSize", I)],
    )
    assert got["base_page"] == 0 and got["page_param"] == "Page"
    got, _ = pag(
        endpoint_of,
        obj(data=arr(ROW)),
        [q("page", I, "Zero-based page index"), q("size", I, "Page size")],
    )
    assert got["base_page"] == 0


def test_offset_limit_with_total(endpoint_of):
    got, ep = pag(
        endpoint_of,
        obj(entries=arr(ROW), total_count=I, offset=I, limit=I),
        [
            q("offset", I),
            q("limit", {"type": "integer", "maximum": 1000, "default": 100}),
        ],
    )
    assert got == {
        "type": "offset",
        "offset_param": "offset",
        "limit_param": "limit",
        "page_size": 1000,
        "total_path": "total_count",
    }


def test_start_year_is_not_an_offset_and_page_size_alone_is_not_pages(endpoint_of):
    got, ep = pag(
        endpoint_of, arr(ROW), [q("startYear", I), q("limit", I), q("page_size", I)]
    )
    assert got == {"type": "single_page"}


def test_undecidable_paging_is_single_page_with_a_warning(plan_of):
    plan = plan_of(
        api({"/things": get(obj(data=arr(ROW), has_more=B), [q("limit", I)])})
    )
    ep = plan.endpoints[0]
    assert ep.pagination.type == "single_page"
    assert any(
        w.where == "GET /things" and "pagination undecidable" in w.message
        for w in plan.warnings
    )


def test_a_lone_limit_is_a_top_n_not_a_paging_hint(plan_of):
    plan = plan_of(
        api(
            {
                "/top": get(
                    obj(result=arr(ROW)), [q("limit", I, "Limit the number of objects")]
                )
            }
        )
    )
    assert plan.endpoints[0].pagination.type == "single_page"
    assert not [w for w in plan.warnings if "pagination" in w.message]


def test_page_size_rule(endpoint_of):
    def size(schema, description=""):
        got, _ = pag(
            endpoint_of,
            obj(data=arr(ROW), next_cursor=S),
            [q("cursor"), q("limit", schema, description)],
        )
        return got["page_size"]

    assert size({"type": "integer", "maximum": 250, "default": 20}) == 250
    assert size({"type": "integer", "maximum": 10000, "default": 200}) == 200
    assert size({"type": "integer"}, "Results per page (max 100)") == 100
    assert size({"type": "integer", "default": 25}) == 25
    assert size({"type": "integer"}) == 100


def test_a_paging_mode_switch_is_sent(endpoint_of):
    got, ep = pag(
        endpoint_of,
        obj(entries=arr(ROW), next_marker=S, total_count=I),
        [
            q("marker"),
            q("usemarker", {"type": "boolean"}),
            q("limit", I),
            q("offset", I),
        ],
    )
    assert got["type"] == "cursor" and ep.params == {"usemarker": "true"}


def test_single_objects_are_single_page(endpoint_of):
    got, ep = pag(endpoint_of, obj(id=S, name=S), [q("expand")])
    assert got == {"type": "single_page"} and ep.why["pagination"].startswith(
        "single object"
    )
