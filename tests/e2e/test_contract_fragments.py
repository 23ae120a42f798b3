"""The source contract on a small chat-API spec generated for real: auth choices (one select
option per security scheme, picked at run time), OAuth2 required scopes, release status, a
fan-out parent that fills a *query* parameter (`/conversations.history?channel=`), fields
carried from the parent, the parent's page cap, a 404 on one child skipped, and overrides the
reader cannot honour refused at generation time. Requests go to a loopback server that
answers 400 when `channel` is missing, as the real API does."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from deltalake import DeltaTable

from generator.generate import Options, make_plan
from generator.overrides import OverrideError
from generator.plan import parent_json
from generator.render.files import render_source
from generator.render.writer import write_tree
from runtime.http.auth import AuthConfigError
from runtime.source.connector import load_connector
from runtime.state.store import StateStore
from runtime.sync import run_sync

from .support import source_class

NAME = "chatfrag"
ROW = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "created": {"type": "integer"},
    },
}
MESSAGE = {
    "type": "object",
    "properties": {"ts": {"type": "string"}, "text": {"type": "string"}},
}


def _q(name: str, required: bool = False) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": {"type": "string"},
    }


def _list(body: dict, params: list, security: list) -> dict:
    return {
        "get": {
            "parameters": params,
            "security": security,
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": body}},
                }
            },
        }
    }


SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Chat", "version": "1"},
    "externalDocs": {"url": "https://chat.example/docs"},
    "servers": [{"url": "https://chat.example/api"}],
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "key": {"type": "apiKey", "in": "query", "name": "token"},
            "oauth": {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "https://chat.example/oauth/token",
                        "scopes": {
                            "channels:read": "",
                            "channels:history": "",
                            "users:read": "",
                        },
                    }
                },
            },
        }
    },
    "security": [{"bearer": []}],
    "paths": {
        "/conversations.list": _list(
            {
                "type": "object",
                "properties": {
                    "channels": {"type": "array", "items": ROW},
                    "response_metadata": {
                        "type": "object",
                        "properties": {"next_cursor": {"type": "string"}},
                    },
                },
            },
            [_q("cursor"), _q("limit")],
            [{"oauth": ["channels:read"]}, {"bearer": []}, {"key": []}],
        ),
        "/conversations.history": _list(
            {
                "type": "object",
                "properties": {"messages": {"type": "array", "items": MESSAGE}},
            },
            [_q("channel", required=True), _q("oldest")],
            [{"oauth": ["channels:history"]}, {"bearer": []}, {"key": []}],
        ),
        "/users.list": _list(
            {
                "type": "object",
                "properties": {"members": {"type": "array", "items": ROW}},
            },
            [],
            [{"oauth": ["users:read"]}],
        ),
    },
}

PARENT = {
    "endpoint": "channels",
    "path_param": "channel",
    "field": "id",
    "in": "query",
    "include_from_parent": ["name"],
    "max_pages": 1,
}


def overrides(parent: dict | None = None, **top) -> dict:
    return {
        "selection": "listed",
        "release_status": "ga",
        "icon": "icons/chat.svg",
        "required_scopes": {"add": ["team:read"]},
        **top,
        "endpoints": {
            "GET /conversations.list": {
                "name": "channels",
                "data_selector": "channels",
                "primary_key": ["id"],
                "pagination": {
                    "type": "cursor",
                    "cursor_param": "cursor",
                    "cursor_path": "response_metadata.next_cursor",
                },
            },
            "GET /conversations.history": {
                "selected": True,
                "name": "messages",
                "data_selector": "messages",
                "primary_key": ["ts"],
                "pagination": {"type": "single_page"},
                "parent": PARENT if parent is None else parent,
            },
        },
    }


def plan_with(tmp_path: Path, data: dict | None, **opts):
    root = tmp_path / "root"
    (root / "overrides").mkdir(parents=True, exist_ok=True)
    file = root / "overrides" / f"{NAME}.yaml"
    if data is not None:
        file.write_text(yaml.safe_dump(data))
    elif file.exists():
        file.unlink()
    spec = tmp_path / f"{NAME}.json"
    spec.write_text(json.dumps(SPEC))
    plan, _ = make_plan(
        str(spec), Options(root=root, name=NAME, validate=False, **opts)
    )
    return plan, root


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("chat")
    plan, root = plan_with(tmp_path, overrides())
    folder = root / "generated" / NAME
    write_tree(folder, render_source(plan, out_dir=folder, project_root=root))
    package = load_connector(folder)
    return plan, package, source_class(package)


class ChatAPI(BaseHTTPRequestHandler):
    """Channels C1, C2 on the first page and C3 on the second; C2 was deleted (404); the
    history call without `channel` is a 400, as the real API answers."""

    requests: ClassVar[list[tuple[str, dict, dict]]] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).requests.append((url.path, query, dict(self.headers)))
        status, body = 200, {}
        if url.path.endswith("/conversations.list"):
            if query.get("cursor") == "p2":
                body = {
                    "channels": [{"id": "C3", "name": "random"}],
                    "response_metadata": {"next_cursor": ""},
                }
            else:
                body = {
                    "channels": [
                        {"id": "C1", "name": "general"},
                        {"id": "C2", "name": "gone"},
                    ],
                    "response_metadata": {"next_cursor": "p2"},
                }
        elif url.path.endswith("/conversations.history"):
            channel = query.get("channel")
            if not channel:
                status, body = 400, {"ok": False, "error": "channel_not_found"}
            elif channel == "C2":
                status, body = 404, {"ok": False, "error": "not_found"}
            else:
                body = {
                    "messages": [
                        {"ts": f"{channel}.{i}", "text": f"hello {i}"} for i in (1, 2)
                    ]
                }
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    ChatAPI.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatAPI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api"
    server.shutdown()
    server.server_close()


def test_every_scheme_is_an_option_of_one_select_with_its_own_fields(chat):
    _, _, source_cls = chat
    form = source_cls().get_source_config()
    select = form.fields[0]
    assert select.name == "auth_method" and select.default_value == "bearer"
    options = {o.value: o for o in select.options}
    assert list(options) == ["bearer", "key", "oauth"]
    assert [f.name for f in options["bearer"].fields] == ["token"]
    assert [f.name for f in options["key"].fields] == ["api_key"]
    oauth = options["oauth"].fields[0]
    assert oauth.to_json()["kind"] == "oauth" and oauth.flows == ("clientCredentials",)
    # The selected tables' scopes (channels for the parent, history for messages) plus the
    # override's addition; users:read belongs to a table that is not selected.
    assert oauth.required_scopes == ("channels:history", "channels:read", "team:read")


def test_release_status_docs_and_icon_come_from_overrides_and_the_spec(chat, tmp_path):
    _, _, source_cls = chat
    form = source_cls().get_source_config()
    assert (form.release_status, form.unreleased, form.feature_flag) == (
        "ga",
        False,
        None,
    )
    assert (
        form.docs_url == "https://chat.example/docs"
        and form.icon_path == "icons/chat.svg"
    )
    plain, _ = plan_with(tmp_path, None)  # no overrides: alpha, behind a flag
    assert plain.release.to_json() == {
        "status": "alpha",
        "unreleased": True,
        "feature_flag": f"gen-source-{NAME}",
        "docs_url": "https://chat.example/docs",
        "icon": None,
    }


def test_runtime_signs_in_with_the_option_the_config_selects(chat, api):
    _, package, source_cls = chat
    source = source_cls(allow_private_hosts=True)
    for choice, values in (
        ("bearer", {"token": "tok_b"}),
        ("key", {"api_key": "tok_k"}),
        ("oauth", {"access_token": "tok_o"}),
    ):
        ChatAPI.requests = []
        config = source.parse_config({"auth_method": choice, "base_url": api, **values})
        assert source.validate_credentials(config, "channels") == (True, None)
        path, query, headers = ChatAPI.requests[0]
        if choice == "key":
            assert query.get("token") == "tok_k" and "Authorization" not in headers
        else:
            assert (
                headers["Authorization"] == f"Bearer {values.popitem()[1]}"
                and "token" not in query
            )
    with pytest.raises(AuthConfigError, match="choose one of: bearer, key, oauth"):
        package.chatfrag.client(
            source.parse_config({"auth_method": "sso", "base_url": api}),
            context={},
            allow_private_hosts=True,
        )
    with pytest.raises(
        AuthConfigError,
        match="config field 'api_key' is required for auth method 'key'",
    ):
        package.chatfrag.client(
            source.parse_config({"auth_method": "key", "base_url": api}),
            context={},
            allow_private_hosts=True,
        )


def test_query_parent_fan_out_sends_the_id_carries_fields_caps_pages_and_skips_a_404(
    chat, api, tmp_path, caplog
):
    plan, package, source_cls = chat
    messages = plan.endpoint("messages")
    assert parent_json(messages.parent) == {**PARENT, "endpoint": "channels"}
    assert messages.config_params == []
    source = source_cls(allow_private_hosts=True)
    config = source.parse_config({"token": "tok_b", "base_url": api})
    with caplog.at_level(logging.WARNING):
        summary = run_sync(
            source,
            config,
            ["messages"],
            dest=str(tmp_path / "wh"),
            source_name=NAME,
            store=StateStore(tmp_path / "state.db"),
        )
    assert summary.ok, summary.results[0].error
    rows = (
        DeltaTable(str(tmp_path / "wh" / NAME / "messages"))
        .to_pyarrow_table()
        .to_pylist()
    )
    got = sorted((r["ts"], r["_channels_id"], r["_channels_name"]) for r in rows)
    # C2's history is a 404 (deleted mid-sync): skipped; C3 is on the parent's second page,
    # beyond its page cap of 1.
    assert got == [("C1.1", "C1", "general"), ("C1.2", "C1", "general")]
    history = [
        q for p, q, _ in ChatAPI.requests if p.endswith("/conversations.history")
    ]
    assert [q.get("channel") for q in history] == ["C1", "C2"]
    assert not any(q.get("cursor") == "p2" for p, q, _ in ChatAPI.requests)
    assert any("parent channels 'C2' is gone" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("parent", "message"),
    [
        (
            {**PARENT, "in": "path"},
            "GET /conversations.history has no path parameter {channel} "
            "(it is a query parameter: set `in: query`)",
        ),
        (
            {**PARENT, "path_param": "chan"},
            "has no query parameter 'chan' (query parameters: channel, oldest)",
        ),
        (
            {**PARENT, "endpoint": "channel"},
            "parent 'channel' is not an endpoint (did you mean 'channels'?)",
        ),
        (
            {**PARENT, "include_from_parent": ["topic"]},
            "parent 'channels' rows have no field 'topic'",
        ),
        ({**PARENT, "endpoint": "messages"}, "messages cannot be its own parent"),
    ],
)
def test_a_parent_the_reader_cannot_honour_is_refused_naming_file_and_endpoint(
    tmp_path, parent, message
):
    with pytest.raises(OverrideError) as err:
        plan_with(tmp_path, overrides(parent))
    text = str(err.value)
    assert message in text
    assert (
        f"overrides/{NAME}.yaml" in text
        and "endpoints['GET /conversations.history'].parent" in text
    )
    assert "\n" not in text


def test_release_keys_are_validated(tmp_path):
    with pytest.raises(OverrideError, match=r"release_status: invalid value 'stable'"):
        plan_with(tmp_path, overrides(release_status="stable"))
    with pytest.raises(OverrideError, match=r"icon: invalid value '../x.png'"):
        plan_with(tmp_path, overrides(icon="../x.png"))


def test_catalog_and_inventory_say_why_the_sort_which_scopes_and_the_release(chat):
    _, package, _ = chat
    folder = Path(package.__file__).parent
    settings = (folder / "settings.py").read_text()
    assert 'sort_mode="asc",  # default_ascending: nothing states an order' in settings
    inventory = (folder / "api_inventory.md").read_text()
    assert "Release status: ga, released." in inventory
    rows = {
        line.split(" | ")[0].strip("| "): line
        for line in inventory.splitlines()
        if line.startswith("| ")
    }
    assert (
        "| channels:history |" in rows["messages"]
        and "| channels:read |" in rows["channels"]
    )
    assert "| users:read |" in rows["users_list"]
    assert "asc, API default" in rows["messages"]
    assert "channels.id → ?channel= (+ name)" in rows["messages"]


def test_committed_inventories_say_whether_the_sort_is_explicit():
    from .support import ROOT

    klaviyo = (ROOT / "generated" / "klaviyo" / "api_inventory.md").read_text()
    assert "asc, explicit (sort=updated)" in klaviyo and "API default" in klaviyo
    assert "Release status: beta, released." in klaviyo
