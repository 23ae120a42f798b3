"""dlt's `rest_api` source loading the benchmark server into Delta (run in dlt's own venv).

    /tmp/dltvenv/bin/python bench/dlt_load.py http://127.0.0.1:PORT /tmp/dest /tmp/pipelines

The configuration of /work/shared/docs/peer-figures.md: cursor paginator on `data[-1].id`
-> `starting_after` with `has_more`, bearer auth, `limit=100`, `data` selector, primary key
`id`, merge, `table_format: delta`, filesystem destination. Tuning comes from the
environment (DATA_WRITER__DISABLE_COMPRESSION, NORMALIZE__WORKERS, DATA_WRITER__FILE_MAX_ITEMS).
Prints the rows it loaded as one line of JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import dlt
from dlt.sources.rest_api import rest_api_source


def main() -> int:
    base_url, dest, pipelines = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    source = rest_api_source(
        {
            "client": {
                "base_url": base_url,
                "auth": {"type": "bearer", "token": "sk_bench"},
                "paginator": {
                    "type": "cursor",
                    "cursor_path": "data[-1].id",
                    "cursor_param": "starting_after",
                    "has_more_path": "has_more",
                },
            },
            "resources": [
                {
                    "name": "customers",
                    "endpoint": {
                        "path": "v1/customers",
                        "params": {"limit": 100},
                        "data_selector": "data",
                    },
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "table_format": "delta",
                }
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench_customers",
        destination=dlt.destinations.filesystem(bucket_url=dest.resolve().as_uri()),
        dataset_name="stripe",
        pipelines_dir=pipelines,
    )
    info = pipeline.run(source)
    info.raise_on_failed_jobs()
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("customers", 0)
    print(json.dumps({"rows": rows, "table": str(dest / "stripe" / "customers")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
