"""Score `analyse()` against the expert answer keys (`shared/answer-keys/as-plan/*.json`).

    python -m tests.accuracy.score [-v]

Endpoints are matched by method and path: `{repository}` in a key stands for `{owner}/{repo}`,
path-parameter names are wildcards, and a literal in the key where the spec has a parameter
(`/AvailablePhoneNumbers/US/Local.json`) means the expert pinned that parameter. Meanings are
compared, not spellings:
- pagination: the type, and the parameters the expert's code uses (`expected_pagination.json`,
  transcribed from each key's `as_written`);
- primary key: as a set; a key column that is not a row property (an injected parent column:
  the key's `team_id`, our `_team_slug`) counts as "the parent's column";
- data selector: null in a key is the root array `$`;
- incremental: recall of the key's (field, filter_param[, filter expression]) pairs. `reachable`
  recall leaves out pairs the spec cannot support (the key's filter parameter is not declared
  for that operation, or its field is not a row property: the expert flattened it). Precision:
  every filter parameter we propose, on every endpoint, is declared in the spec;
- partition key, sort mode: equality;
- parent: the parent's path, the parameter's position and the parent field; parameters the key
  pins to a literal are not compared.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit


from generator.analysis import analyse
from generator.plan import Endpoint, Plan, pagination_json, parent_json
from generator.spec.loader import load_path
from generator.spec.model import Operation, Spec

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILES = {
    "stripe": "stripe/spec3.json",
    "github": "github/api.github.com.json",
    "klaviyo": "klaviyo/stable.json",
    "twilio": "twilio/twilio_api_v2010.yaml",
}
EXPECTED_PAGINATION = Path(__file__).with_name("expected_pagination.json")
METRICS = (
    "coverage",
    "selected",
    "pagination_type",
    "pagination",
    "primary_key",
    "data_selector",
    "incremental_recall",
    "incremental_reachable",
    "partition_key",
    "sort_mode",
    "parent",
)


@cache
def planned(path: Path, name: str) -> tuple[Spec, Plan]:
    """`path` loaded (unvalidated) and analysed as source `name`, once per process: the
    dev-set score, the second expert's score and the per-spec summary read the same plans
    (and change none). A YAML spec parsed before comes from the generator's JSON copy in
    GEN_SOURCE_CACHE (`generator.spec.parse`)."""
    spec = load_path(path, validate_spec=False)
    return spec, analyse(spec, name)


def specs_root() -> Path:
    env = os.environ.get("GEN_SOURCE_SPECS")
    return Path(env).resolve() if env else (ROOT.parent / "shared" / "specs")


def keys_root() -> Path:
    env = os.environ.get("GEN_SOURCE_ANSWER_KEYS")
    return (
        Path(env).resolve()
        if env
        else (specs_root().parent / "answer-keys" / "as-plan")
    )


@dataclass
class Tally:
    hits: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, where: str, detail: str = "") -> None:
        self.total += 1
        if ok:
            self.hits += 1
        else:
            self.misses.append(f"{where}: {detail}" if detail else where)

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else 1.0


@dataclass
class Report:
    vendors: dict[str, dict[str, Tally]] = field(default_factory=dict)
    precision_violations: list[str] = field(default_factory=list)
    filters_checked: int = 0

    def overall(self, metric: str) -> Tally:
        out = Tally()
        for tallies in self.vendors.values():
            t = tallies[metric]
            out.hits += t.hits
            out.total += t.total
            out.misses += t.misses
        return out


# ---- path matching ------------------------------------------------------------------------


def _full(base_url: str, path: str) -> list[str]:
    prefix = urlsplit(base_url).path.rstrip("/")
    return [s for s in (prefix + path).split("/") if s]


def match(
    key_ep: dict, key_base: str, plan: Plan
) -> tuple[Endpoint | None, dict[int, str]]:
    """The plan endpoint a key endpoint names, and {segment index: literal} the key pins."""
    kpath = key_ep["path"].replace("{repository}", "{owner}/{repo}")
    ksegs = _full(key_base, kpath)
    best: tuple[int, Endpoint | None, dict[int, str]] = (-1, None, {})
    for ep in plan.endpoints:
        if ep.method != key_ep.get("method", "GET"):
            continue
        psegs = _full(plan.base_url, ep.path)
        if len(psegs) != len(ksegs):
            continue
        score, pinned, ok = 0, {}, True
        for i, (k, p) in enumerate(zip(ksegs, psegs, strict=True)):
            kp, pp = _is_param(k), _is_param(p)
            if kp and pp:
                continue
            if not kp and not pp:
                if k != p:
                    ok = False
                    break
                score += 1
            elif pp:
                pinned[i] = k
            else:
                ok = False
                break
        if ok and score > best[0]:
            best = (score, ep, pinned)
    return best[1], best[2]


def _is_param(seg: str) -> bool:
    return seg.startswith("{") and "}" in seg


# ---- comparisons ------------------------------------------------------------------------------


def _pk_norm(cols: list[str] | None, row_columns: set[str]) -> set[str] | None:
    if cols is None:
        return None
    return {
        c if (c in row_columns and not c.startswith("_")) else "<parent>" for c in cols
    }


def _expr_norm(expr: str | None) -> str:
    if not expr:
        return ""
    return re.sub(r",.*\)$", ",*)", expr)


def _declared(op: Operation, filter_param: str) -> bool:
    names = {p.name for p in op.parameters if p.location in ("query", "header")}
    if filter_param in names:
        return True
    m = re.match(r"^(.+)\[(\w+)\]$", filter_param)
    return bool(m) and m.group(1) in names


def _parent_path(plan: Plan, name: str) -> str | None:
    ep = plan.endpoint(name)
    return ep.path if ep else None


def _param_index(base: str, path: str, param: str) -> int | None:
    segs = _full(base, path)
    for i, s in enumerate(segs):
        if s.strip("{}") == param or (s.startswith("{") and s[1:-1] == param):
            return i
    return None


def score_vendor(
    vendor: str,
    key: dict,
    plan: Plan,
    ops: dict[str, Operation],
    expected: dict,
    report: Report,
) -> None:
    tallies = {m: Tally() for m in METRICS}
    report.vendors[vendor] = tallies
    key_base = key.get("base_url") or plan.base_url
    key_by_name = {e["name"]: e for e in key["endpoints"]}
    for kep in key["endpoints"]:
        where = f"{vendor} {kep['method']} {kep['path']}"
        ep, pinned = match(kep, key_base, plan)
        tallies["coverage"].add(ep is not None, where, "no matching endpoint")
        if ep is None:
            continue
        op = ops[ep.path]
        row_cols = {c.name for c in ep.columns}
        tallies["selected"].add(ep.selected, where, ep.why.get("selected", ""))
        kpag = kep["pagination"]
        tallies["pagination_type"].add(
            ep.pagination.type == kpag["type"],
            where,
            f"{ep.pagination.type} vs {kpag['type']}",
        )
        exp = expected.get(vendor, {}).get(
            kep["path"], expected.get(vendor, {}).get("*", {})
        )
        settings = ep.pagination.settings()
        diffs = {
            k: (settings.get(k), v) for k, v in exp.items() if settings.get(k) != v
        }
        tallies["pagination"].add(
            ep.pagination.type == kpag["type"] and not diffs,
            where,
            f"{pagination_json(ep.pagination)} vs {kpag['type']} {exp}",
        )
        tallies["primary_key"].add(
            _pk_norm(ep.primary_key, row_cols)
            == _pk_norm(kep["primary_key"], row_cols),
            where,
            f"{ep.primary_key} vs {kep['primary_key']}",
        )
        ksel = kep["data_selector"] or "$"
        tallies["data_selector"].add(
            ep.data_selector == ksel, where, f"{ep.data_selector} vs {ksel}"
        )
        ours = {
            (f.field, f.filter_param, _expr_norm(f.filter_expression))
            for f in ep.incremental_fields
        }
        for kf in kep["incremental_fields"]:
            want = (
                kf["field"],
                kf["filter_param"],
                _expr_norm(kf.get("filter_expression")),
            )
            got = want in ours
            detail = f"want {want}, have {sorted(ours)}"
            tallies["incremental_recall"].add(got, where, detail)
            if _declared(op, kf["filter_param"]) and kf["field"] in row_cols:
                tallies["incremental_reachable"].add(got, where, detail)
        tallies["partition_key"].add(
            ep.partition_key == kep["partition_key"],
            where,
            f"{ep.partition_key} vs {kep['partition_key']}",
        )
        tallies["sort_mode"].add(
            ep.sort_mode == kep["sort_mode"],
            where,
            f"{ep.sort_mode} vs {kep['sort_mode']}",
        )
        tallies["parent"].add(
            *_parent_ok(kep, ep, plan, key_base, key_by_name, pinned, where)
        )


def _parent_ok(
    kep, ep, plan, key_base, key_by_name, pinned, where
) -> tuple[bool, str, str]:
    kpar, par = kep.get("parent"), ep.parent
    ours_index = _param_index(plan.base_url, ep.path, par.path_param) if par else None
    if par is not None and ours_index in pinned:
        par = None  # the key pinned the parameter this parent fills
    if kpar is None or par is None:
        return (
            (kpar is None and par is None),
            where,
            f"{parent_json(ep.parent) if ep.parent else None} vs {kpar}",
        )
    kparent = key_by_name.get(kpar["endpoint"])
    kparent_ep, _ = match(kparent, key_base, plan) if kparent else (None, {})
    same_parent = kparent_ep is not None and kparent_ep.path == _parent_path(
        plan, par.endpoint
    )
    kindex = _param_index(
        key_base,
        kep["path"].replace("{repository}", "{owner}/{repo}"),
        kpar["path_param"],
    )
    ok = same_parent and kindex == ours_index and par.field == kpar["field"]
    return ok, where, f"{parent_json(par)} vs {kpar}"


def check_precision(
    plan: Plan, ops: dict[str, Operation], report: Report, label: str
) -> None:
    for ep in plan.endpoints:
        op = ops[ep.path]
        for f in ep.incremental_fields:
            for param in (f.filter_param, f.before_param):
                if param is None:
                    continue
                report.filters_checked += 1
                if not _declared(op, param):
                    report.precision_violations.append(
                        f"{label} {ep.path}: '{param}' is not declared"
                    )


def run(specs: Path | None = None, keys: Path | None = None) -> Report:
    specs = specs or specs_root()
    keys = keys or keys_root()
    expected = json.loads(EXPECTED_PAGINATION.read_text())
    report = Report()
    for vendor, rel in SPEC_FILES.items():
        key_file = keys / f"{vendor}.json"
        if not key_file.is_file():
            continue
        spec, plan = planned(specs / rel, vendor)
        ops = {op.path: op for op in spec.operations()}
        score_vendor(
            vendor, json.loads(key_file.read_text()), plan, ops, expected, report
        )
        check_precision(plan, ops, report, vendor)
    return report


def metrics_table(report: Report, metrics) -> list[str]:
    """Hits/total per vendor and overall for each metric, as markdown table lines."""
    vendors = sorted(report.vendors)
    lines = [
        "| metric | " + " | ".join(vendors) + " | overall |",
        "|---" * (len(vendors) + 2) + "|",
    ]
    for metric in metrics:
        cells = [
            f"{report.vendors[v][metric].hits}/{report.vendors[v][metric].total}"
            for v in vendors
        ]
        o = report.overall(metric)
        lines.append(
            f"| {metric} | "
            + " | ".join(cells)
            + f" | {o.hits}/{o.total} ({o.rate:.1%}) |"
        )
    return lines


def miss_lines(report: Report, metrics) -> list[str]:
    """Every miss, metric by metric (the verbose report)."""
    lines = []
    for metric in metrics:
        misses = report.overall(metric).misses
        if misses:
            lines.append(f"\n{metric} misses:")
            lines.extend(f"  - {m}" for m in misses)
    return lines


def format_report(report: Report, verbose: bool = False) -> str:
    lines = metrics_table(report, METRICS)
    lines.append(
        f"\nfilter-parameter precision: {report.filters_checked - len(report.precision_violations)}"
        f"/{report.filters_checked} declared in the spec"
    )
    if verbose:
        lines += miss_lines(report, METRICS)
        lines.extend(f"  ! {v}" for v in report.precision_violations)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    print(format_report(run(), verbose=args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
