"""A valid 50 MB spec, made at test time, generates through the real CLI with bounded memory.

Peak RSS is `os.wait4`'s ru_maxrss for the CLI process, printed and held to a generous bound.
Linux folds the test process's own peak into a child's figure (bench/measure.py explains), so
the bound errs on the strict side. Structural validation is skipped above 16 MiB with a
warning (openapi-spec-validator takes minutes there), which the test checks too.
"""

from __future__ import annotations

import json
import os
import py_compile
import re
import subprocess
import sys
import time

from .clitools import cli_env

TARGET_BYTES = 50 * 10**6
OPERATIONS = 300
RSS_LIMIT_KB = 1_500_000  # 1.5 GB
WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
)
TYPES = ("string", "integer", "boolean", "number")


def _schema(seed: int, props: int) -> str:
    """One object schema as JSON text (built as text: json.dumps per schema is too slow)."""
    fields = {
        "id": {"type": "string"},
        "created": {"type": "integer", "format": "unix-time"},
    }
    for j in range(props):
        words = " ".join(WORDS[(seed * 7 + j * 3 + k) % len(WORDS)] for k in range(40))
        fields[f"field_{j}"] = {
            "type": TYPES[(seed + j) % len(TYPES)],
            "description": words,
        }
    return json.dumps(
        {
            "type": "object",
            "description": f"schema {seed}",
            "properties": fields,
            "required": ["id"],
        }
    )


def big_spec(target: int) -> bytes:
    """`OPERATIONS` list endpoints with their schemas, then unused component schemas until
    the document is `target` bytes: large in structure, not just in one long string."""
    paths, schemas = [], []
    for i in range(OPERATIONS):
        schemas.append(f'"Res{i}": {_schema(i, 40)}')
        response = {
            "type": "object",
            "properties": {
                "data": {
                    "type": "array",
                    "items": {"$ref": f"#/components/schemas/Res{i}"},
                },
                "has_more": {"type": "boolean"},
            },
        }
        op = {
            "get": {
                "operationId": f"listRes{i}",
                "summary": f"List res{i}",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {
                        "name": "starting_after",
                        "in": "query",
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {"application/json": {"schema": response}},
                    }
                },
            }
        }
        paths.append(f'"/v1/res{i}": {json.dumps(op)}')
    head = (
        '{"openapi": "3.0.3", "info": {"title": "Big", "version": "1"}, '
        '"servers": [{"url": "https://api.example.com"}], "security": [{"token": []}], '
        '"paths": {'
        + ", ".join(paths)
        + '}, "components": {"securitySchemes": {"token": '
        '{"type": "http", "scheme": "bearer"}}, "schemas": {'
    )
    size = len(head) + sum(len(s) + 2 for s in schemas)
    variants = [_schema(1000 + v, 60) for v in range(16)]
    k = 0
    while size < target:
        item = f'"Extra{k}": {variants[k % len(variants)]}'
        schemas.append(item)
        size += len(item) + 2
        k += 1
    return (head + ", ".join(schemas) + "}}}").encode()


def test_fifty_megabyte_spec_generates_with_bounded_memory(tmp_path):
    started = time.monotonic()
    spec = tmp_path / "big.json"
    spec.write_bytes(big_spec(TARGET_BYTES))
    made = time.monotonic() - started
    size = spec.stat().st_size
    assert size >= TARGET_BYTES
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    env = cli_env(GEN_SOURCE_CACHE=str(tmp_path / "cache"))
    started = time.monotonic()
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "generator.cli",
                "big.json",
                "--out",
                "out",
                "--validate",  # asked for, and skipped at this size with a warning
            ],
            cwd=tmp_path,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    rss_kb = usage.ru_maxrss  # kilobytes on Linux
    print(
        f"\n50 MB spec: {size / 1e6:.1f} MB made in {made:.1f}s; gen-source took {seconds:.1f}s, "
        f"peak RSS {rss_kb / 1024:.0f} MiB"
    )
    stderr_text = err.read_text()
    assert proc.returncode == 0, stderr_text[-3000:]
    assert "Traceback" not in stderr_text
    assert rss_kb < RSS_LIMIT_KB
    assert re.search(
        r"warning: big\.json: validation skipped: the spec is 4[78]\.\d MiB",
        stderr_text,
    )
    assert f"big: {OPERATIONS} JSON GET endpoints" in out.read_text()
    folder = tmp_path / "out" / "big"
    settings = (folder / "settings.py").read_text()
    assert (
        len(re.findall(r'^    "res\d+": EndpointConfig\(', settings, re.M))
        == OPERATIONS
    )
    for py in folder.rglob("*.py"):
        py_compile.compile(str(py), doraise=True)
