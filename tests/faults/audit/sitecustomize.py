"""Imported at start-up by every Python process a fault test runs with this folder on
PYTHONPATH (the CLI and any child it starts, such as the background validator). When
GEN_SOURCE_AUDIT_LOG is set, a PEP 578 audit hook appends one JSON line per file open and per
socket or URL call of this process to that file: `[pid, event, argument]`."""

import json
import os
import sys

_path = os.environ.get("GEN_SOURCE_AUDIT_LOG")
if _path:
    _log = open(_path, "a", buffering=1)  # noqa: SIM115 - open for the life of the process
    _pid = os.getpid()

    def _hook(event: str, args: tuple) -> None:
        if event == "open":
            _log.write(json.dumps([_pid, "open", str(args[0])]) + "\n")
        elif event.startswith(("socket.", "urllib.", "http.client.")):
            _log.write(json.dumps([_pid, event, repr(args)[:300]]) + "\n")

    sys.addaudithook(_hook)
