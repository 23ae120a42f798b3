"""Sort mode: ask for ascending where we can sync incrementally, else report natural order."""

from .fragments import DT, I, S, api, arr, get, obj, q

ROW = obj(id=I, created_at=DT, updated_at=DT)
SINCE = q("since", DT, "Only show results that were last updated after the given time.")


def sort_of(plan_of, path_items: dict, path: str):
    plan = plan_of(api(path_items))
    ep = next(e for e in plan.endpoints if e.path == path)
    return ep.sort_mode, ep.params, ep.why["sort_mode"]


def test_sort_and_direction_params_are_set_to_ascending(plan_of):
    params = [
        SINCE,
        q(
            "sort",
            {
                "type": "string",
                "enum": ["created", "updated", "comments"],
                "default": "created",
            },
        ),
        q("direction", {"type": "string", "enum": ["asc", "desc"], "default": "desc"}),
    ]
    mode, params, why = sort_of(plan_of, {"/issues": get(arr(ROW), params)}, "/issues")
    assert (mode, params) == ("asc", {"sort": "updated", "direction": "asc"})
    assert why.startswith("sort_and_direction_params")


def test_jsonapi_sort_values(plan_of):
    resource = obj(id=S, type=S, attributes=obj(updated=DT, created=DT))
    params = [
        q("filter", S, "`updated`: `greater-than`"),
        q("sort", {"enum": ["created", "-created", "updated", "-updated"]}),
    ]
    mode, params, _ = sort_of(
        plan_of, {"/lists": get(obj(data=arr(resource)), params)}, "/lists"
    )
    assert (mode, params) == ("asc", {"sort": "updated"})


def test_without_incremental_a_stable_order_is_still_requested(plan_of):
    """A full read of an API whose default order is unknown can skip or repeat rows between
    pages: the sort is sent on tables without an incremental field too (creation time, key)."""
    params = [
        q(
            "direction",
            {"type": "string", "enum": ["asc", "desc"]},
            "Sort direction by creation time.",
        )
    ]
    mode, params, why = sort_of(plan_of, {"/pulls": get(arr(ROW), params)}, "/pulls")
    assert (mode, params) == ("asc", {"direction": "asc"})
    assert (
        why.startswith("sort_and_direction_params")
        and "stable order for full reads" in why
    )
    tags = [q("sort", {"enum": ["id", "-id", "name"]})]
    mode, params, why = sort_of(
        plan_of, {"/tags": get(arr(obj(id=S, name=S)), tags)}, "/tags"
    )
    assert (mode, params) == ("asc", {"sort": "id"}) and why.startswith(
        "jsonapi_sort_param"
    )


def test_without_incremental_a_stated_default_order_is_kept_and_nothing_is_sent(
    plan_of,
):
    params = [
        q(
            "direction",
            {"type": "string", "enum": ["asc", "desc"]},
            "Default: `desc` when sort is `created` or sort is not specified, otherwise `asc`.",
        )
    ]
    mode, params, why = sort_of(plan_of, {"/pulls": get(arr(ROW), params)}, "/pulls")
    assert (mode, params) == ("desc", {}) and why.startswith("direction_default")


def test_without_a_stable_field_the_natural_order_is_reported_and_nothing_is_sent(
    plan_of,
):
    params = [
        q("direction", {"type": "string", "enum": ["asc", "desc"], "default": "desc"})
    ]
    row = obj(
        name=S, note=S
    )  # no key, no creation time: nothing an order could rest on
    mode, params, why = sort_of(plan_of, {"/notes": get(arr(row), params)}, "/notes")
    assert (mode, params) == ("desc", {}) and why.startswith("direction_default")


def test_described_order(plan_of):
    desc = "Returns a list of your customers, sorted by creation date, with the most recent customers appearing first."
    mode, _, why = sort_of(
        plan_of, {"/customers": get(arr(ROW), description=desc)}, "/customers"
    )
    assert mode == "desc" and why.startswith("described_order")
    mode, _, _ = sort_of(
        plan_of,
        {"/reviews": get(arr(ROW), description="Returns in chronological order.")},
        "/reviews",
    )
    assert mode == "asc"


def test_spec_convention_for_unstated_endpoints(plan_of):
    cursor = [q("starting_after", description="an object ID"), q("limit", I)]
    body = obj(data=arr(ROW), has_more={"type": "boolean"})
    first = "Items are returned sorted by creation date, with the most recent appearing first."
    items = {f"/v1/x{i}": get(body, cursor, description=first) for i in range(3)}
    items["/v1/unstated"] = get(body, cursor)
    mode, _, why = sort_of(plan_of, items, "/v1/unstated")
    assert mode == "desc" and why.startswith("spec_convention")


def test_default_is_ascending(plan_of):
    mode, params, why = sort_of(plan_of, {"/things": get(arr(ROW))}, "/things")
    assert (mode, params) == ("asc", {}) and why.startswith("default_ascending")
