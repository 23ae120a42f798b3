"""`python -m tests.faults.table_poller TABLE_URI STOP_FILE`: read a Delta table's `id`
column over and over, as an outside reader would, until STOP_FILE exists. Prints one line per
change of what it saw: `<rows> <sha256 of the sorted ids>`, `absent` or `error <message>`,
then `reads <n>`."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from deltalake import DeltaTable


def fingerprint(ids: list[str]) -> str:
    return (
        f"{len(ids)} {hashlib.sha256(chr(10).join(sorted(ids)).encode()).hexdigest()}"
    )


def main(uri: str, stop: str) -> int:
    last, reads = None, 0
    while not Path(stop).exists():
        try:
            if DeltaTable.is_deltatable(uri):
                ids = (
                    DeltaTable(uri)
                    .to_pyarrow_table(columns=["id"])
                    .column("id")
                    .to_pylist()
                )
                seen = fingerprint(ids)
            else:
                seen = "absent"
        except Exception as exc:  # noqa: BLE001 - what a reader would have got
            seen = f"error {type(exc).__name__}: {exc}".splitlines()[0]
        reads += 1
        if seen != last:
            print(seen, flush=True)
            last = seen
    print(f"reads {reads}", flush=True)
    return 0


if __name__ == "__main__":
    code = main(*sys.argv[1:])
    sys.stdout.flush()
    # Not sys.exit: deltalake's reader threads can still be winding down when the
    # interpreter finalises, which aborts the process ("terminate called without an
    # active exception"); the reads are done and printed, so leave at once.
    os._exit(code)
