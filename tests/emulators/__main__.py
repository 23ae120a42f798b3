"""`python -m tests.emulators stripe --port 12111 --rows 250`: serve until killed.

Prints the base URL and the credentials to use, so anyone can run a full sync of a
generated connector with no vendor account.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from . import EMULATORS, start_emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulators", description=__doc__
    )
    parser.add_argument("vendor", choices=sorted(EMULATORS))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--rows", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--api-key", default=None, help="credential to accept")
    args = parser.parse_args(argv)
    emu = start_emulator(
        args.vendor,
        port=args.port,
        rows=args.rows,
        seed=args.seed,
        api_key=args.api_key,
    )
    print(f"{args.vendor} emulator at {emu.base_url}", flush=True)
    for name, value in emu.credentials.items():
        print(f"  {name}: {value}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
