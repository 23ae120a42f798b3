"""The process heap during a sync: the garbage collector kept off what was alive before
the sync began, and Arrow's buffers taken from the C library's allocator.

A sync allocates container objects quickly (every decoded row is a dict of dicts and
lists), so the collector runs often, and each of its full passes walks every tracked
object in the process, above all the tens of thousands a process holds after start-up
(modules, classes, the connector, the config). `frozen_heap()` collects once and then
moves those into the collector's permanent generation (`gc.freeze`) for the length of
the run, so the passes walk only what the run itself allocated; the last run to finish
moves them back (`gc.unfreeze`). Runs on several threads share one freeze.

`system_arrow_pool()` makes Arrow allocate through malloc instead of its bundled
mimalloc, which keeps freed pages for reuse: a sync frees each batch's buffers a few
seconds after making them, and with malloc the next batch reuses the same memory that
deltalake and Python allocate from. Measured on a 1M-row sync: peak 289 MB against
308 MB, no slower (bench/RESULTS.md). A user's own `ARROW_DEFAULT_MEMORY_POOL` wins.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa

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


def system_arrow_pool() -> None:
    """Arrow's default memory pool becomes the system allocator's, unless the user chose
    one with `ARROW_DEFAULT_MEMORY_POOL`. Buffers made before keep their own pool."""
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())
