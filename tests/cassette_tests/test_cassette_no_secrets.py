"""No committed cassette holds a credential it was recorded with, in any of the forms a secret
travels in (raw, URL-encoded, basic-auth base64), nor the recording host."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from tests.cassettes.record_all import CONFIG, credentials

FOLDER = Path(__file__).resolve().parents[1] / "cassettes"


def forms(secrets: dict[str, str]) -> dict[str, str]:
    """Every shape a credential can take in a recording -> a label naming it (not the value)."""
    out = {}
    for name, value in secrets.items():
        for label, shape in (
            ("raw", value),
            ("url-encoded", quote(value, safe="")),
            ("form-encoded", quote_plus(value)),
            ("base64", base64.b64encode(value.encode()).decode()),
        ):
            out[shape] = f"{name} ({label})"
    values = list(secrets.values())
    for user in values:  # basic auth: base64 of user:password, any pair
        for password in [*values, ""]:
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            out[pair] = "basic-auth base64"
    return out


def leaks(path: Path, shapes: dict[str, str]) -> list[str]:
    text = path.read_text()
    found = [label for shape, label in shapes.items() if shape in text]
    found += ["the recording host 127.0.0.1"] if "127.0.0.1" in text else []
    return found


def cassettes(source: str) -> list[Path]:
    return sorted(
        p for p in (FOLDER / source).glob("*.yaml") if p.name != "conformance.yaml"
    )


@pytest.mark.parametrize("source", sorted(CONFIG))
def test_no_committed_cassette_holds_a_credential(source):
    files = cassettes(source)
    assert files, (
        f"no cassettes committed for {source}; run python -m tests.cassettes.record_all"
    )
    shapes = forms(credentials(source))
    found = {p.name: leaks(p, shapes) for p in files}
    assert {name: labels for name, labels in found.items() if labels} == {}


def test_the_scan_finds_every_shape_of_a_planted_credential(tmp_path):
    secrets = credentials("twilio-api-v2010")
    shapes = forms(secrets)
    user, password = secrets["username"], secrets["password"]
    planted = {
        "raw": password,
        "url-encoded": quote(f"{password}/x", safe=""),
        "basic": base64.b64encode(f"{user}:{password}".encode()).decode(),
        "host": "http://127.0.0.1:5000/x",
    }
    for kind, text in planted.items():
        path = tmp_path / f"{kind}.yaml"
        path.write_text(f"interactions:\n- uri: https://x/?a={text}\n")
        assert leaks(path, shapes), kind
    clean = tmp_path / "clean.yaml"
    clean.write_text("interactions: []\n")
    assert leaks(clean, shapes) == []
