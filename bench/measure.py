"""Run a child process and measure it: wall time, the largest single process's peak RSS
and the peak of the whole process tree's summed RSS, sampled from /proc every 10 ms.

The largest process's peak is the largest VmHWM (the kernel's own high-water mark of a
process's RSS) sampled in the tree, or `os.wait4`'s ru_maxrss (which folds in the child's
waited-for descendants, even short-lived ones) when that is above this process's own
peak. Below it, ru_maxrss says nothing of the child: Linux carries the parent's
high-water mark into a child it spawns (vfork, then exec), so after the benchmark itself
held 360 MB (decoding a million rows to time the client), every child "peaked" at
360 MB, a 290 MB sync included.

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
import resource
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


def _hwm_kb(pid: int) -> int:
    """The process's peak RSS so far (VmHWM), 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _tree(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += _children(pid)
    return pids


def run(argv: list[str], *, env: dict, cwd: Path, interval: float = 0.01) -> Measured:
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err)
        peak = [0]
        largest = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                pids = _tree(proc.pid)
                peak[0] = max(peak[0], sum(map(_rss_kb, pids)))
                largest[0] = max(largest[0], *map(_hwm_kb, pids))
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
        waited = usage.ru_maxrss if usage.ru_maxrss > inherited else 0
        own = max(largest[0], waited)
        return Measured(
            seconds=seconds,
            max_rss_mb=own / 1024,
            tree_rss_mb=max(peak[0], own) / 1024,
            returncode=proc.returncode,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )
