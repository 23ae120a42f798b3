"""Run a child process and measure it: wall time, the largest single process's peak RSS
(`os.wait4`, which folds in the child's waited-for descendants) and the peak of the whole
process tree's summed RSS, sampled from /proc every 10 ms.

Why both: a tool that runs work in parallel processes (our background spec validator,
dlt's normalize workers) can look small by the largest-process figure while the machine
holds the sum.

Children run with Python's bytecode cache on (PYTHONDONTWRITEBYTECODE removed from their
environment), as on a user's machine: with it set, as on some CI machines, every run of a
tool from a source checkout recompiles its modules, while a tool installed from a wheel
was compiled at install time, so the comparison would charge only one side.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass
class Measured:
    seconds: float
    max_rss_mb: float  # the largest single process (wait4)
    tree_rss_mb: float  # the largest sampled sum over the process tree
    returncode: int
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            out += [int(c) for c in text.split()]
    except OSError:
        pass
    return out


def _rss_kb(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_kb(root: int) -> int:
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kb(pid)
        todo += _children(pid)
    return total


def run(argv: list[str], *, env: dict, cwd: Path, interval: float = 0.01) -> Measured:
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_kb(proc.pid))
                done.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            seconds=seconds,
            max_rss_mb=usage.ru_maxrss / 1024,
            tree_rss_mb=max(peak[0], usage.ru_maxrss) / 1024,
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )
