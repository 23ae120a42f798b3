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
    ("stripe", ""): "b900bbafbc52b92a9fbd19b17ac8756b876a75444339777c3736d9238c85d449",
    ("github", ""): "cd9b06e698095f8481b3d7e9425e69061d34363ff3f1d30cf520b3f68ff96700",
    ("klaviyo", ""): "e1e760896d145b15e5672ef49e5922db1457c02c4fcd39a0accef86a8dd80229",
    ("twilio-api-v2010", ""): (
        "574857bd983f7689dc29795aef5c6e16da676faeb32c3b2dd50777840c34257a"
    ),
    ("stripe", "--no-overrides"): (
        "ef58b9c8870ecf0b0f3565f8b370ced43b11cca08246198f6298bcc53d966031"
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
