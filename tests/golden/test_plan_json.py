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
    ("stripe", ""): "45da3e2fbc6bbf9b1b07d0c9e1e2128f61ec542ee57b969b39111d7a343c4eb6",
    ("github", ""): "631d01fe4743548162e93675b6f1105e8712fb732eb9c28b689464dc98ca87ff",
    ("klaviyo", ""): "49f0f077dc894de2fee503c5f4c1de20e5937a5f871218879f61524fe0998ba5",
    ("twilio-api-v2010", ""): (
        "95c60f0aaf7f0e472c36cab11b0df5e9e55f12a13114e045a2fae6c282487b62"
    ),
    ("stripe", "--no-overrides"): (
        "e60e79a5120a9e4651e9057533b906cbbd634b1a5ccf8efa0174b8fda3c5501f"
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
