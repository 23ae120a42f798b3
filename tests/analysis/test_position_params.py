"""No silent single page: a list that takes a position parameter always gets a paginator; a
guess says so (`endpoints[].confidence`, one warning line per table); paging stated by vendor
extensions; rows found where the schema composes or hides them."""

import json

from generator.plan import LOW_CONFIDENCE, pagination_json

from .fragments import I, S, api, arr, get, obj, path_param, q

ROW = obj(id=S, name=S)
B = {"type": "boolean"}


def _low(plan, path):
    return [
        w
        for w in plan.warnings
        if w.where == f"GET {path}" and w.message.startswith(LOW_CONFIDENCE)
    ]


def test_cursor_on_a_bare_array_reads_the_link_header_with_low_confidence(plan_of):
    plan = plan_of(
        api(
            {
                "/events": get(
                    arr(ROW),
                    [q("cursor", description="Pagination cursor"), q("limit", I)],
                )
            }
        )
    )
    ep = plan.endpoints[0]
    assert pagination_json(ep.pagination) == {
        "type": "link_header",
        "limit_param": "limit",
        "page_size": 100,
    }
    assert ep.confidence == {"pagination": "low"}
    assert (
        ep.to_json()["confidence"] == {"pagination": "low"}
        and "confidence" not in ep.to_json()["pagination"]
    )
    assert ep.why["pagination"].startswith("position_param_guess")
    (line,) = _low(plan, "/events")
    assert "endpoints.events.pagination" in line.message


def test_integer_offset_without_a_limit_is_an_offset_guess(endpoint_of):
    ep = endpoint_of(
        api({"/things": get(obj(data=arr(ROW)), [q("offset", I)])}), "/things"
    )
    assert pagination_json(ep.pagination) == {
        "type": "offset",
        "offset_param": "offset",
    }
    assert ep.confidence == {"pagination": "low"}


def test_page_without_counts_is_a_page_number_guess(endpoint_of):
    ep = endpoint_of(
        api({"/things": get(arr(ROW), [q("page", {"type": "integer", "minimum": 0})])}),
        "/things",
    )
    assert pagination_json(ep.pagination) == {
        "type": "page_number",
        "page_param": "page",
        "base_page": 0,
    }


def test_string_offset_that_the_body_returns_is_a_cursor(endpoint_of):
    body = obj(data=obj(offset=S, logs=arr(ROW)), took=I)
    params = [q("offset", S, "Key which will be used in pagination"), q("limit", I)]
    ep = endpoint_of(api({"/logs": get(body, params)}), "/logs")
    assert ep.data_selector == "data.logs"
    assert (
        ep.pagination.cursor_param == "offset"
        and ep.pagination.cursor_path == "data.offset"
    )


def test_offset_after_an_id_reads_the_last_rows_id(endpoint_of):
    params = [
        q("offset", S, "Used for pagination. Retrieves results after the provided id")
    ]
    ep = endpoint_of(api({"/rules": get(obj(result=arr(obj(Id=S))), params)}), "/rules")
    assert pagination_json(ep.pagination) == {
        "type": "cursor",
        "cursor_param": "offset",
        "cursor_path": "result[-1].Id",
    }


def test_a_date_named_start_is_not_a_position(endpoint_of):
    ep = endpoint_of(
        api(
            {
                "/things": get(
                    arr(ROW), [q("start", {"type": "string", "format": "date"})]
                )
            }
        ),
        "/things",
    )
    assert ep.pagination.type == "single_page" and not ep.confidence


def test_a_complete_pattern_has_no_confidence_entry(plan_of):
    plan = plan_of(
        api({"/things": get(obj(data=arr(ROW), next_cursor=S), [q("cursor")])})
    )
    assert (
        plan.endpoints[0].confidence == {}
        and "confidence" not in plan.endpoints[0].to_json()
    )
    assert not _low(plan, "/things")


def test_time_bound_cursor(endpoint_of):
    body = obj(
        items=arr(ROW),
        pagination=obj(count=I, next={"type": "number", "nullable": True}),
    )
    params = [
        q(
            "until",
            I,
            "Timestamp (in milliseconds) to only include items created until then.",
        ),
        q("limit", I),
    ]
    ep = endpoint_of(api({"/items": get(body, params)}), "/items")
    assert ep.pagination.cursor_param == "until"
    assert ep.pagination.cursor_path == "pagination.next" and not ep.confidence


# ---- rows ---------------------------------------------------------------------------------


def test_paged_array_beside_other_fields(endpoint_of):
    body = obj(
        ok=B,
        messages=arr(ROW),
        has_more=B,
        pin_count=I,
        channel_actions_count=I,
        response_metadata=obj(next_cursor=S),
    )
    ep = endpoint_of(
        api({"/history": get(body, [q("cursor"), q("limit", I)])}), "/history"
    )
    assert ep.data_selector == "messages" and ep.why["data_selector"].startswith(
        "paged_array"
    )
    assert ep.pagination.cursor_path == "response_metadata.next_cursor"


def test_without_a_position_parameter_that_object_stays_one_object(endpoint_of):
    body = obj(ok=B, messages=arr(ROW), pin_count=I, channel_actions_count=I)
    ep = endpoint_of(api({"/history": get(body, [q("limit", I)])}), "/history")
    assert "single object" in ep.why["data_selector"]


def test_paged_array_inside_one_object(endpoint_of):
    body = obj(id=S, name=S, item_collection=obj(total_count=I, entries=arr(ROW)))
    doc = api(
        {
            "/folders/{folder_id}": get(
                body, [path_param("folder_id"), q("offset", I), q("limit", I)]
            )
        }
    )
    ep = endpoint_of(doc, "/folders/{folder_id}")
    assert ep.data_selector == "item_collection.entries"
    assert ep.pagination.type == "offset"


def test_rows_from_the_example_when_the_schema_is_an_open_template(endpoint_of):
    schema = {"type": "object", "additionalProperties": True, "properties": {"ok": B}}
    example = {
        "ok": True,
        "approved_apps": [{"id": "A1", "name": "x"}],
        "response_metadata": {"next_cursor": ""},
    }
    doc = api(
        {
            "/apps": {
                "get": {
                    "parameters": [q("cursor"), q("limit", I)],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": schema,
                                    "example": example,
                                }
                            },
                        }
                    },
                }
            }
        }
    )
    ep = endpoint_of(doc, "/apps")
    assert (
        ep.data_selector == "approved_apps"
        and "example_rows" in ep.why["data_selector"]
    )
    assert [c.name for c in ep.columns] == ["id", "name"] and ep.primary_key == ["id"]
    assert ep.pagination.cursor_path == "response_metadata.next_cursor"


def test_paging_convention_for_a_response_that_declares_nothing(plan_of):
    listed = obj(object=S, results=arr(ROW), next_cursor=S, has_more=B)
    params = [q("start_cursor"), q("page_size", I)]
    plan = plan_of(
        api(
            {
                "/comments": get(listed, params),
                "/users": get({"type": "object"}, params),
            }
        )
    )
    users = next(e for e in plan.endpoints if e.path == "/users")
    assert users.data_selector == "results" and users.why["data_selector"].startswith(
        "paging_convention"
    )
    assert users.pagination.cursor_path == "next_cursor"
    assert users.confidence == {"data_selector": "low", "pagination": "low"}
    assert _low(plan, "/users")


def test_all_of_envelope_and_one_of_rows_give_one_column_set(endpoint_of):
    schemas = {
        "List": obj(object=S, has_more=B, url=S),
        "Card": obj(id=S, brand=S),
        "Bank": {**obj(id=S, bank_name=S), "required": ["id"]},
    }
    body = {
        "allOf": [
            {"$ref": "#/components/schemas/List"},
            obj(
                data=arr(
                    {
                        "oneOf": [
                            {"$ref": "#/components/schemas/Card"},
                            {"$ref": "#/components/schemas/Bank"},
                        ]
                    }
                )
            ),
        ]
    }
    ep = endpoint_of(
        api(
            {"/sources": get(body, [q("starting_after", description="an object ID")])},
            schemas,
        ),
        "/sources",
    )
    assert ep.data_selector == "data"
    assert [c.name for c in ep.columns] == ["id", "brand", "bank_name"]
    assert ep.pagination.has_more_path == "has_more"


# ---- vendor extensions ----------------------------------------------------------------------


def test_x_pagination_states_offset_paging_and_the_rows(endpoint_of):
    body = obj(dashboards=arr(ROW), other=arr(obj(x=S)), total=I)
    ext = {
        "limitParam": "count",
        "pageOffsetParam": "start",
        "resultsPath": "dashboards",
    }
    ep = endpoint_of(
        api({"/d": get(body, [q("start", I), q("count", I)], **{"x-pagination": ext})}),
        "/d",
    )
    assert ep.data_selector == "dashboards" and ep.why["data_selector"].startswith(
        "stated_results_path"
    )
    assert pagination_json(ep.pagination) == {
        "type": "offset",
        "offset_param": "start",
        "limit_param": "count",
        "page_size": 100,
    }
    assert ep.why["pagination"].startswith("stated_by_extension: x-pagination")


def test_x_ms_pageable_names_the_next_link_and_items(endpoint_of):
    body = obj(value=arr(ROW), nextLink=S)
    ep = endpoint_of(
        api({"/vms": get(body, **{"x-ms-pageable": {"nextLinkName": "nextLink"}})}),
        "/vms",
    )
    assert ep.data_selector == "value"
    assert pagination_json(ep.pagination) == {
        "type": "next_url",
        "next_url_path": "nextLink",
    }


def test_x_speakeasy_cursor(endpoint_of):
    ext = {
        "type": "cursor",
        "inputs": [
            {"name": "after", "in": "parameters", "type": "cursor"},
            {"name": "size", "in": "parameters", "type": "limit"},
        ],
        "outputs": {"nextCursor": "$.meta.next", "results": "$.items"},
    }
    body = obj(items=arr(ROW), meta=obj(next=S))
    ep = endpoint_of(
        api(
            {
                "/x": get(
                    body, [q("after"), q("size", I)], **{"x-speakeasy-pagination": ext}
                )
            }
        ),
        "/x",
    )
    assert pagination_json(ep.pagination) == {
        "type": "cursor",
        "cursor_param": "after",
        "cursor_path": "meta.next",
        "limit_param": "size",
        "page_size": 100,
    }


def test_x_fern_cursor(endpoint_of):
    ext = {
        "cursor": "$request.page_token",
        "next_cursor": "$response.next_page",
        "results": "$response.rows",
    }
    body = obj(rows=arr(ROW), next_page=S)
    ep = endpoint_of(
        api({"/x": get(body, [q("page_token")], **{"x-fern-pagination": ext})}), "/x"
    )
    assert pagination_json(ep.pagination) == {
        "type": "cursor",
        "cursor_param": "page_token",
        "cursor_path": "next_page",
    }


# ---- operations by $ref, path-level parameters, response refs -------------------------------


def test_operations_and_parameters_by_ref_in_other_files(plan_of, tmp_path):
    (tmp_path / "ops").mkdir()
    (tmp_path / "ops" / "list.json").write_text(
        json.dumps(
            {
                "parameters": [{"$ref": "../params.json#/cursor"}],
                "responses": {"200": {"$ref": "../responses.json#/List"}},
            }
        )
    )
    (tmp_path / "params.json").write_text(
        json.dumps({"cursor": q("cursor"), "limit": q("limit", I)})
    )
    (tmp_path / "responses.json").write_text(
        json.dumps(
            {
                "List": {
                    "description": "ok",
                    "headers": {"Link": {"$ref": "#/LinkHeader"}},
                    "content": {"application/json": {"schema": arr(ROW)}},
                },
                "LinkHeader": {"description": "rel=next", "schema": S},
            }
        )
    )
    doc = api(
        {
            "/things": {
                "parameters": [{"$ref": "params.json#/limit"}],
                "get": {"$ref": "ops/list.json"},
            }
        }
    )
    plan = plan_of(doc)
    (ep,) = plan.endpoints
    assert pagination_json(ep.pagination) == {
        "type": "link_header",
        "limit_param": "limit",
        "page_size": 100,
    }
    assert ep.why["pagination"] == "link_header: the response declares a Link header"
    assert not ep.confidence


