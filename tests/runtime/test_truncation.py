"""The truncation guard and the end of a list, against a loopback API.

A paginator with no end signal of its own (single page, offset, page number) fails the
table in one line naming the override when the response says the list goes on; a
deliberate cap only reports it. The other way round, no paginator follows pages that
bring nothing: an empty page ends the list, and a `Link` next marked `results="false"`
is the end.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runtime.catalog import (
    CursorPagination,
    EndpointConfig,
    LinkHeaderPagination,
    NextUrlPagination,
    OffsetPagination,
    Pagination,
    SinglePage,
)
from runtime.read.paginators import TruncationError, parse_links
from runtime.read.reader import EndpointReader, ReadLimits
from tests.runtime.conftest import Reply

ROWS = [{"id": i, "name": f"thing {i}"} for i in range(1, 6)]


def things(pagination: Pagination, selector: str = "$", **changes) -> dict:
    ep = EndpointConfig(
        name="things",
        path="/things",
        data_selector=selector,
        primary_key=("id",),
        pagination=pagination,
        **changes,
    )
    return {"things": ep}


def read(client, catalog, **kwargs) -> list:
    return list(
        EndpointReader(client, catalog, "things", config_values={}, **kwargs).pages()
    )


def endless_link_route(server, rows_on_first: list, *, results: str | None = None):
    """Page 1 has rows; every page, empty ones included, links a next page, forever."""

    def handle(seen):
        page = int(seen.query.get("page", 1))
        attrs = f'; results="{results}"' if results and page > 1 else ""
        link = f'<{server.url}/things?page={page + 1}>; rel="next"{attrs}'
        return Reply(200, rows_on_first if page == 1 else [], {"Link": link})

    return handle


# -- an empty page or results="false" ends the list ------------------------------------


def test_link_header_stops_at_an_empty_page_of_a_server_that_always_links_next(
    server, client_for
):
    server.route("/things", endless_link_route(server, ROWS))
    pages = read(client_for(server.url), things(LinkHeaderPagination()))
    assert [len(p.rows) for p in pages] == [5, 0]
    assert len(server.hits("/things")) == 2


def test_link_next_with_results_false_is_the_end(server, client_for):
    """Page 2 has rows and still links page 3, marked results="false": not followed."""

    def handle(seen):
        page = int(seen.query.get("page", 1))
        results = "true" if page == 1 else "false"
        link = (
            f'<{server.url}/things?page={page + 1}&cursor=0:{page}:0>; rel="next";'
            f' results="{results}"; cursor="0:{page}:0"'
        )
        return Reply(200, ROWS[(page - 1) * 3 : page * 3], {"Link": link})

    server.route("/things", handle)
    pages = read(client_for(server.url), things(LinkHeaderPagination()))
    assert [r["id"] for p in pages for r in p.rows] == [1, 2, 3, 4, 5]
    assert [s.query.get("page") for s in server.hits("/things")] == [None, "2"]


def test_parse_links_keeps_each_links_params():
    header = (
        '<https://x/a?cursor=1:0:1>; rel="previous"; results="false"; cursor="1:0:1", '
        '<https://x/a?cursor=1:100:0>; rel="next"; results="true"; cursor="1:100:0"'
    )
    links = parse_links(header)
    assert links["next"] == (
        "https://x/a?cursor=1:100:0",
        {"rel": "next", "results": "true", "cursor": "1:100:0"},
    )
    assert links["previous"][1]["results"] == "false"


def test_next_url_and_cursor_stop_at_an_empty_page(server, client_for):
    def next_url(seen):
        page = int(seen.query.get("page", 1))
        rows = ROWS if page == 1 else []
        return Reply(200, {"items": rows, "next": f"/next-url?page={page + 1}"})

    def cursor(seen):
        page = int(seen.query.get("after", 0))
        rows = ROWS if page == 0 else []
        return Reply(200, {"items": rows, "has_more": True, "cursor": str(page + 1)})

    server.route("/next-url", next_url)
    server.route("/cursor", cursor)
    client = client_for(server.url)
    catalog = {
        "a": EndpointConfig(
            "a",
            "/next-url",
            "items",
            pagination=NextUrlPagination(next_url_path="next"),
        ),
        "b": EndpointConfig(
            "b",
            "/cursor",
            "items",
            pagination=CursorPagination(
                cursor_param="after", cursor_path="cursor", has_more_path="has_more"
            ),
        ),
    }
    for name, path in (("a", "/next-url"), ("b", "/cursor")):
        pages = list(EndpointReader(client, catalog, name, config_values={}).pages())
        assert [len(p.rows) for p in pages] == [5, 0], name
        assert len(server.hits(path)) == 2, name


# -- the truncation guard --------------------------------------------------------------


def test_single_page_with_a_link_next_fails_naming_the_override(server, client_for):
    server.route("/things", endless_link_route(server, ROWS))
    with pytest.raises(TruncationError) as caught:
        read(client_for(server.url), things(SinglePage()))
    message = str(caught.value)
    assert "\n" not in message
    assert 'a Link rel="next" header' in message
    assert "read as single_page" in message
    assert message.endswith(
        "write in overrides/testsrc.yaml: endpoints:"
        " {GET /things: {pagination: {type: link_header}}}"
    )
    assert len(server.hits("/things")) == 1


@pytest.mark.parametrize(
    "body, what, fix",
    [
        (
            {"data": ROWS, "meta": {"next_cursor": "abc"}},
            "'meta.next_cursor'",
            "cursor_path: meta.next_cursor",
        ),
        (
            {"data": ROWS, "links": {"next": "https://api/things?page=2"}},
            "'links.next'",
            "{type: next_url, next_url_path: links.next}",
        ),
        (
            {"data": ROWS, "next_page": {"offset": 5, "uri": "/things?offset=5"}},
            "'next_page'",
            "next_url_path: next_page.uri",
        ),
        (
            {"data": ROWS, "has_more": True},
            "'has_more': true",
            "has_more_path: has_more",
        ),
    ],
)
def test_single_page_with_a_next_field_in_the_body_fails(
    server, client_for, body, what, fix
):
    server.route("/things", [Reply(200, body)])
    with pytest.raises(TruncationError) as caught:
        read(client_for(server.url), things(SinglePage(), "data"))
    assert what in str(caught.value)
    assert fix in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        {"data": ROWS, "next": None, "has_more": False, "next_cursor": ""},
        {"data": ROWS, "meta": {"next_page": 0}},
        # a row's own fields are never read as paging signs
        {"data": [{"id": 1, "next": "https://api/x", "has_more": True}]},
    ],
)
def test_single_page_without_signs_of_more_reads_its_page(server, client_for, body):
    server.route("/things", [Reply(200, body)])
    pages = read(client_for(server.url), things(SinglePage(), "data"))
    assert len(pages) == 1 and pages[0].rows


@pytest.mark.parametrize(
    "rows, link",
    [
        (ROWS, '<{url}/things?page=2>; rel="next"; results="false"'),
        ([], '<{url}/things?page=2>; rel="next"'),  # an empty page ends the list
    ],
)
def test_single_page_with_a_next_link_that_brings_nothing_is_complete(
    server, client_for, rows, link
):
    server.route("/things", [Reply(200, rows, {"Link": link.format(url=server.url)})])
    pages = read(client_for(server.url), things(SinglePage()))
    assert [len(p.rows) for p in pages] == [len(rows)]


def test_offset_stopping_on_a_short_page_while_the_server_links_next_fails(
    server, client_for
):
    """The server caps pages at 5 while the connector asks for 10: the first page looks
    short, the Link header says otherwise."""
    server.route("/things", endless_link_route(server, ROWS))
    pagination = OffsetPagination(
        offset_param="offset", limit_param="limit", page_size=10
    )
    with pytest.raises(TruncationError) as caught:
        read(client_for(server.url), things(pagination))
    assert "{type: link_header, limit_param: limit}" in str(caught.value)


def test_a_deliberate_cap_reports_instead_of_failing(server, client_for, caplog):
    server.route("/things", endless_link_route(server, ROWS))
    with caplog.at_level(logging.WARNING):
        pages = read(
            client_for(server.url), things(SinglePage()), limits=ReadLimits(max_pages=1)
        )
    assert [len(p.rows) for p in pages] == [5]
    assert (
        'stopped at max_pages=1; the response has a Link rel="next" header'
        in caplog.text
    )


# -- the same through a generated connector and `gen-source sync` ----------------------

SPEC = """\
openapi: 3.0.3
info: {title: Acme, version: "1"}
servers: [{url: "https://api.acme.example"}]
paths:
  /things:
    get:
      operationId: listThings
      responses:
        "200":
          description: the things
          content:
            application/json:
              schema:
                type: array
                items:
                  type: object
                  required: [id]
                  properties:
                    id: {type: integer}
                    name: {type: string}
