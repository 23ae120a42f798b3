"""Running the real `gen-source` CLI in subprocesses, with an audit log of what it opened
and whether it touched the network, plus byte snapshots of folders and message snapshots.

The audit hook (PEP 578, installed by audit/sitecustomize.py in the CLI process and in any
Python child it starts, such as the background validator) sees every `open()` and socket
call, so a test can prove a refused `$ref` was never read and never fetched, not just that
an error was printed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BAD_SPECS = ROOT / "tests" / "bad_specs"
SNAPSHOTS = BAD_SPECS / "snapshots"

NETWORK_EVENTS = (
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.sendto",
    "socket.sendmsg",
    "http.client.connect",
)

# On PYTHONPATH for audited runs: its sitecustomize installs the audit hook in every process.
AUDIT_SITE = Path(__file__).resolve().parent / "audit"


@dataclass
class CliRun:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    events: list[tuple[int, str, str]] = field(
        default_factory=list
    )  # (pid, event, argument)

    @property
    def opened(self) -> list[str]:
        return [arg for _, event, arg in self.events if event == "open"]

    @property
    def pids(self) -> set[int]:
        return {pid for pid, _, _ in self.events}

    @property
    def network(self) -> list[tuple[str, str]]:
        """Connections, name lookups and URL requests other than file:// ones. (Importing
        urllib3 binds a socket to ::1 to probe IPv6 support; that is not traffic.)"""
        return [
            (e, a)
            for _, e, a in self.events
            if e in NETWORK_EVENTS
            or (e == "urllib.Request" and not a.startswith("('file:"))
        ]


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GEN_SOURCE_SPECS", str(ROOT.parent / "shared" / "specs"))
    env.setdefault(
        "GEN_SOURCE_ROOT", str(ROOT)
    )  # the project; tests that need another set it
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def start_cli(
    args: list[str],
    *,
    cwd: Path,
    audit_log: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start `gen-source ARGS` without waiting; with `audit_log`, that process and every
    Python process it starts log their file opens and network calls there."""
    env = dict(env or cli_env())
    if audit_log is not None:
        env["GEN_SOURCE_AUDIT_LOG"] = str(audit_log)
        env["PYTHONPATH"] = str(AUDIT_SITE) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-m", "generator.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_cli(
    proc: subprocess.Popen, audit_log: Path | None = None, timeout: float = 120
) -> CliRun:
    stdout, stderr = proc.communicate(timeout=timeout)
    events: list[tuple[str, str]] = []
    if audit_log is not None and audit_log.is_file():
        events = [
            tuple(json.loads(line))
            for line in audit_log.read_text().splitlines()
            if line.strip()
        ]
    return CliRun(list(proc.args), proc.returncode, stdout, stderr, events)


def run_cli(
    args: list[str],
    *,
    cwd: Path,
    audit_log: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> CliRun:
    return finish_cli(
        start_cli(args, cwd=cwd, audit_log=audit_log, env=env), audit_log, timeout
    )


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path -> bytes), to prove nothing changed."""
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def check_snapshot(name: str, text: str) -> None:
    """Compare `text` with the committed snapshot `tests/bad_specs/snapshots/<name>.txt`
    exactly; `UPDATE_SNAPSHOTS=1` rewrites the snapshot instead (then review the diff)."""
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), (
        f"no snapshot {path}; run with UPDATE_SNAPSHOTS=1 and review it"
    )
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"message for {name} changed (UPDATE_SNAPSHOTS=1 rewrites {path.relative_to(ROOT)}):\n"
        f"--- expected\n{expected}--- got\n{text}"
    )


class Listener:
    """A loopback TCP listener that counts connections. With `reply`, it reads a request
    and sends those bytes; without, it closes the connection at once."""

    def __init__(self, reply: bytes | None = None) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            if self.reply is not None:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(self.reply)
                except OSError:
                    pass
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
