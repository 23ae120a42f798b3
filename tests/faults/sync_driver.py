"""`python -m tests.faults.sync_driver CONNECTOR CONFIG DEST STATE SCHEMA BATCH_ROWS [full-refresh]`: one
`runtime.sync.run_schema` call in its own process, so a test can SIGKILL it mid-sync.
(`gen-source sync` has no batch size option; small batches make "between batches" exist.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runtime.source.connector import RestSource, load_connector
from runtime.state.store import StateStore
from runtime.sync import run_schema


def main(argv: list[str]) -> int:
    connector, config, dest, state, schema, batch_rows, *flags = argv
    package = load_connector(Path(connector))
    source_cls = next(
        v
        for v in vars(package.source).values()
        if isinstance(v, type) and issubclass(v, RestSource) and v is not RestSource
    )
    with StateStore(state) as store:
        result = run_schema(
            source_cls(allow_private_hosts=True),
            json.loads(Path(config).read_text()),
            schema,
            dest=dest,
            source_name=Path(connector).name,
            store=store,
            batch_rows=int(batch_rows),
            full_refresh="full-refresh" in flags,
        )
    print(
        f"done {result.rows} rows, {result.batches} batches, resumed={result.resumed}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
