"""`python -m generator.spec.validate_child PATH [--allow-external-refs]`: validate one spec
and print its warnings as JSON, unlabelled (the background half of a cold `gen-source`
run; the parent applies the label)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from generator.errors import GenSourceError
from generator.spec.loader import load_path, validation_key, validation_of


def main(argv: list[str]) -> int:
    path = Path(argv[0])
    try:
        spec = load_path(
            path, allow_external="--allow-external-refs" in argv, validate_spec=False
        )
    except GenSourceError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    found = validation_of(spec, path, "", validation_key(spec))
    sys.stdout.write(json.dumps([w.__dict__ for w in found]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
