"""Primary keys."""

from .fragments import DT, I, S, api, arr, get, obj, path_param, q


def pk(endpoint_of, path, row, params=None, envelope=None):
    body = (
        arr(row) if envelope is None else obj(**{envelope: arr(row)}, next_page_uri=S)
    )
    return endpoint_of(api({path: get(body, params)}), path).primary_key


def test_id_and_identifier_names(endpoint_of):
    assert pk(endpoint_of, "/a", obj(name=S, id=S)) == ["id"]
    assert pk(endpoint_of, "/a", obj(name=S, sid=S)) == ["sid"]
    assert pk(endpoint_of, "/a", obj(message=S, sha=S)) == ["sha"]
    assert pk(endpoint_of, "/a", obj(name=S, uuid=S)) == ["uuid"]
    assert pk(endpoint_of, "/tasks", obj(name=S, gid=S, resource_type=S)) == ["gid"]
    assert pk(endpoint_of, "/aliases", obj(alias=S, uid=S, projectId=S)) == ["uid"]


def test_resource_id(endpoint_of):
    assert pk(endpoint_of, "/v1/charges", obj(amount=I, charge_id=S)) == ["charge_id"]
    assert pk(endpoint_of, "/policies", obj(name=S, policyId=S)) == ["policyId"]


def test_property_named_after_the_resource(endpoint_of):
    row = obj(friendly_name=S, phone_number=S, locality=S)
    path = "/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Local.json"
    params = [path_param("AccountSid"), path_param("CountryCode")]
    assert pk(endpoint_of, path, row, params, envelope="available_phone_numbers") == [
        "phone_number"
    ]


def test_time_bucket_aggregate_rows(endpoint_of):
    row = obj(
        account_sid=S,
        category=S,
        count=S,
        start_date={"type": "string", "format": "date"},
        end_date={"type": "string", "format": "date"},
        price={"type": "number"},
    )
    path = "/Accounts/{AccountSid}/Usage/Records.json"
    assert pk(
        endpoint_of, path, row, [path_param("AccountSid")], envelope="usage_records"
    ) == ["account_sid", "category", "start_date"]


def test_no_key_when_nothing_identifies_a_row(endpoint_of):
    assert pk(endpoint_of, "/stats", obj(total=I, week=I, days=arr(I))) is None
    assert (
        pk(
            endpoint_of,
            "/emails",
            obj(email=S, primary={"type": "boolean"}, created=DT),
        )
        is None
    )


def test_fan_out_child_of_a_shared_entity_gets_the_parent_column(plan_of):
    user = {"$ref": "#/components/schemas/User"}
    doc = api(
        {
            "/orgs/{org}/teams": get(
                arr(obj(id=I, slug=S, name=S)), [path_param("org")]
            ),
            "/orgs/{org}/teams/{team_slug}/members": get(
                arr(user), [path_param("org"), path_param("team_slug")]
            ),
            "/orgs/{org}/members": get(arr(user), [path_param("org")]),
            "/repos/{owner}/{repo}/stargazers": get(
                arr(user), [path_param("owner"), path_param("repo")]
            ),
            "/repos/{owner}/{repo}/pulls": get(
                arr(obj(id=I, number=I)), [path_param("owner"), path_param("repo")]
            ),
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews": get(
                arr(obj(id=I, pull_request_url=S, submitted_at=DT)),
                [
                    path_param("owner"),
                    path_param("repo"),
                    path_param("pull_number", {"type": "integer"}),
                ],
            ),
        },
        schemas={"User": obj(login=S, id=I)},
    )
    plan = plan_of(doc)
    members = plan.endpoint("org_team_members") or next(
        e
        for e in plan.endpoints
        if e.path.endswith("/members") and "team_slug" in e.path
    )
    assert members.primary_key == ["_teams_slug", "id"]
    assert members.why["primary_key"].startswith("shared_entity_child")
    reviews = next(e for e in plan.endpoints if e.path.endswith("/reviews"))
    assert reviews.primary_key == ["id"]  # reviews belong to one pull request


def test_key_uses_schema_required_identifier(endpoint_of):
    row = {
        "type": "object",
        "required": ["groupId"],
        "properties": {"groupId": S, "name": S, "owner_id": S},
    }
    assert pk(endpoint_of, "/things", row, [q("x")]) == ["groupId"]