"""


def gen_source(
    *args: str, cwd: Path, env: dict | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "generator.cli", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def acme(tmp_path_factory) -> Path:
    """A connector generated from SPEC (one single_page table); returns its `--out`."""
    tmp = tmp_path_factory.mktemp("acme")
    (tmp / "acme.yaml").write_text(SPEC)
    made = gen_source(
        str(tmp / "acme.yaml"), "--out", str(tmp / "gen"), "--no-validate", cwd=tmp
    )
    assert made.returncode == 0, made.stderr
    assert "SinglePage()" in (tmp / "gen" / "acme" / "settings.py").read_text()
    return tmp / "gen"


def run_acme(verb: str, acme: Path, server, tmp_path: Path, *args: str):
    return gen_source(
        verb,
        "acme",
        "--schema",
        "things",
        "--out",
        str(acme),
        "--base-url",
        server.url,
        "--allow-private-hosts",
        *args,
        cwd=tmp_path,
        env={"GEN_SOURCE_ACME_TOKEN": "t0ken-value"},
    )


def test_sync_of_a_single_page_table_whose_server_links_next_fails_in_one_line(
    acme, server, tmp_path
):
    server.route("/things", endless_link_route(server, ROWS))

    run = run_acme("sync", acme, server, tmp_path, "--dest", str(tmp_path / "wh"))

    assert run.returncode == 1, run.stdout + run.stderr
    failures = [
        line
        for line in run.stderr.splitlines()
        if line.startswith("gen-source: acme/things")
    ]
    assert len(failures) == 1, run.stderr
    assert "TruncationError" in failures[0]
    assert (
        "overrides/acme.yaml: endpoints:"
        " {GET /things: {pagination: {type: link_header}}}" in failures[0]
    )
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "wh" / "acme" / "things" / "_delta_log").exists()


def test_verify_fails_pages_of_that_table_and_suggests_the_paginator(
    acme, server, tmp_path
):
    server.route("/things", endless_link_route(server, ROWS))
    suggest = tmp_path / "acme-suggested.yaml"

    run = run_acme("verify", acme, server, tmp_path, "--suggest", str(suggest))

    assert run.returncode == 1, run.stdout + run.stderr
    assert "acme/things: pages: TruncationError:" in run.stdout
    assert yaml.safe_load(suggest.read_text()) == {
        "endpoints": {"GET /things": {"pagination": {"type": "link_header"}}}
    }


def test_verify_passes_the_table_when_the_server_has_one_page(acme, server, tmp_path):
    server.route("/things", [Reply(200, ROWS)])
    run = run_acme("verify", acme, server, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 of 1 table(s) pass every check" in run.stdout
    assert "# Suggested" not in run.stdout
