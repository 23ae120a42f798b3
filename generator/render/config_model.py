"""The typed config class (config.py) from the config form's JSON Schema, written by
datamodel-code-generator.

Why a child process: datamodel-code-generator's first `generate` takes 0.5-1 s (its
imports), about a quarter of a cold generation. `start()` (called by the generate
command, a short-lived process) launches a child that warms it up on the second core
while this process loads and analyses the spec; `model_source` then hands the schema to
that child (or, when none was started or it failed, runs the same function here). The
child runs `_generate` exactly as this process would, so the bytes do not depend on
where it ran.

    python -m generator.render.config_model   (reads {"schema", "class"} on stdin)
"""

from __future__ import annotations

import atexit
import json
import subprocess
import sys

_TIMEOUT = 120.0  # seconds; past it the child is killed and the schema rendered here
_child: subprocess.Popen | None = None


def start() -> None:
    """Start importing datamodel-code-generator in a child process (at most one; none
    when this process has it imported already, as a long-lived one may)."""
    global _child
    if _child is not None or _imported_here():
        return
    try:
        _child = subprocess.Popen(
            [sys.executable, "-m", "generator.render.config_model"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError:
        _child = None


def _imported_here() -> bool:
    return "datamodel_code_generator" in sys.modules


def stop() -> None:
    """End a started child that was not used (a generation that failed before rendering)."""
    global _child
    child, _child = _child, None
    if child is not None:
        child.kill()
        child.communicate()


atexit.register(stop)


def model_source(schema: dict, cls: str) -> str:
    """The pydantic model datamodel-code-generator writes for `schema`, named `cls`."""
    global _child
    child, _child = _child, None
    if child is not None:
        request = json.dumps({"schema": schema, "class": cls}).encode()
        try:
            out, _ = child.communicate(request, timeout=_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
        else:
            if child.returncode == 0:
                return out.decode()
    return _generate(schema, cls)


def _generate(schema: dict, cls: str) -> str:
    # Imported here: only config.py needs it (see the module docstring).
    from datamodel_code_generator import DataModelType, InputFileType, generate

    text = generate(
        json.dumps(schema),
        input_file_type=InputFileType.JsonSchema,
        output_model_type=DataModelType.PydanticV2BaseModel,
        disable_timestamp=True,
        class_name=cls,
        formatters=[],
    )
    return str(text)


# datamodel-code-generator imports its parser lazily, on the first `generate` (~0.5 s;
# later calls take ~10 ms): the child makes one on this schema while it waits.
_WARM_UP = {
    "title": "WarmUp",
    "type": "object",
    "properties": {"a": {"type": "string"}},
}


def main() -> int:
    _generate(_WARM_UP, "WarmUp")
    request = json.loads(sys.stdin.buffer.read() or b"null")
    if not isinstance(request, dict):
        return 1  # the parent went away without a schema
    sys.stdout.buffer.write(_generate(request["schema"], request["class"]).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
