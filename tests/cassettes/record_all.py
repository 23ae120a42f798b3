"""Re-record every committed cassette against the vendor emulators.

    python -m tests.cassettes.record_all                 # every source below
    python -m tests.cassettes.record_all stripe github   # some of them

For each source it starts the emulator (loopback, fixed seed, a few pages of rows), then runs
exactly the command a maintainer runs against the live API, with the emulator as the host:

    GEN_SOURCE_RECORD_PAGE_SIZE=<n> GEN_SOURCE_<SOURCE>_<FIELD>=... \\
        gen-source record <source> --all --base-url <emulator> --allow-private-hosts

`CONFIG` below is also the list of credential values the cassettes were recorded with, which
tests/cassette_tests/test_cassette_no_secrets.py looks for (and must not find) in every file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from runtime.source.config_input import env_name
from tests.emulators import Emulator, start_emulator

ROOT = Path(__file__).resolve().parents[2]
SEED = 1
# source -> (emulator rows, page size): about three pages of each list. GitHub's objects are
# large (every pull request embeds two repositories), so it gets fewer, smaller pages.
SIZES: dict[str, tuple[int, int]] = {"github": (5, 2)}
DEFAULT_SIZE = (12, 5)

# source -> (emulator, (credentials, other config fields) read from the running emulator)
Fields = tuple[dict[str, str], dict[str, str]]
CONFIG: dict[str, tuple[str, Callable[[Emulator], Fields]]] = {
    "stripe": ("stripe", lambda e: ({"token": e.api_key}, {})),
    "github": (
        "github",
        lambda e: (
            {"token": e.api_key},
            {"owner": e.owner, "repo": e.repo, "org": e.org},
        ),
    ),
    "klaviyo": ("klaviyo", lambda e: ({"api_key": e.api_key}, {})),
    "twilio-api-v2010": (
        "twilio",
        lambda e: (
            {"username": e.account_sid, "password": e.api_key},
            {"account_sid": e.account_sid, "country_code": "US"},
        ),
    ),
}


def emulator_for(source: str) -> Emulator:
    rows, _ = SIZES.get(source, DEFAULT_SIZE)
    return start_emulator(CONFIG[source][0], rows=rows, seed=SEED)


def credentials(source: str) -> dict[str, str]:
    """The credential values `source` is recorded with (an emulator is started to read them)."""
    emu = emulator_for(source)
    try:
        return CONFIG[source][1](emu)[0]
    finally:
        emu.stop()


def command() -> list[str]:
    found = shutil.which("gen-source")
    return [found] if found else [sys.executable, "-m", "generator.cli"]


def record(source: str) -> int:
    emu = emulator_for(source)
    try:
        env = dict(
            os.environ,
            GEN_SOURCE_RECORD_PAGE_SIZE=str(SIZES.get(source, DEFAULT_SIZE)[1]),
        )
        secret, plain = CONFIG[source][1](emu)
        env.update({env_name(source, k): v for k, v in {**secret, **plain}.items()})
        args = [
            "record",
            source,
            "--all",
            "--base-url",
            emu.base_url,
            "--allow-private-hosts",
        ]
        print(f"$ gen-source {' '.join(args)}", flush=True)
        return subprocess.run(
            [*command(), *args], cwd=ROOT, env=env, check=False
        ).returncode
    finally:
        emu.stop()


def main(argv: list[str]) -> int:
    sources = argv or list(CONFIG)
    unknown = [s for s in sources if s not in CONFIG]
    if unknown:
        print(
            f"record_all: unknown source {unknown[0]!r}; one of {', '.join(CONFIG)}",
            file=sys.stderr,
        )
        return 2
    failed = [s for s in sources if record(s) != 0]
    if failed:
        print(f"record_all: recording failed for {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
