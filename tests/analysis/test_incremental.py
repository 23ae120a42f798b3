"""Incremental fields exist only where the API filters server-side; they map to row fields."""

from generator.plan import incremental_json

from .fragments import DT, I, S, api, arr, get, obj, q

RANGE = {"anyOf": [obj(gt=I, gte=I, lt=I, lte=I), I]}


def inc(endpoint_of, row, params, body=None):
    ep = endpoint_of(
        api(
            {
                "/things": get(
                    body or obj(data=arr(row), has_more={"type": "boolean"}), params
                )
            }
        ),
        "/things",
    )
    return [incremental_json(f) for f in ep.incremental_fields], ep


def test_deep_object_range_filter_prefers_gt_and_pairs_lt(endpoint_of):
    got, ep = inc(
        endpoint_of,
        obj(id=S, created={"type": "integer", "format": "unix-time"}),
        [q("created", RANGE, style="deepObject")],
    )
    assert got == [
        {
            "field": "created",
            "type": "integer",
            "filter_param": "created[gt]",
            "before_param": "created[lt]",
        }
    ]
    assert ep.why["incremental"].startswith("range_object_param")


def test_range_filter_maps_to_the_rows_creation_field_when_names_differ(endpoint_of):
    row = obj(
        id=S,
        date={
            "type": "integer",
            "description": "Time at which the object was created.",
        },
    )
    got, _ = inc(endpoint_of, row, [q("created", RANGE, style="deepObject")])
    assert got[0]["field"] == "date" and got[0]["filter_param"] == "created[gt]"


def test_object_filter_documented_only_in_prose(endpoint_of):
    schema = {"type": "object", "additionalProperties": {"type": "string"}}
    desc = 'Filter by date created, e.g. `{ "gt": "2012-01-01" }` where `gt` is >, `lt` is <.'
    got, _ = inc(
        endpoint_of,
        obj(id=S, date_created=DT),
        [q("date_created", schema, desc, style="deepObject")],
    )
    assert got == [
        {
            "field": "date_created",
            "type": "datetime",
            "filter_param": "date_created[gt]",
            "before_param": "date_created[lt]",
        }
    ]


def test_comparison_suffix_params(endpoint_of):
    row = obj(sid=S, date_created={"type": "string", "format": "date-time-rfc-2822"})
    got, _ = inc(
        endpoint_of,
        row,
        [q("DateCreated", DT), q("DateCreated<", DT), q("DateCreated>", DT)],
    )
    assert got == [
        {
            "field": "date_created",
            "type": "datetime",
            "filter_param": "DateCreated>",
            "before_param": "DateCreated<",
        }
    ]


def test_since_reads_the_description_and_covers_the_creation_field(endpoint_of):
    row = obj(id=I, created_at=DT, updated_at=DT, closed_at=DT)
    since = q(
        "since", DT, "Only show results that were last updated after the given time."
    )
    got, ep = inc(endpoint_of, row, [since], body=arr(row))
    assert got == [
        {"field": "updated_at", "type": "datetime", "filter_param": "since"},
        {"field": "created_at", "type": "datetime", "filter_param": "since"},
    ]
    assert "updated_covers_created" in ep.why["incremental"]


def test_named_bounds_with_their_upper_partner(endpoint_of):
    row = obj(id=S, published=DT)
    params = [
        q(
            "since",
            DT,
            "Filters the lower time bound of the log events `published` property",
        ),
        q("until", DT),
    ]
    got, _ = inc(endpoint_of, row, params, body=arr(row))
    assert got == [
        {
            "field": "published",
            "type": "datetime",
            "filter_param": "since",
            "before_param": "until",
        }
    ]
    got, _ = inc(
        endpoint_of,
        obj(id=S, created={"type": "integer"}),
        [
            q(
                "ts_from",
                {"type": "number"},
                "Filter files created after this timestamp",
            ),
            q("ts_to"),
        ],
    )
    assert got[0]["field"] == "created" and got[0]["filter_param"] == "ts_from"


