"""Path parameters: from a parent list's rows, from the tenant scope, or from the config."""

from generator.plan import parent_json

from .fragments import I, S, api, arr, get, obj, path_param

ROWS = arr(obj(id=S, name=S))


def by_path(plan):
    return {e.path: e for e in plan.endpoints}


def test_parent_collection_field_id(plan_of):
    plan = by_path(
        plan_of(
            api(
                {
                    "/v1/customers": get(
                        obj(data=arr(obj(id=S)), has_more={"type": "boolean"})
                    ),
                    "/v1/customers/{customer}": get(
                        obj(id=S), [path_param("customer")]
                    ),
                    "/v1/customers/{customer}/tax_ids": get(
                        obj(data=arr(obj(id=S))), [path_param("customer")]
                    ),
                }
            )
        )
    )
    child = plan["/v1/customers/{customer}/tax_ids"]
    assert parent_json(child.parent) == {
        "endpoint": "customers",
        "path_param": "customer",
        "field": "id",
    }
    assert child.selected and child.config_params == []
    lookup = plan["/v1/customers/{customer}"]
    assert not lookup.selected and lookup.why["selected"].startswith("single_object")


def test_parent_field_from_the_parameter_name(plan_of):
    scope = [path_param("owner"), path_param("repo")]
    plan = by_path(
        plan_of(
            api(
                {
                    "/orgs/{org}/teams": get(
                        arr(obj(id=I, slug=S)), [path_param("org")]
                    ),
                    "/orgs/{org}/teams/{team_slug}/repos": get(
                        ROWS, [path_param("org"), path_param("team_slug")]
                    ),
                    "/repos/{owner}/{repo}/pulls": get(arr(obj(id=I, number=I)), scope),
                    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews": get(
                        ROWS, scope + [path_param("pull_number")]
                    ),
                    "/repos/{owner}/{repo}/actions/runs": get(
                        obj(total_count=I, workflow_runs=arr(obj(id=I))), scope
                    ),
                    "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs": get(
                        obj(total_count=I, jobs=arr(obj(id=I))),
                        scope + [path_param("run_id")],
                    ),
                }
            )
        )
    )
    members = plan["/orgs/{org}/teams/{team_slug}/repos"]
    assert (members.parent.field, members.config_params) == ("slug", ["org"])
    reviews = plan["/repos/{owner}/{repo}/pulls/{pull_number}/reviews"]
    assert (reviews.parent.endpoint, reviews.parent.field) == ("pulls", "number")
    assert reviews.config_params == ["owner", "repo"]
    assert plan["/repos/{owner}/{repo}/actions/runs/{run_id}/jobs"].parent.field == "id"


def test_tenant_scope_comes_from_config_even_when_a_list_of_tenants_exists(plan_of):
    plan = by_path(
        plan_of(
            api(
                {
                    "/2010-04-01/Accounts.json": get(
                        obj(accounts=arr(obj(sid=S)), next_page_uri=S)
                    ),
                    "/2010-04-01/Accounts/{AccountSid}/Calls.json": get(
                        obj(calls=arr(obj(sid=S)), next_page_uri=S),
                        [path_param("AccountSid")],
                    ),
                }
            )
        )
    )
    calls = plan["/2010-04-01/Accounts/{AccountSid}/Calls.json"]
    assert (
        calls.parent is None
        and calls.config_params == ["AccountSid"]
        and calls.selected
    )
    assert "tenant_scope" in calls.why["parent"]


def test_grandchildren_inherit_the_parents_own_parameters(plan_of):
    plan = by_path(
        plan_of(
            api(
                {
                    "/things": get(ROWS),
                    "/things/{thing_id}/parts": get(ROWS, [path_param("thing_id")]),
                    "/things/{thing_id}/parts/{part_id}/notes": get(
                        ROWS, [path_param("thing_id"), path_param("part_id")]
                    ),
                }
            )
        )
    )
    notes = plan["/things/{thing_id}/parts/{part_id}/notes"]
    # thing_id comes from the column the runtime adds to each part row: _<parent endpoint>_<field>.
    assert parent_json(notes.parent) == {
        "endpoint": "thing_parts",
        "path_param": "part_id",
        "field": "id",
        "inherited": {"thing_id": "_things_id"},
    }


def test_extension_paths_find_their_parent_collection(plan_of):
    plan = by_path(
        plan_of(
            api(
                {
                    "/Accounts/{AccountSid}/Calls.json": get(
                        obj(calls=arr(obj(sid=S)), next_page_uri=S),
                        [path_param("AccountSid")],
                    ),
                    "/Accounts/{AccountSid}/Calls/{CallSid}/Events.json": get(
                        obj(events=arr(obj(sid=S)), next_page_uri=S),
                        [path_param("AccountSid"), path_param("CallSid")],
                    ),
                }
            )
        )
    )
    events = plan["/Accounts/{AccountSid}/Calls/{CallSid}/Events.json"]
    assert (events.parent.endpoint, events.parent.field, events.config_params) == (
        "calls",
        "sid",
        ["AccountSid"],
    )


def test_values_nobody_provides_make_an_endpoint_unselected(plan_of):
    plan = by_path(
        plan_of(
            api(
                {
                    "/folders/{folder_id}/items": get(
                        obj(entries=arr(obj(id=S))), [path_param("folder_id")]
                    ),
                    "/{apiVersion}/things": get(
                        obj(data=arr(obj(id=S))),
                        [path_param("apiVersion", {"type": "string", "default": "v4"})],
                    ),
                }
            )
        )
    )
    items = plan["/folders/{folder_id}/items"]
    assert items.config_params == ["folder_id"] and not items.selected
    assert items.why["selected"].startswith("needs_path_value")
    versioned = plan["/{apiVersion}/things"]
    assert versioned.selected and versioned.config_params == ["apiVersion"]


def test_a_parent_must_be_callable_without_unknown_values(plan_of):
    required = {
        "name": "type",
        "in": "query",
        "required": True,
        "schema": {"type": "string"},
    }
    plan = by_path(
        plan_of(
            api(
                {
                    "/policies": get(ROWS, [required]),
                    "/policies/{policyId}/rules": get(ROWS, [path_param("policyId")]),
                }
            )
        )
    )
    rules = plan["/policies/{policyId}/rules"]
    assert rules.parent is None and not rules.selected


def test_parent_list_under_another_version_prefix(plan_of):
    deployments = obj(deployments=arr(obj(uid=S, name=S)), pagination=obj(next=I))
    plan = plan_of(
        api(
            {
                "/v5/deployments": get(deployments),
                "/v6/deployments": get(deployments),
                "/v3/deployments/{deployment}/events": get(
                    ROWS, [path_param("deployment")]
                ),
            }
        )
    )
    child = by_path(plan)["/v3/deployments/{deployment}/events"]
    assert parent_json(child.parent) == {
        "endpoint": by_path(plan)["/v6/deployments"].name,
        "path_param": "deployment",
        "field": "uid",
    }
    assert child.why["parent"].startswith("parent_collection_other_version")
