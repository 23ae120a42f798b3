"""Partition keys: immutable creation (or occurrence) times only."""

from .fragments import DT, I, S, api, arr, get, obj


def part(endpoint_of, row, path="/things"):
    return endpoint_of(api({path: get(arr(row))}), path).partition_key


def test_creation_time_names(endpoint_of):
    assert (
        part(endpoint_of, obj(id=S, created={"type": "integer", "format": "unix-time"}))
        == "created"
    )
    assert part(endpoint_of, obj(id=S, updated_at=DT, created_at=DT)) == "created_at"
    assert part(endpoint_of, obj(id=S, dateCreated=DT)) == "dateCreated"
    assert (
        part(
            endpoint_of,
            obj(
                id=S,
                date={
                    "type": "integer",
                    "description": "Time at which the object was created.",
                },
            ),
        )
        == "date"
    )


def test_update_and_last_seen_times_are_never_partitions(endpoint_of):
    assert (
        part(endpoint_of, obj(id=S, updated_at=DT, last_seen_at=DT, modified=DT))
        is None
    )
    assert part(endpoint_of, obj(id=S, lastLogin=DT, expires_at=DT)) is None


def test_someone_elses_creation_time_is_not_the_rows(endpoint_of):
    assert part(endpoint_of, obj(username=S, password_created=DT)) is None
    assert part(endpoint_of, obj(id=S, createdBy=S)) is None


def test_creation_time_that_does_not_sort_is_skipped(endpoint_of):
    rfc = {"type": "string", "format": "date-time-rfc-2822"}
    row = obj(
        sid=S,
        date_created=rfc,
        start_time=rfc,
        queue_time={"type": "string", "description": "The wait time in milliseconds"},
    )
    assert part(endpoint_of, row) is None


def test_occurrence_times(endpoint_of):
    assert part(endpoint_of, obj(id=I, submitted_at=DT, body=S)) == "submitted_at"
    assert part(endpoint_of, obj(id=S, datetime=DT, timestamp=I)) == "datetime"


def test_untyped_action_time_needs_the_path_to_name_the_action(endpoint_of):
    user = obj(login=S, id=I, starred_at=S)
    assert part(endpoint_of, user, "/repos/{owner}/{repo}/stargazers") == "starred_at"
    assert part(endpoint_of, user, "/orgs/{org}/members") is None
