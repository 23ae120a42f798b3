"""Data selector, row schema, columns and list-ness."""

from .fragments import DT, I, S, api, arr, get, obj, path_param


def test_root_array(endpoint_of):
    ep = endpoint_of(api({"/things": get(arr(obj(id=I)))}), "/things")
    assert ep.data_selector == "$"
    assert ep.why["data_selector"].startswith("root_array")


def test_conventional_envelopes(endpoint_of):
    for name in ("data", "results", "items", "records", "entries"):
        doc = api({"/things": get(obj(**{name: arr(obj(id=I)), "total": I}))})
        assert endpoint_of(doc, "/things").data_selector == name


def test_nested_envelope_result_items(endpoint_of):
    doc = api(
        {
            "/things": get(
                obj(
                    success={"type": "boolean"},
                    errors=arr(obj(code=I)),
                    result=obj(items=arr(obj(id=I)), total_count=I),
                )
            )
        }
    )
    assert endpoint_of(doc, "/things").data_selector == "result.items"


def test_single_array_beside_paging_metadata(endpoint_of):
    twilio_like = obj(
        calls=arr(obj(sid=S)), next_page_uri=S, page=I, page_size=I, uri=S
    )
    github_like = obj(total_count=I, workflow_runs=arr(obj(id=I)))
    assert (
        endpoint_of(api({"/calls": get(twilio_like)}), "/calls").data_selector
        == "calls"
    )
    assert (
        endpoint_of(api({"/runs": get(github_like)}), "/runs").data_selector
        == "workflow_runs"
    )


def test_an_object_with_its_own_array_is_a_single_object(endpoint_of):
    tree = obj(sha=S, url=S, truncated={"type": "boolean"}, tree=arr(obj(path=S)))
    ep = endpoint_of(
        api({"/trees/{sha}": get(tree, [path_param("sha")])}), "/trees/{sha}"
    )
    assert ep.data_selector == "$" and not ep.selected
    assert ep.pagination.type == "single_page"


def test_a_lookup_path_is_not_a_list_even_with_an_items_member(endpoint_of):
    sub = obj(
        id=S,
        object=S,
        customer=S,
        items=obj(object=S, data=arr(obj(id=S)), has_more={"type": "boolean"}),
    )
    ep = endpoint_of(
        api({"/subscriptions/{id}": get(sub, [path_param("id")])}),
        "/subscriptions/{id}",
    )
    assert ep.data_selector == "$" and not ep.selected


def test_jsonapi_rows_are_flattened_to_their_attributes(endpoint_of):
    resource = obj(
        type=S,
        id=S,
        attributes=obj(name=S, created=DT, updated=DT),
        relationships=obj(x=S),
    )
    ep = endpoint_of(
        api({"/profiles": get(obj(data=arr(resource), links=obj(next=S)))}), "/profiles"
    )
    assert ep.data_selector == "data"
    assert [c.name for c in ep.columns] == [
        "id",
        "type",
        "name",
        "created",
        "updated",
        "relationships",
    ]


def test_columns_follow_spec_order_and_map_types(endpoint_of):
    row = obj(
        id=S,
        count=I,
        ratio={"type": "number"},
        ok={"type": "boolean"},
        meta=obj(a=S),
        tags=arr(S),
        either={"anyOf": [S, obj(id=S)]},
        maybe={"type": ["integer", "null"]},
    )
    ep = endpoint_of(api({"/rows": get(arr(row))}), "/rows")
    assert [(c.name, c.type) for c in ep.columns] == [
        ("id", "string"),
        ("count", "int64"),
        ("ratio", "float64"),
        ("ok", "bool"),
        ("meta", "json"),
        ("tags", "list<string>"),
        ("either", "json"),
        ("maybe", "int64"),
    ]


def test_time_decimal_and_list_columns_get_real_types(endpoint_of):
    epoch = "Time at which the object was created. Measured in seconds since the Unix epoch."
    row = obj(
        created_at={"type": "string", "format": "date-time"},
        day={"type": "string", "format": "date"},
        created={"type": "integer", "format": "unix-time"},
        ts={"type": "integer", "description": epoch},
        wait={"type": "integer", "description": "How long to wait, in seconds."},
        amount={"type": "string", "format": "decimal"},
        price={"type": "number", "format": "decimal", "multipleOf": 0.01},
        ids=arr(I),
        items=arr(obj(id=S)),
    )
    ep = endpoint_of(api({"/rows": get(arr(row))}), "/rows")
    assert [(c.name, c.type) for c in ep.columns] == [
        ("created_at", "timestamp"),
        ("day", "date"),
        ("created", "timestamp"),
        ("ts", "timestamp"),
        ("wait", "int64"),
        ("amount", "string"),
        ("price", "decimal(38,2)"),
        ("ids", "list<int64>"),
        ("items", "json"),
    ]


def test_refs_resolve_for_rows(endpoint_of):
    doc = api(
        {"/rows": get({"$ref": "#/components/schemas/List"})},
        schemas={
            "List": obj(
                data=arr({"$ref": "#/components/schemas/Row"}),
                has_more={"type": "boolean"},
            ),
            "Row": obj(id=S, created=I),
        },
    )
    ep = endpoint_of(doc, "/rows")
    assert ep.data_selector == "data" and [c.name for c in ep.columns] == [
        "id",
        "created",
    ]


def test_untyped_items_list_is_read_as_a_union_of_objects(endpoint_of):
    conversation = {"items": [obj(id=S, created=I), obj(id=S, name=S)]}
    doc = api(
        {
            "/conversations.list": get(
                obj(ok={"type": "boolean"}, channels=arr(conversation))
            )
        }
    )
    ep = endpoint_of(doc, "/conversations.list")
    assert ep.data_selector == "channels"
    assert [c.name for c in ep.columns] == ["id", "created", "name"]
    assert ep.selected


def test_scalar_rows_are_not_selected(endpoint_of):
    ep = endpoint_of(api({"/topics": get(obj(names=arr(S)))}), "/topics")
    assert ep.data_selector == "names"
    assert not ep.selected and ep.why["selected"].startswith("scalar_rows")