# ---- base_url keeps the server's path ---------------------------------------------------------


def test_base_url_keeps_the_server_path(plan_of):
    paths = {"/projects": get(arr(ROW))}
    assert (
        plan_of(api(paths, servers=[{"url": "https://host.example/api/0/"}])).base_url
        == "https://host.example/api/0"
    )
    templated = [
        {
            "url": "https://{region}.host.example/{base}",
            "variables": {"region": {"default": "us"}, "base": {"default": "api/0"}},
        }
    ]
    assert (
        plan_of(api(paths, servers=templated)).base_url
        == "https://us.host.example/api/0"
    )
    swagger = {
        "swagger": "2.0",
        "info": {"title": "T", "version": "1"},
        "host": "host.example",
        "basePath": "/api/0",
        "schemes": ["https"],
        "paths": {
            "/projects": {
                "get": {
                    "produces": ["application/json"],
                    "responses": {"200": {"description": "ok", "schema": arr(ROW)}},
                }
            }
        },
    }
    assert plan_of(swagger).base_url == "https://host.example/api/0"


# ---- headers and description text ----------------------------------------------------------------


def test_paging_headers(endpoint_of):
    ep = endpoint_of(
        api(
            {
                "/a": get(
                    arr(ROW),
                    [q("page", I), q("per_page", I)],
                    ["X-Next-Page", "X-Total"],
                )
            }
        ),
        "/a",
    )
    assert pagination_json(ep.pagination) == {
        "type": "page_number",
        "page_param": "page",
        "base_page": 1,
        "limit_param": "per_page",
        "page_size": 100,
    }
    assert ep.why["pagination"].startswith("paging_headers") and not ep.confidence
    ep = endpoint_of(
        api({"/b": get(arr(ROW), [q("skip", I)], ["X-Total-Count"])}), "/b"
    )
    assert (
        pagination_json(ep.pagination) == {"type": "offset", "offset_param": "skip"}
        and not ep.confidence
    )


def test_description_pointing_at_the_link_header(endpoint_of):
    text = 'Returns issues. Use the `cursor` from the Link header (rel="next") to read the next page.'
    ep = endpoint_of(
        api({"/issues": get(arr(ROW), [q("cursor")], description=text)}), "/issues"
    )
    assert ep.pagination.type == "link_header" and not ep.confidence
    assert "description" in ep.why["pagination"]


def test_deprecated_optional_parameters_are_not_built_on(endpoint_of):
    row = obj(id=S, createdAt=I)
    params = [
        q(
            "from",
            {"type": "number", "deprecated": True},
            "Items created after this timestamp.",
        ),
        q(
            "since",
            {"type": "number"},
            "Items created after this JavaScript timestamp.",
        ),
        q("offset", I, deprecated=True),
    ]
    ep = endpoint_of(api({"/items": get(obj(items=arr(row)), params)}), "/items")
    assert [f.filter_param for f in ep.incremental_fields] == ["since"]
    assert ep.pagination.type == "single_page" and not ep.confidence


def test_paging_convention_names_the_rows_after_the_resource_when_peers_disagree(
    plan_of,
):
    meta = obj(next_cursor=S)
    params = [q("cursor"), q("limit", I)]
    template = {"type": "object", "properties": {"ok": B}, "additionalProperties": True}
    plan = plan_of(
        api(
            {
                "/users.list": get(
                    obj(ok=B, members=arr(ROW), response_metadata=meta), params
                ),
                "/channels.list": get(
                    obj(ok=B, channels=arr(ROW), response_metadata=meta), params
                ),
                "/files.remote.list": get(template, params),
                "/admin.inviteRequests.approved.list": get(template, params),
            }
        )
    )
    got = {e.path: e.data_selector for e in plan.endpoints}
    assert got["/files.remote.list"] == "files"
    assert got["/admin.inviteRequests.approved.list"] == "approved_requests"
    guessed = next(e for e in plan.endpoints if e.path == "/files.remote.list")
    assert guessed.pagination.cursor_path == "response_metadata.next_cursor"
