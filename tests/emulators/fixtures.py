"""Read the vendors' own example objects from the read-only spec directory.

Row shapes come from the vendor (Stripe's fixtures3.json, GitHub's
components/examples, Twilio's schema property names) so emulated rows look like real
ones; the emulators only replace ids and times. The spec directory is
`$GEN_SOURCE_SPECS`, else `<repo>/../shared/specs` (specs are never copied into the
repo).
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def specs_dir() -> Path:
    env = os.environ.get("GEN_SOURCE_SPECS")
    return Path(env) if env else (REPO / ".." / "shared" / "specs").resolve()


def _load_json(relative: str) -> Any:
    path = specs_dir() / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path}: vendor spec not found (set GEN_SOURCE_SPECS)")
    return json.loads(path.read_bytes())


def clone(obj: Any) -> Any:
    """Deep copy of JSON data (faster than copy.deepcopy on large example objects)."""
    return json.loads(json.dumps(obj))


@cache
def stripe_fixtures() -> dict[str, dict]:
    """Stripe's example object per resource, keyed by object name (`customer`)."""
    return _load_json("stripe/fixtures3.json")["resources"]


@cache
def stripe_list_paths() -> dict[str, str]:
    """Every GET path in Stripe's spec whose 200 body is a list object, mapped to the
    object name of its items (`/v1/coupons` -> `coupon`)."""
    spec = _load_json("stripe/spec3.json")
    out: dict[str, str] = {}
    for path, item in spec["paths"].items():
        try:
            schema = item["get"]["responses"]["200"]["content"]["application/json"][
                "schema"
            ]
        except KeyError:
            continue
        props = schema.get("properties", {})
        if props.get("object", {}).get("enum") != ["list"]:
            continue
        ref = props.get("data", {}).get("items", {}).get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            out[path] = ref.rsplit("/", 1)[1]
    return out


def path_pattern(template: str) -> re.Pattern[str]:
    """`/v1/customers/{customer}/sources` -> a regex matching one concrete path."""
    parts = re.split(r"\{[^}]+\}", template)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$")


@cache
def _github_spec() -> dict:
    return _load_json("github/api.github.com.json")


def github_example(name: str) -> Any:
    """The value of `components/examples/<name>` in GitHub's description."""
    return clone(_github_spec()["components"]["examples"][name]["value"])


@cache
def twilio_schema_properties() -> dict[str, tuple[str, ...]]:
    """Property names of each schema in Twilio's api_v2010 spec, in spec order."""
    import yaml  # only Twilio needs it; pyyaml is a project dependency

    path = specs_dir() / "twilio" / "twilio_api_v2010.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: vendor spec not found (set GEN_SOURCE_SPECS)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(path.read_text(), Loader=loader)
    return {
        name: tuple(schema.get("properties", {}))
        for name, schema in spec["components"]["schemas"].items()
    }