def test_jsonapi_filter_expression(endpoint_of):
    resource = obj(type=S, id=S, attributes=obj(name=S, created=DT, updated=DT))
    desc = (
        "Allowed field(s)/operator(s):<br>`name`: `any`, `equals`<br>`created`: `greater-than`<br>"
        "`updated`: `greater-than`, `less-than`"
    )
    got, _ = inc(
        endpoint_of,
        None,
        [q("filter", S, desc)],
        body=obj(data=arr(resource), links=obj(next=S)),
    )
    assert got == [
        {
            "field": "updated",
            "type": "datetime",
            "filter_param": "filter",
            "filter_expression": "greater-than(updated,{value})",
        },
        {
            "field": "created",
            "type": "datetime",
            "filter_param": "filter",
            "filter_expression": "greater-than(created,{value})",
        },
    ]


def test_scim_filter_expression(endpoint_of):
    desc = 'Filters users. For example, `filter=lastUpdated gt "2013-06-01T00:00:00.000Z"` is encoded as ...'
    got, _ = inc(
        endpoint_of,
        None,
        [q("filter", S, desc)],
        body=arr(obj(id=S, created=DT, lastUpdated=DT)),
    )
    assert got[0] == {
        "field": "lastUpdated",
        "type": "datetime",
        "filter_param": "filter",
        "filter_expression": 'lastUpdated gt "{value}"',
    }


def test_no_incremental_without_a_server_side_filter(endpoint_of):
    row = obj(id=S, created_at=DT, updated_at=DT)
    got, ep = inc(
        endpoint_of,
        row,
        [q("per_page", I), q("direction", {"enum": ["asc", "desc"]})],
        body=arr(row),
    )
    assert got == [] and ep.why["incremental"].startswith("no server-side filter")


def test_value_ranges_and_scheduled_dates_are_not_incremental(endpoint_of):
    row = obj(id=S, popularity=I, send_date=DT, expires_at=DT)
    params = [
        q("min_popularity", I),
        q("send_date", {"type": "object"}, "`gt` is >", style="deepObject"),
        q("expires_after", DT),
    ]
    got, _ = inc(endpoint_of, row, params, body=arr(row))
    assert got == []


def test_every_filter_param_exists_in_the_spec(endpoint_of):
    row = obj(id=S, created=I, updated_at=DT)
    params = [q("created", RANGE, style="deepObject"), q("updated_since", DT)]
    _, ep = inc(endpoint_of, row, params)
    declared = {"created", "updated_since"}
    for f in ep.incremental_fields:
        assert f.filter_param.split("[")[0] in declared
        assert f.before_param is None or f.before_param.split("[")[0] in declared


def test_if_modified_since_header_that_filters_results(endpoint_of):
    header = {
        "name": "If-Modified-Since",
        "in": "header",
        "schema": {"type": "string"},
        "description": "Only return items modified since this time.",
    }
    got, _ = inc(
        endpoint_of,
        obj(id=S, modified_at=DT),
        [header],
        body=arr(obj(id=S, modified_at=DT)),
    )
    assert got == [
        {
            "field": "modified_at",
            "type": "datetime",
            "filter_param": "If-Modified-Since",
        }
    ]
    caching = dict(
        header,
        description="Conditional request: 304 when the resource has not changed.",
    )
    got, _ = inc(
        endpoint_of,
        obj(id=S, modified_at=DT),
        [caching],
        body=arr(obj(id=S, modified_at=DT)),
    )
    assert got == []


def test_a_filter_ignored_unless_another_parameter_is_set_is_not_used(endpoint_of):
    row = obj(event_id=S, created_at=DT)
    params = [
        q(
            "created_after",
            DT,
            "The lower bound. This can only be used when requesting events with a "
            "`stream_type` of `admin_logs`. For any other `stream_type` this value will be "
            "ignored.",
        ),
        q("stream_type", {"type": "string", "default": "all"}),
    ]
    got, _ = inc(
        endpoint_of, row, params, body=obj(entries=arr(row), next_stream_position=S)
    )
    assert got == []
