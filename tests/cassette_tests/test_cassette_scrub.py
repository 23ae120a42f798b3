"""Scrubbing: credentials leave every part of a recorded interaction (by value and by place),
placeholders keep the credential's shape, and what is kept is stable to review."""

from __future__ import annotations

import base64
import re
from types import SimpleNamespace
from urllib.parse import quote

import orjson
from pydantic import BaseModel, SecretStr
from vcr.request import Request

from runtime.source.servers import Server
from runtime.testing.record import (
    MASK,
    Scrubber,
    connector_secrets,
    placeholder,
    replay_config,
    scrubber_for,
)

TOKEN = "sk_live_51Habc+def/ghi=="  # characters that URL-encoding changes
SID = "AC27bc2891b3697dc911b39dcb00000000"
PASSWORD = "emulator_auth_token"


class Config(BaseModel):
    username: str
    password: SecretStr
    account_sid: str
    token: SecretStr
    base_url: str | None = None


TRANSPORT = SimpleNamespace(
    CREDENTIALS={
        "username": "username",
        "password": "password",
        "client_id": "account_sid",
    },
    SERVER=Server("https://api.example.com"),
)


def config() -> Config:
    return Config(
        username=SID,
        password=PASSWORD,
        account_sid=SID,
        token=TOKEN,
        base_url="http://127.0.0.1:5555",
    )


def scrubber() -> Scrubber:
    return scrubber_for(config(), TRANSPORT, "http://127.0.0.1:5555")


def leaks(text: str) -> list[str]:
    forms = [
        TOKEN,
        quote(TOKEN, safe=""),
        SID,
        PASSWORD,
        base64.b64encode(f"{SID}:{PASSWORD}".encode()).decode(),
    ]
    return [f for f in forms if f in text]


def test_placeholder_keeps_the_shape_and_never_the_value():
    assert placeholder(SID) == "AC" + "0" * 32
    assert re.fullmatch(r"AC[0-9a-fA-F]{32}", placeholder(SID))
    assert placeholder("sk_test_emulator") == "sk_0000_00000000"
    assert placeholder("ghp_emulator_token") == "ghp_00000000_00000"
    assert placeholder("short-1") == "00000-0"  # no prefix kept from short secrets
    assert (
        placeholder("emulator_auth_token") == "00000000_0000_00000"
    )  # a word is no prefix
    assert placeholder("0000") == "xxxx"  # never the value itself


def test_secrets_are_the_auth_credentials_and_secret_fields_only():
    found = connector_secrets(config(), TRANSPORT)
    assert found == {
        "username": SID,
        "password": PASSWORD,
        "token": TOKEN,
    }  # client_id is not


def test_request_uri_headers_and_form_body_are_scrubbed():
    s = scrubber()
    basic = base64.b64encode(f"{SID}:{PASSWORD}".encode()).decode()
    request = Request(
        "POST",
        f"http://127.0.0.1:5555/Accounts/{SID}/x.json?api_key={TOKEN}"
        f"&token={quote(TOKEN, safe='')}&client_secret=abc123&page=2",
        f"grant_type=client_credentials&password={PASSWORD}&refresh_token=r0tk",
        {
            "Authorization": f"Basic {basic}",
            "X-Api-Key": TOKEN,
            "Accept": "application/json",
            "Cookie": "session=1",
            "X-Api-Version": "2024-01-01",
            "revision": "2026-07-15",
            "User-Agent": "gen-source-runtime",
            "X-Request-Id": "abc",
        },
    )
    out = s.request(request)
    assert out is not request and request.headers["Authorization"].startswith("Basic ")
    assert dict(out.headers) == {
        "Accept": "application/json",
        "X-Api-Version": "2024-01-01",
        "revision": "2026-07-15",
    }
    assert out.uri == (
        "https://api.example.com/Accounts/AC00000000000000000000000000000000/x.json"
        f"?api_key={placeholder(TOKEN)}&token={quote(placeholder(TOKEN), safe='')}"
        f"&client_secret={MASK}&page=2"
    )
    assert (
        out.body
        == (
            f"grant_type=client_credentials&password={placeholder(PASSWORD)}"
            f"&refresh_token={MASK}"
        ).encode()
    )
    assert not leaks(out.uri + str(out.body) + str(out.headers))
    assert s.request(out).uri == out.uri  # scrubbing twice changes nothing more


def test_response_keeps_only_stable_headers_and_scrubs_bodies_and_links():
    s = scrubber()
    raw = orjson.dumps(
        {
            "data": [{"account_sid": SID, "note": f"key {TOKEN}"}],
            "next_page_uri": f"/Accounts/{SID}/x.json?Page=1&access_token=tok999",
            "access_token": "fetched-token-1",
            "auth": {"refresh_token": "rt-2"},
        }
    )
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Date": ["Mon, 01 Jan 2024 00:00:00 GMT"],
            "X-Request-Id": ["req_1"],
            "Server": ["nginx"],
            "Set-Cookie": [f"k={TOKEN}"],
            "Content-Type": ["application/json"],
            "Link": [f'<http://127.0.0.1:5555/x?page=2&api_key={TOKEN}>; rel="next"'],
        },
        "body": {"string": raw},
    }
    out = s.response(response)
    assert list(out["headers"]) == ["content-type", "link"]
    assert out["headers"]["link"] == [
        f'<https://api.example.com/x?page=2&api_key={placeholder(TOKEN)}>; rel="next"'
    ]
    text = out["body"]["string"]
    assert (
        text.endswith("\n") and text.count("\n") > 5
    )  # pretty-printed: one field per line
    body = orjson.loads(text)
    assert body["data"][0] == {
        "account_sid": placeholder(SID),
        "note": f"key {placeholder(TOKEN)}",
    }
    assert (
        body["next_page_uri"]
        == f"/Accounts/{placeholder(SID)}/x.json?Page=1&access_token={MASK}"
    )
    assert body["access_token"] == MASK and body["auth"] == {"refresh_token": MASK}
    assert not leaks(str(out))


def test_non_json_bodies_are_scrubbed_as_text():
    out = scrubber().response(
        {
            "status": {"code": 500, "message": ""},
            "headers": {},
            "body": {"string": f"<html>{SID}:{PASSWORD}</html>".encode()},
        }
    )
    assert (
        out["body"]["string"]
        == f"<html>{placeholder(SID)}:{placeholder(PASSWORD)}</html>"
    )


def test_basic_auth_base64_in_a_body_is_replaced_by_the_placeholder_pair():
    basic = base64.b64encode(f"{SID}:{PASSWORD}".encode()).decode()
    out = scrubber().body(f'{{"echo": "Basic {basic}"}}')
    pair = base64.b64encode(
        f"{placeholder(SID)}:{placeholder(PASSWORD)}".encode()
    ).decode()
    assert orjson.loads(out) == {"echo": f"Basic {pair}"}


def test_replay_config_uses_placeholders_everywhere_a_credential_appears():
    got = replay_config(config(), TRANSPORT, scrubber())
    assert got == {
        "username": placeholder(SID),
        "password": placeholder(PASSWORD),
        "account_sid": placeholder(SID),
        "token": placeholder(TOKEN),
        "base_url": "https://api.example.com",
    }
    assert (
        Config(**got).account_sid == got["username"]
    )  # replay requests match the cassette


def test_short_secrets_are_not_replaced_in_ordinary_text():
    s = Scrubber({"ab": "00"})
    assert s.text("about tabs") == "about tabs"
