"""Record a generated Stripe connector's syncs against the emulator, then replay them: the
cassette holds exactly the sync's requests with nothing secret or volatile, recording twice
gives the same bytes, the generated replay test passes, and every check it makes can fail."""

from __future__ import annotations

import importlib.util
import socket
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from generator.conformance import ConformanceError, checker_for
from generator.render.files import env
from generator.render.literals import py
from runtime.testing.cassette_checks import (
    check_pagination,
    recorded_rows,
    resume_problems,
    row_key_problems,
    watermark_problems,
)
from runtime.testing.cassettes import (
    CassetteError,
    check_page_sizes,
    network_blocked,
    read_cassette,
    replay_schema,
    source_class,
)
from runtime.testing.record import RecordError, placeholder, record_cassettes
from tests.cassette_tests.conftest import PAGE_SIZE, ROWS, SCHEMAS, TOKEN, record
from tests.emulators import start_emulator


def names(recorded) -> list[str]:
    return sorted(p.name for p in recorded.written)


def edit(path: Path, target: Path, change) -> Path:
    """A copy of a cassette with `change(data)` applied."""
    data = yaml.safe_load(path.read_text())
    change(data)
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def test_one_cassette_per_schema_and_one_more_for_incremental_schemas(recorded):
    catalog = recorded.package.settings.ENDPOINTS
    want = []
    for schema in SCHEMAS:
        want.append(f"{schema}.yaml")
        if catalog[schema].incremental_fields:
            want.append(f"{schema}.incremental.yaml")
    assert names(recorded) == sorted(want)
    assert "customers.incremental.yaml" in want  # Stripe lists filter on created[gt]


