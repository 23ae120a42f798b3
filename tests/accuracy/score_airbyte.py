"""Score `analyse()` against the second expert's keys (`shared/answer-keys/airbyte/*.json`).

    python -m tests.accuracy.score_airbyte [-v]

The keys restate declarative connectors of another integration platform (see their README).
Endpoints are matched by method and full URL path, as in `score.py` (the key's `base_url` plus
its path against the plan's). Left out: endpoints marked `skip_scoring` (custom code) and paths
the converter could not resolve (`{UNRESOLVED}`, `{subresource_uri}`). A key path with a query
(`/conversations.history?channel={channel}`) is a table read from that operation with a fixed or
parent-filled query parameter: it is scored on everything but the parent (the plan has one entry
per operation, and parents fill path parameters). Compared:
- pagination type, and with it the parameters the key's `details` name in backticks (`cursor
  param`, `offset param`, `page size param`);
- primary key as a set (an injected parent column counts as "the parent's column");
- data selector (`""`/null is the root `$`; `[*]` steps are kept, so a selector into each row
  of an array is a miss);
- incremental recall of (field, filter parameter) pairs (the key's filter values are templates);
- parent: the parent endpoint's path when the key lists it, the parameter's position and field.
Sort and partition are not scored: the keys default them (`asc`, null) for every endpoint.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from generator.plan import Endpoint, Plan, pagination_json, parent_json

from .score import (
    Report,
    Tally,
    _param_index,
    _pk_norm,
    match,
    metrics_table,
    miss_lines,
    planned,
    specs_root,
)

SPEC_FILES = {
    "box": ["box/openapi.json"],
    "klaviyo": ["klaviyo/stable.json"],
    "okta": ["okta/management-minimal.yaml"],
    "openai": ["openai/openapi.yaml"],
    "slack": ["slack/slack_web_openapi_v2.json"],
    "spotify": ["spotify/official-spotify-open-api.yml"],
    "stripe": ["stripe/spec3.json"],
    "twilio": ["twilio/twilio_api_v2010.yaml", "twilio/twilio_messaging_v1.yaml"],
    "vercel": ["vercel/vercel-spec.json"],
}
METRICS = (
    "coverage",
    "pagination_type",
    "pagination",
    "primary_key",
    "data_selector",
    "incremental_recall",
    "parent",
)
UNRESOLVED = re.compile(r"\{(UNRESOLVED|subresource_uris?)\}")
ROLE_PARAMS = {
    "cursor param": "cursor_param",
    "offset param": "offset_param",
    "page param": "page_param",
    "page size param": "limit_param",
}


def keys_root() -> Path:
    return specs_root().parent / "answer-keys" / "airbyte"


def scored(key: dict) -> list[dict]:
    return [
        e
        for e in key["endpoints"]
        if not e.get("skip_scoring") and not UNRESOLVED.search(e["path"])
    ]


def named_params(details: str) -> dict[str, str]:
    """`cursor param `marker` ...; page size param `limit`=100` -> {cursor_param: marker, limit_param: limit}."""
    out = {}
    for role, key in ROLE_PARAMS.items():
        m = re.search(rf"(?<![a-z]){role} `([^`]+)`", details or "")
        if m:
            out[key] = m.group(1)
    return out


def _selector(value: str | None) -> str:
    return value or "$"


def _find(
    kep: dict, key_base: str, plans: list[Plan]
) -> tuple[Endpoint | None, Plan | None]:
    probe = dict(kep, path=kep["path"].split("?", 1)[0])
    for plan in plans:
        ep, _ = match(probe, key_base, plan)
        if ep is not None:
            return ep, plan
    return None, None


def score_vendor(vendor: str, key: dict, plans: list[Plan], report: Report) -> None:
    tallies = {m: Tally() for m in METRICS}
    report.vendors[vendor] = tallies
    key_base = key.get("base_url") or plans[0].base_url
    by_name = {e["name"]: e for e in key["endpoints"]}
    for kep in scored(key):
        where = f"{vendor} {kep['method']} {kep['path']}"
        ep, plan = _find(kep, key_base, plans)
        tallies["coverage"].add(ep is not None, where, "no matching endpoint")
        if ep is None or plan is None:
            continue
        row_cols = {c.name for c in ep.columns}
        kpag = kep["pagination"]
        tallies["pagination_type"].add(
            ep.pagination.type == kpag["type"],
            where,
            f"{ep.pagination.type} vs {kpag['type']}",
        )
        want = named_params(kpag.get("details", ""))
        diffs = {
            k: (ep.pagination.settings().get(k), v)
            for k, v in want.items()
            if ep.pagination.settings().get(k) != v
        }
        tallies["pagination"].add(
            ep.pagination.type == kpag["type"] and not diffs,
            where,
            f"{pagination_json(ep.pagination)} vs {kpag['type']} {want}",
        )
        tallies["primary_key"].add(
            _pk_norm(ep.primary_key, row_cols)
            == _pk_norm(kep["primary_key"], row_cols),
            where,
            f"{ep.primary_key} vs {kep['primary_key']}",
        )
        ksel = _selector(kep["data_selector"])
        tallies["data_selector"].add(
            ep.data_selector == ksel, where, f"{ep.data_selector} vs {ksel}"
        )
        ours = {(f.field, f.filter_param) for f in ep.incremental_fields}
        for kf in kep["incremental_fields"]:
            pair = (kf["field"], kf.get("server_filter_param"))
            tallies["incremental_recall"].add(
                pair in ours, where, f"want {pair}, have {sorted(ours)}"
            )
        if "?" not in kep["path"]:
            tallies["parent"].add(*_parent_ok(kep, ep, plan, key_base, by_name, where))


def _parent_ok(kep, ep, plan, key_base, by_name, where) -> tuple[bool, str, str]:
    kpar, par = kep.get("parent"), ep.parent
    if kpar is None or par is None:
        return (
            (kpar is None and par is None),
            where,
            f"{parent_json(par) if par else None} vs {kpar}",
        )
    ours_index = _param_index(plan.base_url, ep.path, par.path_param)
    kindex = _param_index(key_base, kep["path"], kpar["path_param"])
    ok = ours_index == kindex and par.field == kpar["field"]
    kparent = by_name.get(kpar["endpoint"])
    if kparent is not None:
        kparent_ep, _ = match(
            dict(kparent, path=kparent["path"].split("?", 1)[0]), key_base, plan
        )
        ours_parent = plan.endpoint(par.endpoint)
        ok = (
            ok
            and kparent_ep is not None
            and ours_parent is not None
            and kparent_ep.path == ours_parent.path
        )
    return ok, where, f"{parent_json(par)} vs {kpar}"


def run(specs: Path | None = None, keys: Path | None = None) -> Report:
    specs = specs or specs_root()
    keys = keys or keys_root()
    report = Report()
    for vendor, files in SPEC_FILES.items():
        key_file = keys / f"{vendor}.json"
        if not key_file.is_file():
            continue
        plans = [planned(specs / rel, vendor)[1] for rel in files]
        score_vendor(vendor, json.loads(key_file.read_text()), plans, report)
    return report


def format_report(report: Report, verbose: bool = False) -> str:
    lines = metrics_table(report, METRICS)
    return "\n".join(lines + (miss_lines(report, METRICS) if verbose else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    print(format_report(run(), verbose=args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
