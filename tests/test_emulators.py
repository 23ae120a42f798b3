"""The vendor emulators behave as the vendors document: pagination walks every row once,
filters filter, auth is enforced, faults do what they say, the CLI serves."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest

from tests.emulators import EMULATORS, Emulator, start_emulator

ROOT = Path(__file__).resolve().parents[1]
HTTP = httpx.Client(timeout=10)  # one pool for the file: a new Client costs ~20 ms
STRIPE_KEY = {"Authorization": "Bearer sk_test_emulator"}
GH = {"Authorization": "Bearer ghp_emulator_token"}
KLAVIYO = {
    "Authorization": "Klaviyo-API-Key pk_emulator_private_key",
    "revision": "2026-07-15",
}
REPO = "/repos/octocat/Hello-World"


@pytest.fixture(scope="module", autouse=True)
def _close_client() -> Iterator[None]:
    yield
    HTTP.close()


@pytest.fixture
def emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    name, rows = request.param
    e = start_emulator(name, rows=rows, seed=7)
    yield e
    e.stop()


def stripe(rows: int = 25):
    return pytest.mark.parametrize("emu", [("stripe", rows)], indirect=True)


def github(rows: int = 40):
    return pytest.mark.parametrize("emu", [("github", rows)], indirect=True)


def klaviyo(rows: int = 30):
    return pytest.mark.parametrize("emu", [("klaviyo", rows)], indirect=True)


def twilio(rows: int = 60):
    return pytest.mark.parametrize("emu", [("twilio", rows)], indirect=True)


def twilio_auth(e: Emulator) -> tuple[str, str]:
    return e.credentials["account_sid"], e.credentials["auth_token"]


# ----- Stripe ---------------------------------------------------------------------------


def stripe_walk(e: Emulator, path: str, **params) -> list[dict]:
    rows, after = [], None
    while True:
        query = {**params, **({"starting_after": after} if after else {})}
        body = HTTP.get(e.base_url + path, headers=STRIPE_KEY, params=query).json()
        assert body["object"] == "list" and body["url"] == path
        rows += body["data"]
        if not body["has_more"]:
            return rows
        after = body["data"][-1]["id"]


@stripe()
def test_stripe_walks_every_row_once_newest_first(emu):
    rows = stripe_walk(emu, "/v1/customers", limit=7)
    ids = [r["id"] for r in rows]
    assert sorted(ids) == sorted(r["id"] for r in emu.store["customers"])
    assert len(set(ids)) == len(ids) == 25
    assert [r["created"] for r in rows] == sorted(
        (r["created"] for r in rows), reverse=True
    )
    assert all(i.startswith("cus_") for i in ids)
    default = HTTP.get(emu.base_url + "/v1/customers", headers=STRIPE_KEY).json()
    assert len(default["data"]) == 10 and default["has_more"] is True


@stripe()
def test_stripe_ending_before_pages_towards_newer_rows(emu):
    newest_first = stripe_walk(emu, "/v1/charges", limit=100)
    anchor = newest_first[12]["id"]
    page = HTTP.get(
        emu.base_url + "/v1/charges",
        headers=STRIPE_KEY,
        params={"ending_before": anchor, "limit": 5},
    ).json()
    assert [r["id"] for r in page["data"]] == [r["id"] for r in newest_first[7:12]]
    assert page["has_more"] is True


@stripe()
def test_stripe_created_filters(emu):
    created = sorted(r["created"] for r in emu.store["customers"])
    mid = created[10]
    cases = {
        "created[gte]": [c for c in created if c >= mid],
        "created[gt]": [c for c in created if c > mid],
        "created[lt]": [c for c in created if c < mid],
        "created[lte]": [c for c in created if c <= mid],
        "created": [mid],
    }
    for param, expected in cases.items():
        got = stripe_walk(emu, "/v1/customers", limit=4, **{param: mid})
        assert sorted(r["created"] for r in got) == expected, param


@stripe()
def test_stripe_invoiceitems_filter_created_on_their_date_field(emu):
    dates = sorted(r["date"] for r in emu.store["invoiceitems"])
    got = stripe_walk(emu, "/v1/invoiceitems", **{"created[gt]": dates[20]})
    assert sorted(r["date"] for r in got) == dates[21:]
    assert all("created" not in r for r in got)


@stripe()
def test_stripe_rejects_undeclared_or_missing_params(emu):
    def err(path: str, **params) -> dict:
        r = HTTP.get(emu.base_url + path, headers=STRIPE_KEY, params=params)
        assert r.status_code == 400
        return r.json()["error"]

    e = err("/v1/credit_notes", **{"created[gt]": 1})  # credit_notes take no created
    assert (e["type"], e["code"], e["param"]) == (
        "invalid_request_error",
        "parameter_unknown",
        "created[gt]",
    )
    customer = emu.store["customers"][0]["id"]
    assert (
        err(f"/v1/customers/{customer}/payment_methods")["code"] == "parameter_missing"
    )
    assert err("/v1/customers", limit=101)["param"] == "limit"
    assert err("/v1/customers", starting_after="cus_nope")["code"] == "resource_missing"


@stripe(rows=12)
def test_stripe_fan_out_children_belong_to_their_customer(emu):
    for child, extra in (
        ("balance_transactions", {}),
        ("tax_ids", {}),
        ("payment_methods", {"type": "card"}),
    ):
        total = 0
        for customer in emu.store["customers"]:
            rows = stripe_walk(
                emu, f"/v1/customers/{customer['id']}/{child}", limit=2, **extra
            )
            assert all(r["customer"] == customer["id"] for r in rows)
            total += len(rows)
        assert total == len(emu.store[f"customers/{child}"]) > 0
    missing = HTTP.get(
        emu.base_url + "/v1/customers/cus_missing/tax_ids", headers=STRIPE_KEY
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"


@stripe(rows=5)
def test_stripe_auth_and_unknown_paths(emu):
    url = emu.base_url + "/v1/customers"
    assert HTTP.get(url).status_code == 401
    bad = HTTP.get(url, headers={"Authorization": "Bearer sk_test_wrong_secret_9876"})
    assert bad.status_code == 401
    assert bad.json()["error"]["type"] == "invalid_request_error"
    assert "wrong_secret_9876" not in bad.text
    assert HTTP.get(url, auth=("sk_test_emulator", "")).status_code == 200
    unknown = HTTP.get(emu.base_url + "/v1/nothing_here", headers=STRIPE_KEY)
    assert unknown.status_code == 404 and "Unrecognized request URL" in unknown.text
    generic = HTTP.get(emu.base_url + "/v1/coupons", headers=STRIPE_KEY).json()
    assert generic["object"] == "list" and generic["data"][0]["object"] == "coupon"
    one = emu.store["customers"][2]
    assert HTTP.get(f"{url}/{one['id']}", headers=STRIPE_KEY).json() == one


@stripe(rows=6)
def test_stripe_add_and_touch(emu):
    before = max(r["created"] for r in emu.store["customers"])
    new = emu.add("customers", 2)
    got = stripe_walk(emu, "/v1/customers", **{"created[gt]": before})
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in new)
    target = emu.store["customers"][0]
    created = target["created"]
    emu.touch("customers", target["id"])
    fresh = HTTP.get(
        f"{emu.base_url}/v1/customers/{target['id']}", headers=STRIPE_KEY
    ).json()
    assert fresh["created"] == created and "emulator_updated" in fresh["metadata"]


# ----- GitHub ---------------------------------------------------------------------------


def gh_walk(e: Emulator, path: str, **params) -> list[dict]:
    rows, url, seen = [], e.base_url + path, set()
    query: dict | None = params
    while url:
        assert url not in seen
        seen.add(url)
        r = HTTP.get(url, headers=GH, params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        rows += (
            body
            if isinstance(body, list)
            else next(v for v in body.values() if isinstance(v, list))
        )
        url, query = r.links.get("next", {}).get("url"), None
    return rows


@github()
def test_github_link_header_walks_every_issue_once(emu):
    rows = gh_walk(emu, f"{REPO}/issues", state="all", per_page=7)
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in emu.store["issues"])
    assert len({r["id"] for r in rows}) == 40
    assert [r["created_at"] for r in rows] == sorted(
        (r["created_at"] for r in rows), reverse=True
    )
    assert any("pull_request" in r for r in rows)  # "every pull request is an issue"
    middle = HTTP.get(
        emu.base_url + f"{REPO}/issues",
        headers=GH,
        params={"state": "all", "per_page": 7, "page": 3},
    )
    assert set(middle.links) == {"next", "last", "prev", "first"}
    assert (
        middle.links["last"]["url"].startswith(emu.base_url)
        and "page=6" in middle.links["last"]["url"]
    )
    single = HTTP.get(
        emu.base_url + f"{REPO}/issues",
        headers=GH,
        params={"state": "all", "per_page": 100},
    )
    assert "link" not in single.headers and len(single.json()) == 40


@github()
def test_github_issue_defaults_state_since_and_sort(emu):
    default = gh_walk(emu, f"{REPO}/issues", per_page=100)
    assert {r["state"] for r in default} == {"open"}
    assert len(default) == sum(r["state"] == "open" for r in emu.store["issues"]) < 40
    stamps = sorted(r["updated_at"] for r in emu.store["issues"])
    since = gh_walk(emu, f"{REPO}/issues", state="all", since=stamps[30])
    assert sorted(r["updated_at"] for r in since) == stamps[30:]
    asc = gh_walk(emu, f"{REPO}/issues", state="all", sort="updated", direction="asc")
    assert [r["updated_at"] for r in asc] == stamps
    target = emu.store["issues"][0]["number"]
    emu.touch("issues", emu.store["issues"][0]["id"])
    newest = gh_walk(
        emu, f"{REPO}/issues", state="all", since=stamps[-1], sort="updated"
    )
    assert newest[0]["number"] == target and "(edited" in newest[0]["title"]


@github()
def test_github_pulls_direction_default_depends_on_sort(emu):
    by_created = gh_walk(emu, f"{REPO}/pulls", state="all")
    assert [r["created_at"] for r in by_created] == sorted(
        (r["created_at"] for r in by_created), reverse=True
    )
    by_updated = gh_walk(emu, f"{REPO}/pulls", state="all", sort="updated")
    assert [r["updated_at"] for r in by_updated] == sorted(
        r["updated_at"] for r in by_updated
    )
    bad = HTTP.get(
        emu.base_url + f"{REPO}/pulls", headers=GH, params={"direction": "sideways"}
    )
    assert bad.status_code == 422


@github()
def test_github_commits_since_until_and_children(emu):
    dates = sorted(r["commit"]["committer"]["date"] for r in emu.store["commits"])
    got = gh_walk(emu, f"{REPO}/commits", since=dates[5], until=dates[20], per_page=4)
    assert sorted(r["commit"]["committer"]["date"] for r in got) == dates[5:21]
    assert len({r["sha"] for r in got}) == 16
    reviews = 0
    for pull in emu.store["pulls"]:
        rows = gh_walk(emu, f"{REPO}/pulls/{pull['number']}/reviews", per_page=2)
        assert [r["submitted_at"] for r in rows] == sorted(
            r["submitted_at"] for r in rows
        )
        assert all(
            r["pull_request_url"].endswith(f"/pulls/{pull['number']}") for r in rows
        )
        reviews += len(rows)
    assert reviews == len(emu.store["pulls/reviews"]) > 0
    assert (
        HTTP.get(emu.base_url + f"{REPO}/pulls/999999/reviews", headers=GH).status_code
        == 404
    )


@github()
def test_github_stargazers_actions_and_teams(emu):
    plain = gh_walk(emu, f"{REPO}/stargazers")
    assert "login" in plain[0] and "starred_at" not in plain[0]
    starred = HTTP.get(
        emu.base_url + f"{REPO}/stargazers",
        headers={**GH, "Accept": "application/vnd.github.star+json"},
    ).json()
    assert set(starred[0]) == {"starred_at", "user"}
    runs = HTTP.get(
        emu.base_url + f"{REPO}/actions/runs", headers=GH, params={"per_page": 5}
    ).json()
    assert runs["total_count"] == 40 and len(runs["workflow_runs"]) == 5
    day = sorted(r["created_at"] for r in emu.store["actions/runs"])[20][:10]
    later = gh_walk(emu, f"{REPO}/actions/runs", created=f">={day}")
    assert later and all(r["created_at"][:10] >= day for r in later)
    assert len(later) == sum(
        r["created_at"][:10] >= day for r in emu.store["actions/runs"]
    )
    run = emu.store["actions/runs"][0]["id"]
    jobs = HTTP.get(emu.base_url + f"{REPO}/actions/runs/{run}/jobs", headers=GH).json()
    assert jobs["total_count"] == len(jobs["jobs"]) >= 1 and {
        j["run_id"] for j in jobs["jobs"]
    } == {run}
    teams = gh_walk(emu, "/orgs/octo-org/teams")
    members = gh_walk(emu, f"/orgs/octo-org/teams/{teams[0]['slug']}/members")
    assert members == emu.children("teams/members", teams[0]["slug"])
    assert (
        HTTP.get(
            emu.base_url + "/orgs/octo-org/teams/nope/members", headers=GH
        ).status_code
        == 404
    )


@github(rows=150)
def test_github_per_page_is_capped_at_100_and_auth_enforced(emu):
    url = emu.base_url + f"{REPO}/releases"
    assert len(HTTP.get(url, headers=GH, params={"per_page": 500}).json()) == 100
    assert (
        HTTP.get(url, headers={"Authorization": "token ghp_emulator_token"}).status_code
        == 200
    )
    bad = HTTP.get(url, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    assert (
        HTTP.get(emu.base_url + "/repos/other/repo/issues", headers=GH).status_code
        == 404
    )


# ----- Klaviyo --------------------------------------------------------------------------


def kl_walk(e: Emulator, path: str, **params) -> list[dict]:
    rows, url, query = [], e.base_url + path, params
    while url:
        r = HTTP.get(url, headers=KLAVIYO, params=query)
        assert r.status_code == 200, r.text
        rows += r.json()["data"]
        url, query = r.json()["links"]["next"], None
    return rows


def kl_error(
    e: Emulator, path: str, headers: dict = KLAVIYO, **params
) -> tuple[int, dict]:
    r = HTTP.get(e.base_url + path, headers=headers, params=params)
    return r.status_code, r.json()["errors"][0]


@klaviyo()
def test_klaviyo_cursor_links_walk_every_row_once(emu):
    rows = kl_walk(emu, "/api/profiles", **{"page[size]": 7})
    assert [r["id"] for r in rows] == [r["id"] for r in emu.store["profiles"]]
    assert len({r["id"] for r in rows}) == 30
    first = HTTP.get(emu.base_url + "/api/profiles", headers=KLAVIYO).json()
    assert len(first["data"]) == 20  # documented default page size
    assert (
        first["links"]["next"].startswith(emu.base_url)
        and "page%5Bcursor%5D=" in first["links"]["next"]
    )
    assert set(rows[0]) == {"type", "id", "attributes", "relationships", "links"}
    assert kl_error(emu, "/api/profiles", **{"page[size]": 101})[0] == 400
    assert kl_error(emu, "/api/lists", **{"page[size]": 11})[0] == 400
    assert kl_error(emu, "/api/metrics", **{"page[size]": 5})[1]["source"] == {
        "parameter": "page[size]"
    }


@klaviyo()
def test_klaviyo_filters_and_sort(emu):
    stamps = sorted(r["attributes"]["updated"] for r in emu.store["profiles"])
    got = kl_walk(emu, "/api/profiles", filter=f"greater-than(updated,{stamps[9]})")
    assert sorted(r["attributes"]["updated"] for r in got) == stamps[10:]
    both = kl_walk(
        emu,
        "/api/profiles",
        filter=f"and(greater-than(updated,{stamps[9]}),less-than(updated,{stamps[20]}))",
    )
    assert sorted(r["attributes"]["updated"] for r in both) == stamps[10:20]
    newest = kl_walk(emu, "/api/profiles", sort="-updated")
    assert [r["attributes"]["updated"] for r in newest] == stamps[::-1]
    times = sorted(r["attributes"]["datetime"] for r in emu.store["events"])
    window = f"greater-or-equal(datetime,{times[5]}),less-than(datetime,{times[8]})"
    assert len(kl_walk(emu, "/api/events", filter=window)) == 3
    status, err = kl_error(
        emu, "/api/lists", filter=f"greater-or-equal(updated,{stamps[0]})"
    )
    assert (
        status == 400
        and err["code"] == "invalid"
        and err["source"] == {"parameter": "filter"}
    )
    assert (
        kl_error(
            emu, "/api/metrics", filter="greater-than(updated,2024-01-01T00:00:00Z)"
        )[0]
        == 400
    )
    assert kl_error(emu, "/api/profiles", filter="greater-than(updated")[0] == 400
    assert kl_error(emu, "/api/profiles", sort="-nope")[0] == 400


@klaviyo()
def test_klaviyo_campaign_channel_and_touch(emu):
    email = kl_walk(emu, "/api/campaigns", filter="equals(messages.channel,'email')")
    sms = kl_walk(emu, "/api/campaigns", filter="equals(messages.channel,'sms')")
    assert (len(email), len(sms)) == (
        23,
        7,
    )  # every fourth of the 30 is an SMS campaign
    assert (
        kl_walk(emu, "/api/campaigns") == email
    )  # lenient: no channel condition means email
    assert not {r["id"] for r in email} & {r["id"] for r in sms}
    latest = max(r["attributes"]["updated"] for r in emu.store["profiles"])
    emu.touch("profiles", emu.store["profiles"][3]["id"])
    (new,) = emu.add("profiles")
    got = kl_walk(emu, "/api/profiles", filter=f"greater-than(updated,{latest})")
    assert {r["id"] for r in got} == {emu.store["profiles"][3]["id"], new["id"]}


@klaviyo(rows=3)
def test_klaviyo_auth_and_revision(emu):
    status, err = kl_error(emu, "/api/lists", headers={"revision": "2026-07-15"})
    assert status == 401 and err["code"] == "not_authenticated"
    wrong = {**KLAVIYO, "Authorization": "Klaviyo-API-Key pk_wrong"}
    assert kl_error(emu, "/api/lists", headers=wrong)[0] == 401
    no_revision = {"Authorization": KLAVIYO["Authorization"]}
    assert kl_error(emu, "/api/lists", headers=no_revision)[0] == 400


# ----- Twilio ---------------------------------------------------------------------------


def tw_walk(e: Emulator, resource: str, key: str, **params) -> list[dict]:
    sid = e.credentials["account_sid"]
    rows, url, query = (
        [],
        f"{e.base_url}/2010-04-01/Accounts/{sid}/{resource}.json",
        params,
    )
    while url:
        r = HTTP.get(url, auth=twilio_auth(e), params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body[key]
        assert body["page_size"] == int(params.get("PageSize", 50))
        nxt = body["next_page_uri"]
        assert nxt is None or nxt.startswith("/2010-04-01/")
        url, query = (e.base_url + nxt if nxt else None), None
    return rows


def when(row: dict, field: str) -> str:
    return parsedate_to_datetime(row[field]).strftime("%Y-%m-%d %H:%M:%S")


@twilio()
def test_twilio_next_page_uri_walks_every_row_once(emu):
    rows = tw_walk(emu, "Calls", "calls", PageSize=7)
    assert sorted(r["sid"] for r in rows) == sorted(
        r["sid"] for r in emu.store["calls"]
    )
    assert len({r["sid"] for r in rows}) == 60
    assert [when(r, "date_created") for r in rows] == sorted(
        (when(r, "date_created") for r in rows), reverse=True
    )
    assert rows[0]["date_created"].endswith("+0000")  # RFC 2822, as Twilio returns them
    sid = emu.credentials["account_sid"]
    url = f"{emu.base_url}/2010-04-01/Accounts/{sid}/Calls.json"
    first = HTTP.get(url, auth=twilio_auth(emu), params={"PageSize": 7}).json()
    paged = HTTP.get(
        url, auth=twilio_auth(emu), params={"PageSize": 7, "Page": 3}
    ).json()
    assert paged["calls"] == first["calls"]  # `Page` is "simply for client state"
    assert set(first) >= {
        "first_page_uri",
        "previous_page_uri",
        "uri",
        "start",
        "end",
        "page",
    }
    assert len(tw_walk(emu, "Addresses", "addresses", PageSize=1000)) == 60


@twilio()
def test_twilio_documented_date_filters(emu):
    days = sorted({when(r, "date_sent")[:10] for r in emu.store["messages"]})
    day = days[1]
    on_or_after = tw_walk(emu, "Messages", "messages", **{"DateSent>": day})
    assert {when(r, "date_sent")[:10] >= day for r in on_or_after} == {True}
    assert len(on_or_after) == sum(
        when(r, "date_sent")[:10] >= day for r in emu.store["messages"]
    )
    on_or_before = tw_walk(emu, "Messages", "messages", **{"DateSent<": day})
    assert len(on_or_before) + len(on_or_after) == 60 + sum(
        when(r, "date_sent")[:10] == day for r in emu.store["messages"]
    )
    before = tw_walk(
        emu, "Calls", "calls", **{"StartTime<": day}
    )  # "started before this date"
    assert all(when(r, "start_time")[:10] < day for r in before) and before
    exact = tw_walk(emu, "Conferences", "conferences", DateCreated=day)
    assert exact and {when(r, "date_created")[:10] for r in exact} == {day}
    bad = HTTP.get(
        f"{emu.base_url}/2010-04-01/Accounts/{emu.credentials['account_sid']}/Messages.json",
        auth=twilio_auth(emu),
        params={"DateSent>": "yesterday"},
    )
    assert bad.status_code == 400 and bad.json()["code"] == 20001


@twilio(rows=10)
def test_twilio_accounts_numbers_usage_and_auth(emu):
    accounts = HTTP.get(
        f"{emu.base_url}/2010-04-01/Accounts.json", auth=twilio_auth(emu)
    ).json()["accounts"]
    assert emu.credentials["account_sid"] in {a["sid"] for a in accounts}
    assert all(a["auth_token"] != emu.api_key for a in accounts)
    sub = next(a["sid"] for a in accounts if a["sid"] != emu.credentials["account_sid"])
    r = HTTP.get(
        f"{emu.base_url}/2010-04-01/Accounts/{sub}/Calls.json", auth=twilio_auth(emu)
    )
    assert r.status_code == 200 and r.json()["calls"] == []
    for kind in ("Local", "Mobile", "TollFree"):
        numbers = tw_walk(
            emu,
            f"AvailablePhoneNumbers/US/{kind}",
            "available_phone_numbers",
            PageSize=4,
        )
        assert len({n["phone_number"] for n in numbers}) == len(numbers) == 10
    usage = tw_walk(
        emu,
        "Usage/Records",
        "usage_records",
        StartDate="2024-01-01",
        EndDate="2024-01-01",
    )
    keys = {(u["account_sid"], u["category"], u["start_date"]) for u in usage}
    assert len(keys) == len(usage) > 5 and {u["end_date"] for u in usage} == {
        "2024-01-01"
    }
    wide = tw_walk(emu, "Usage/Records", "usage_records", Category="sms")
    assert len(wide) == 1 and int(wide[0]["count"]) >= int(
        next(u["count"] for u in usage if u["category"] == "sms")
    )
    bad = HTTP.get(
        f"{emu.base_url}/2010-04-01/Accounts.json",
        auth=(emu.credentials["account_sid"], "wrong"),
    )
    assert (
        bad.status_code == 401
        and bad.json()["code"] == 20003
        and "wrong" not in bad.text
    )
    assert (
        HTTP.get(
            f"{emu.base_url}/2010-04-01/Accounts/AC{'0' * 32}/Calls.json",
            auth=twilio_auth(emu),
        ).status_code
        == 404
    )


# ----- faults, log, determinism ---------------------------------------------------------


@stripe(rows=25)
def test_fault_429_and_500_then_recovery(emu):
    url = emu.base_url + "/v1/customers"
    emu.faults.inject("429", count=2, retry_after=1)
    emu.faults.inject("500", count=1)
    first, second = (HTTP.get(url, headers=STRIPE_KEY) for _ in range(2))
    assert first.status_code == second.status_code == 429
    assert first.headers["retry-after"] == "1" and first.json()["error"]["message"]
    third = HTTP.get(url, headers=STRIPE_KEY)
    assert third.status_code == 500 and third.json()["error"]["type"] == "api_error"
    assert HTTP.get(url, headers=STRIPE_KEY).status_code == 200
    assert [k for k, _ in emu.faults.fired] == ["429", "429", "500"]
    assert [r.fault for r in emu.requests] == ["429", "429", "500", None]


@stripe(rows=25)
def test_fault_applies_only_to_its_path_prefix(emu):
    emu.faults.inject("500", count=1, path="/v1/charges")
    assert (
        HTTP.get(emu.base_url + "/v1/customers", headers=STRIPE_KEY).status_code == 200
    )
    assert HTTP.get(emu.base_url + "/v1/charges", headers=STRIPE_KEY).status_code == 500
    assert HTTP.get(emu.base_url + "/v1/charges", headers=STRIPE_KEY).status_code == 200


@stripe(rows=25)
def test_fault_slow_reset_truncated_wrong_shape(emu):
    url = emu.base_url + "/v1/customers"
    emu.faults.inject("slow", delay=0.5)
    with pytest.raises(httpx.ReadTimeout):
        HTTP.get(url, headers=STRIPE_KEY, timeout=0.1)
    emu.faults.inject("reset")
    with pytest.raises(httpx.TransportError):
        HTTP.get(url, headers=STRIPE_KEY)
    emu.faults.inject("truncated")
    cut = HTTP.get(url, headers=STRIPE_KEY)
    whole = HTTP.get(url, headers=STRIPE_KEY)
    assert cut.status_code == 200 and whole.content.startswith(cut.content)
    assert len(cut.content) == len(whole.content) // 2
    with pytest.raises(json.JSONDecodeError):
        cut.json()
    emu.faults.inject("wrong_shape")
    odd = HTTP.get(url, headers=STRIPE_KEY)
    assert odd.status_code == 200 and "data" not in odd.json()


@pytest.mark.parametrize("emu", [("github", 40)], indirect=True)
def test_fault_repeat_cursor_serves_the_previous_page_again(emu):
    url = emu.base_url + f"{REPO}/issues"
    page1 = HTTP.get(url, headers=GH, params={"state": "all", "per_page": 10})
    emu.faults.inject("repeat_cursor")
    again = HTTP.get(page1.links["next"]["url"], headers=GH)
    assert again.json() == page1.json() and again.links["next"] == page1.links["next"]
    fresh = HTTP.get(page1.links["next"]["url"], headers=GH)
    assert fresh.json() != page1.json()


@stripe(rows=25)
def test_fault_repeat_cursor_on_stripe_repeats_the_last_id(emu):
    url = emu.base_url + "/v1/customers"
    page1 = HTTP.get(url, headers=STRIPE_KEY, params={"limit": 5}).json()
    emu.faults.inject("repeat_cursor")
    page2 = HTTP.get(
        url,
        headers=STRIPE_KEY,
        params={"limit": 5, "starting_after": page1["data"][-1]["id"]},
    ).json()
    assert page2["data"][-1]["id"] == page1["data"][-1]["id"] and page2["has_more"]


@pytest.mark.parametrize("name", sorted(EMULATORS))
def test_every_emulator_supports_faults_in_its_error_shape(name):
    with start_emulator(name, rows=5) as e:
        e.faults.inject("429", retry_after=2)
        r = HTTP.get(e.base_url + "/anything")
        assert r.status_code == 429 and r.headers["retry-after"] == "2"
        assert r.json()  # the vendor's error body
    with pytest.raises(ValueError):
        e.faults.inject("explode")


@stripe(rows=5)
def test_request_log_records_query_and_masks_secrets(emu):
    HTTP.get(
        emu.base_url + "/v1/customers",
        headers=STRIPE_KEY,
        params={"limit": 3, "created[gte]": 5},
    )
    (req,) = emu.requests
    method, path, query = req
    assert (method, path, query) == (
        "GET",
        "/v1/customers",
        {"limit": "3", "created[gte]": "5"},
    )
    assert req == (req.method, req.path, req.query)
    assert req.status == 200 and req.fault is None
    assert req.headers["authorization"] == "***"
    assert "sk_test_emulator" not in repr(req) + repr(req.headers)


@pytest.mark.parametrize("emu", [("github", 5)], indirect=True)
def test_touch_refuses_immutable_rows_and_add_needs_a_parent(emu):
    with pytest.raises(ValueError, match="immutable"):
        emu.touch("commits", emu.store["commits"][0]["sha"])
    with pytest.raises(ValueError, match="parent"):
        emu.add("pulls/reviews")
    number = emu.store["pulls"][0]["number"]
    (review,) = emu.add("pulls/reviews", parent=str(number))
    got = HTTP.get(f"{emu.base_url}{REPO}/pulls/{number}/reviews", headers=GH).json()
    assert got[-1]["id"] == review["id"]  # chronological: the new review comes last


@pytest.mark.parametrize("name", sorted(EMULATORS))
def test_data_is_deterministic_given_a_seed(name):
    a, b, c = (EMULATORS[name](rows=8, seed=s) for s in (3, 3, 4))
    assert a.store == b.store
    assert a.store != c.store


def test_cli_serves_until_terminated(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emulators",
            "stripe",
            "--port",
            "0",
            "--rows",
            "5",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        base = line.split(" at ")[1].strip()
        assert base.startswith("http://127.0.0.1:")
        credential = proc.stdout.readline().split(": ", 1)[1].strip()
        body = HTTP.get(
            base + "/v1/customers", headers={"Authorization": f"Bearer {credential}"}
        ).json()
        assert len(body["data"]) == 5
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
