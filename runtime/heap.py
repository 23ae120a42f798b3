"""Keep the garbage collector off what was alive before a sync began.

A sync allocates container objects quickly (every decoded row is a dict of dicts and
lists), so the collector runs often, and each of its full passes walks every tracked
object in the process, above all the tens of thousands a process holds after start-up
(modules, classes, the connector, the config). `frozen_heap()` collects once and then
moves those into the collector's permanent generation (`gc.freeze`) for the length of
the run, so the passes walk only what the run itself allocated; the last run to finish
moves them back (`gc.unfreeze`). Runs on several threads share one freeze.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_runs = 0


@contextmanager
def frozen_heap() -> Iterator[None]:
    global _runs
    with _lock:
        if _runs == 0:
            gc.collect()
            gc.freeze()
        _runs += 1
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0:
                gc.unfreeze()