def test_cassettes_hold_the_sync_requests_and_nothing_secret_or_volatile(
    recorded, stripe_emulator
):
    for path in recorded.written:
        text = path.read_text()
        assert TOKEN not in text and "127.0.0.1" not in text, path.name
        data = yaml.safe_load(text)
        for item in data["interactions"]:
            assert set(item["request"]["headers"]) == {"accept"}
            assert set(item["response"]["headers"]) <= {"content-type", "link"}
            assert item["request"]["uri"].startswith("https://api.stripe.com/v1/")
            assert f"limit={PAGE_SIZE}" in item["request"]["uri"]
        meta = data["metadata"]["gen_source"]
        assert meta["config"]["token"] == placeholder(TOKEN)
        assert meta["page_size"] == {
            "recorded": PAGE_SIZE,
            "connector": {
                e: recorded.package.settings.ENDPOINTS[e].page_size
                for e in meta["page_size"]["connector"]
            },
        }
    customers = read_cassette(recorded.folder / "customers.yaml")
    pages = -(-ROWS // PAGE_SIZE)
    assert [
        i.url.params.get("starting_after") is None for i in customers.interactions
    ] == [True] + [False] * (pages - 1)


def test_recording_twice_writes_the_same_bytes(recorded, tmp_path):
    emu = start_emulator("stripe", rows=ROWS, api_key=TOKEN)  # another port, same data
    try:
        again = record(recorded.package, emu, tmp_path, recorded.root)
    finally:
        emu.stop()
    assert sorted(p.name for p in again) == names(recorded)
    for path in again:
        assert path.read_bytes() == (recorded.folder / path.name).read_bytes(), (
            path.name
        )


def render_replay_test(recorded, cassettes: list[tuple[str, str]]):
    text = (
        env()
        .get_template("test_replay.py.j2")
        .render(
            header="# generated for a test",
            title="Stripe API",
            source_name=py("stripe"),
            cassettes=py(cassettes),
        )
    )
    target = recorded.connector / "tests" / "test_replay.py"
    target.write_text(text)
    spec = importlib.util.spec_from_file_location("stripe_test_replay", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_replay_test_passes_on_every_cassette(
    recorded, tmp_path, monkeypatch
):
    monkeypatch.setenv("GEN_SOURCE_ROOT", str(recorded.root))
    cases = [
        (read_cassette(p).meta["schema"], p.name) for p in sorted(recorded.written)
    ]
    module = render_replay_test(recorded, cases)
    assert module.CASSETTES == cases
    assert (
        "import generator" not in module.__loader__.get_data(module.__file__).decode()
    )
    checker = checker_for("stripe", recorded.root)
    for index, (schema, name) in enumerate(cases):
        module.test_replay(schema, name, tmp_path / str(index), checker)


def test_the_generated_replay_test_fails_on_a_tampered_cassette(
    recorded, tmp_path, monkeypatch
):
    monkeypatch.setenv("GEN_SOURCE_ROOT", str(recorded.root))
    path = recorded.folder / "customers.yaml"
    broken = recorded.folder / "customers.broken.yaml"

    def stop_early(
        data,
    ):  # page 1 says there is no more: the run would skip pages 2 and 3
        body = data["interactions"][0]["response"]["body"]
        body["string"] = body["string"].replace('"has_more": true', '"has_more": false')

    edit(path, broken, stop_early)
    module = render_replay_test(recorded, [("customers", broken.name)])
    try:
        with pytest.raises(CassetteError) as err:
            module.test_replay("customers", broken.name, tmp_path, None)
    finally:
        broken.unlink()
    pages = -(-ROWS // PAGE_SIZE)
    assert str(err.value).startswith(
        f"customers.broken.yaml: 1 requests made, {pages} recorded"
    )


def test_replay_is_offline_and_an_unrecorded_request_names_itself(
    recorded, tmp_path, stripe_emulator
):
    from vcr.errors import CannotOverwriteExistingCassetteException

    short = edit(
        recorded.folder / "customers.yaml",
        tmp_path / "short.yaml",
        lambda data: data["interactions"].pop(),
    )  # the last page is missing
    seen = len(stripe_emulator.requests)
    with pytest.raises(CannotOverwriteExistingCassetteException) as err:
        replay_schema(recorded.package, short, tmp_path / "run")
    assert "https://api.stripe.com/v1/customers?limit=5&starting_after=" in str(
        err.value
    )
    assert len(stripe_emulator.requests) == seen  # nothing reached the emulator


def test_the_network_is_blocked_during_replay(stripe_emulator):
    with (
        network_blocked(),
        pytest.raises(ConnectionRefusedError, match="blocked during replay"),
    ):
        socket.create_connection(("127.0.0.1", stripe_emulator.port), timeout=2)
    socket.create_connection(("127.0.0.1", stripe_emulator.port), timeout=2).close()


def test_replay_validates_every_response_against_the_spec(recorded, tmp_path):
    def wrong_type(data):
        body = data["interactions"][1]["response"]["body"]
        body["string"] = body["string"].replace(
            '"delinquent": false', '"delinquent": "no"', 1
        )

    broken = edit(recorded.folder / "customers.yaml", tmp_path / "c.yaml", wrong_type)
    with pytest.raises(ConformanceError) as err:
        replay_schema(
            recorded.package,
            broken,
            tmp_path / "run",
            check_response=checker_for("stripe", recorded.root),
        )
    assert str(err.value).startswith("customers: response does not match")
    assert (
        "GET /v1/customers -> 200: /data/0/delinquent: 'no' is not of type 'boolean'"
        in str(err.value)
    )


def test_a_changed_page_size_is_reported_before_replaying(recorded):
    catalog = dict(recorded.package.settings.ENDPOINTS)
    meta = read_cassette(recorded.folder / "customers.yaml").meta
    check_page_sizes(catalog, meta)
    customers = catalog["customers"]
    catalog["customers"] = replace(
        customers, pagination=replace(customers.pagination, page_size=50)
    )
    with pytest.raises(
        CassetteError,
        match="endpoint customers: page_size is 50, the cassette was recorded with 100",
    ):
        check_page_sizes(catalog, meta)


def test_each_check_reports_what_differs(recorded, tmp_path):
    catalog = recorded.package.settings.ENDPOINTS
    path = recorded.folder / "customers.yaml"

    def other_cursor(data):
        item = data["interactions"][1]["request"]
        item["uri"] = item["uri"].replace("starting_after=cus_", "starting_after=cus_X")

    pages = check_pagination(
        catalog, read_cassette(edit(path, tmp_path / "p.yaml", other_cursor))
    )
    assert len(pages.problems) == 1 and pages.problems[0].startswith(
        "request 2 (customers: GET /v1/customers): starting_after='cus_X"
    )
    good = check_pagination(catalog, read_cassette(path))
    assert (good.problems, good.first, good.later) == ([], 1, -(-ROWS // PAGE_SIZE) - 1)

    run = replay_schema(recorded.package, path, tmp_path / "run")
    rows = recorded_rows(catalog, "customers", run.cassette)
    assert len(rows) == ROWS and resume_problems(run) == []
    assert watermark_problems(catalog, run, rows) == []
    assert row_key_problems(catalog["customers"], run.rows, rows) == []
    assert len(run.states) == -(-ROWS // PAGE_SIZE)  # one per page
    shifted = replace(run, states=[(state, made - 1) for state, made in run.states])
    assert resume_problems(shifted)[0].startswith("page 1: resume state points at")
    run.watermark_after.last = 1
    assert "saved watermark created=1" in watermark_problems(catalog, run, rows)[0]
    twice = run.rows + run.rows[:1]
    assert (
        "is in the table 2 times"
        in row_key_problems(catalog["customers"], twice, rows)[0]
    )


def test_a_failing_schema_keeps_its_old_cassette_and_the_others_are_recorded(
    recorded, tmp_path, stripe_emulator
):
    old = tmp_path / "customers.yaml"
    old.write_text("old\n")

    def reject(url, status, content_type, body, *, endpoint=""):
        if endpoint == "customers":
            raise AssertionError("customers: response does not match the spec")

    cls = source_class(recorded.package)
    config = cls.config_class(token=TOKEN, base_url=stripe_emulator.base_url)
    with pytest.raises(RecordError) as err:
        record_cassettes(
            cls(allow_private_hosts=True),
            config,
            ["customers", "charges", "nope"],
            folder=tmp_path,
            source_name="stripe",
            page_size=PAGE_SIZE,
            check_response=reject,
        )
    assert err.value.failures == [
        "customers: AssertionError: customers: response does not match the spec",
        "nope: CassetteError: no table 'nope' in the catalog",
    ]
    assert old.read_text() == "old\n"
    assert [p.name for p in err.value.written] == [
        "charges.yaml",
        "charges.incremental.yaml",
    ]
    assert TOKEN not in str(err.value)


def test_replay_hands_the_recording_caps_to_the_reader_and_leaves_the_catalog_alone(
    recorded, tmp_path, monkeypatch
):
    catalog = recorded.package.settings.ENDPOINTS
    before = dict(catalog)
    transport = source_class(recorded.package).transport
    make_reader, seen = transport.reader, []

    def reader(http, config, name, **kwargs):
        seen.append((name, kwargs["limits"], catalog[name].page_size))
        return make_reader(http, config, name, **kwargs)

    monkeypatch.setattr(transport, "reader", reader)
    replay_schema(recorded.package, recorded.folder / "customers.yaml", tmp_path)
    # The reader got the recording's cap; the catalog kept the connector's page size
    # meanwhile.
    assert [(n, lim.page_size, size) for n, lim, size in seen] == [
        ("customers", PAGE_SIZE, 100)
    ]
    assert catalog == before and all(catalog[k] is v for k, v in before.items())
