"""`ReadLimits.concurrency`: a fan-out endpoint reads several parents' children at once on
threads, and what comes out (rows, order, each page's resume state) is what reading them
one at a time gives; a rate-limited answer pauses every thread of the client."""

from __future__ import annotations

import json
import threading
import time

import pytest

from runtime.http.client import HttpError
from runtime.read.reader import ReadLimits
from tests.runtime.conftest import Reply
from tests.runtime.test_reader import (
    EXPECTED_MEMBERS,
    fanout_catalog,
    member_rows,
    reader,
    serve_fanout,
)


def _pages(client, n, name="members", state=None):
    limits = ReadLimits(concurrency=n)
    return list(reader(client, fanout_catalog(), name, limits=limits).pages(state))


def _same(a, b):
    assert [(p.rows, p.resume_state, p.url) for p in a] == [
        (p.rows, p.resume_state, p.url) for p in b
    ]


@pytest.mark.parametrize("n", [2, 4])
def test_pages_and_resume_states_are_those_of_one_at_a_time(server, client_for, n):
    serve_fanout(server)
    client = client_for(server.url)
    one = _pages(client, 1)
    assert member_rows(one) == EXPECTED_MEMBERS
    _same(_pages(client, n), one)


@pytest.mark.parametrize("cut", range(5))
def test_a_run_stopped_at_any_page_resumes_as_one_at_a_time_would(
    server, client_for, cut
):
    serve_fanout(server)
    client = client_for(server.url)
    full = _pages(client, 1)
    state = json.loads(json.dumps(full[cut].resume_state))
    _same(_pages(client, 3, state=state), full[cut + 1 :])


def test_at_most_n_children_are_read_at_once(server, client_for, monkeypatch):
    orgs = [{"id": f"o{i}"} for i in range(12)]
    server.route(
        "/orgs", lambda seen: Reply(200, orgs if seen.query["page"] == "1" else [])
    )
    for org in orgs:
        server.route(
            f"/orgs/{org['id']}/teams",
            [Reply(200, [{"id": org["id"]}]), Reply(200, [])],
        )
    client = client_for(server.url)
    lock, now, peak = threading.Lock(), [0], [0]
    get_json = client.get_json

    def counted(url, params=None, *, endpoint):
        if endpoint != "teams":
            return get_json(url, params, endpoint=endpoint)
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            time.sleep(0.1)  # every child read is in flight a while
            return get_json(url, params, endpoint=endpoint)
        finally:
            with lock:
                now[0] -= 1

    monkeypatch.setattr(client, "get_json", counted)
    pages = _pages(client, 4, name="teams")
    assert [r["id"] for p in pages for r in p.rows] == [o["id"] for o in orgs]
    assert 2 <= peak[0] <= 4


def test_an_error_is_raised_at_its_turn_after_the_pages_before_it(server, client_for):
    serve_fanout(server)
    server.route("/orgs/o1/teams/11/members", [Reply(400, {"error": "no"})])
    client = client_for(server.url)
    for n in (1, 3):
        got = []
        with pytest.raises(HttpError, match="HTTP 400"):
            for page in reader(
                client, fanout_catalog(), "members", limits=ReadLimits(concurrency=n)
            ).pages():
                got.append(page)
        assert member_rows(got) == EXPECTED_MEMBERS[:4]  # team 10, then team 11 fails


def test_a_rate_limited_answer_pauses_requests_on_other_threads(server, client_for):
    arrived: dict[str, list[float]] = {"/limited": [], "/other": []}

    def stamp(path, replies):
        def handle(seen):
            arrived[path].append(time.monotonic())
            return replies[min(len(arrived[path]), len(replies)) - 1]

        return handle

    server.route(
        "/limited",
        stamp("/limited", [Reply(429, {}, {"Retry-After": "1"}), Reply(200, {})]),
    )
    server.route("/other", stamp("/other", [Reply(200, {})]))
    client = client_for(server.url, sleep=time.sleep)
    first = threading.Thread(
        target=client.get_json, args=("/limited",), kwargs={"endpoint": "a"}
    )
    first.start()
    while not arrived["/limited"]:
        time.sleep(0.01)
    time.sleep(0.2)  # the first thread is now sleeping the server's 1 s
    client.get_json("/other", endpoint="b")
    first.join()
    limited, retried = arrived["/limited"]
    (other,) = arrived["/other"]
    assert other - limited >= 0.9  # waited out the pause, not sent at 0.2 s
    assert client.metrics.retries == 1


def test_a_server_error_backoff_pauses_no_other_thread(server, client_for):
    arrived: list[float] = []
    server.route("/flaky", [Reply(503, {}), Reply(200, {})])

    def other(seen):
        arrived.append(time.monotonic())
        return Reply(200, {})

    server.route("/other", other)
    pausing = threading.Event()

    def slow_sleep(seconds):
        pausing.set()
        time.sleep(1.0)

    client = client_for(server.url, sleep=slow_sleep)
    first = threading.Thread(
        target=client.get_json, args=("/flaky",), kwargs={"endpoint": "a"}
    )
    first.start()
    assert pausing.wait(5)
    started = time.monotonic()
    client.get_json("/other", endpoint="b")
    first.join()
    assert arrived[0] - started < 0.9  # a 503's backoff is that request's own
