"""`gen-source plan <spec> --json` is a contract (../shared/docs/plan-format.md). The typed
catalog changed how the plan holds pagination, incremental fields and parents, not what
`plan --json` prints: these are the sha256 of its output for the committed sources (and
Stripe's without overrides, the plan the accuracy scores read), taken from main before that
change.

When a decision changes on purpose, the plan changes with it: print the new digests with
`python -m tests.golden.test_plan_json` and paste them here (the diff of
`gen-source plan <spec> --json` before and after is what a reviewer reads).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from generator.cli import main

# (source, extra arguments) -> sha256 of `gen-source plan <source> --json <extra>`
PLAN_SHA256 = {
    ("stripe", ""): "cdfcdc967189394c89929beb07ea0b3eb67d20764b03668f74bb6835d185458e",
    ("github", ""): "d000a41109d80c00cb08f08326331426773112fd324267deb67a12e208e9cad6",
    ("klaviyo", ""): "d8782a9f7b893203422ea16b3a937657df1295f57c497803f28a16aeea9a4e2d",
    ("twilio-api-v2010", ""): (
        "77b4fddb0ea8ba4d665abac8f650fced3ea9958315e6871aff8c980afbe01a08"
    ),
    ("stripe", "--no-overrides"): (
        "509ee4eba10ad2f02da35b23a79b026b72976547a0c5c679cc4cff329c2288be"
    ),
}


def plan_args(source: str, extra: str) -> list[str]:
    return ["plan", source, "--json", *extra.split()]


@pytest.mark.parametrize(("source", "extra"), sorted(PLAN_SHA256))
def test_plan_json_is_byte_for_byte_unchanged(specs, capsys, source, extra):
    capsys.readouterr()
    assert main(plan_args(source, extra)) == 0
    digest = hashlib.sha256(capsys.readouterr().out.encode("utf-8")).hexdigest()
    assert digest == PLAN_SHA256[(source, extra)], (
        f"`gen-source {' '.join(plan_args(source, extra))}` changed; if a decision"
        " changed on purpose, update PLAN_SHA256 (python -m tests.golden.test_plan_json)"
    )


if __name__ == "__main__":
    for source, extra in sorted(PLAN_SHA256):
        out = subprocess.run(
            [sys.executable, "-m", "generator.cli", *plan_args(source, extra)],
            check=True,
            capture_output=True,
        ).stdout
        print(f"    ({source!r}, {extra!r}): {hashlib.sha256(out).hexdigest()!r},")
