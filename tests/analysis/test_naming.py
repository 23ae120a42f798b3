"""Table names: stable, snake_case, collision-free without position numbers."""

import keyword

from generator.analysis.naming import assign_names

from .fragments import S, api, arr, get, obj, path_param


def names(paths, version_params=frozenset()):
    return assign_names(list(paths), set(version_params))


def test_collection_child_and_lookup_names():
    got = names(
        [
            "/v1/customers",
            "/v1/customers/{customer}",
            "/v1/customers/{customer}/tax_ids",
            "/v1/customers/{customer}/tax_ids/{id}",
        ]
    )
    assert got == {
        "/v1/customers": "customers",
        "/v1/customers/{customer}": "customer",
        "/v1/customers/{customer}/tax_ids": "customer_tax_ids",
        "/v1/customers/{customer}/tax_ids/{id}": "customer_tax_id",
    }


def test_tenant_scope_versions_and_extensions_are_dropped():
    got = names(
        [
            "/2010-04-01/Accounts/{AccountSid}/Calls.json",
            "/2010-04-01/Accounts.json",
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
            "/api/v1/users",
            "/{apiVersion}/linode/instances",
        ],
        {"apiVersion"},
    )
    assert got["/2010-04-01/Accounts/{AccountSid}/Calls.json"] == "calls"
    assert got["/2010-04-01/Accounts.json"] == "accounts"
    assert got["/repos/{owner}/{repo}/pulls/{pull_number}/reviews"] == "pull_reviews"
    assert got["/api/v1/users"] == "users"
    assert got["/{apiVersion}/linode/instances"] == "linode_instances"


def test_names_are_identifiers_and_never_keywords():
    got = names(
        ["/v1/import", "/v1/3d_secure/{id}", "/v1/class-list", "/conversations.list"]
    )
    for name in got.values():
        assert name.isidentifier() and not keyword.iskeyword(name)
    assert got["/v1/import"] == "import_"
    assert got["/conversations.list"] == "conversations_list"


def test_collisions_are_qualified_from_the_path_not_numbered():
    got = names(
        [
            "/orgs/{org}/teams",
            "/repos/{owner}/{repo}/teams",
            "/orgs/{org}/teams/{team_slug}",
            "/teams/{team_id}",
        ]
    )
    assert len(set(got.values())) == 4
    assert not any(ch.isdigit() for n in got.values() for ch in n)
    # The shorter top-level path keeps the short name; the other is qualified by its own path.
    assert got["/orgs/{org}/teams"] == "teams"
    assert got["/repos/{owner}/{repo}/teams"] == "repo_teams"


def test_a_list_keeps_its_name_over_a_lookup_with_the_same_noun():
    got = names(["/a/{a_id}/media", "/a/{a_id}/media/{sid}"])
    assert got["/a/{a_id}/media"] == "a_media"
    assert got["/a/{a_id}/media/{sid}"] != "a_media"


def test_adding_an_unrelated_endpoint_renames_nothing():
    before = names(["/v1/customers", "/v1/charges", "/v1/customers/{customer}/sources"])
    after = names(
        [
            "/v1/customers",
            "/v1/charges",
            "/v1/customers/{customer}/sources",
            "/v1/zebras",
            "/v1/aardvarks/{a}/sources",
        ]
    )
    assert {p: after[p] for p in before} == before


def test_names_reach_the_plan(plan_of):
    rows = arr(obj(id=S))
    plan = plan_of(
        api(
            {
                "/v1/customers": get(rows),
                "/v1/customers/{customer}/tax_ids": get(rows, [path_param("customer")]),
            }
        )
    )
    assert [e.name for e in plan.endpoints] == ["customers", "customer_tax_ids"]


def test_stripe_history_and_current_spec_keep_names(specs):
    from generator.analysis import analyse
    from generator.spec.loader import load_path

    current = analyse(
        load_path(specs / "stripe" / "spec3.json", validate_spec=False), "stripe"
    )
    old = analyse(
        load_path(
            specs / "stripe" / "history" / "spec3-2021-08-23.json", validate_spec=False
        ),
        "stripe",
    )
    old_names = {e.path: e.name for e in old.endpoints}
    shared = [e for e in current.endpoints if e.path in old_names]
    assert len(shared) > 150
    assert [(e.path, e.name) for e in shared if e.name != old_names[e.path]] == []
