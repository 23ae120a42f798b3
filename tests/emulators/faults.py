"""The fault plan: what a test wants the next requests to suffer.

Kinds: 429 (with `Retry-After` when `retry_after` is given), 500, slow (wait `delay`
seconds, then answer normally), reset (close the connection mid-body), truncated (a
complete response holding half the JSON), wrong_shape (200 with the vendor envelope
missing its row list), repeat_cursor (serve the previous page of that path again, so
the next cursor / link repeats and a client that does not notice loops).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_KINDS = (
    "429",
    "500",
    "slow",
    "reset",
    "truncated",
    "wrong_shape",
    "repeat_cursor",
)


@dataclass
class Fault:
    kind: str
    count: int
    path: str | None = None
    retry_after: float | None = None
    delay: float = 0.2
    fired: int = 0


class FaultPlan:
    """Faults queued by a test; each applies to the next `count` requests whose path
    starts with `path` (any path when None), in the order they were injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pending: list[Fault] = []
        self.fired: list[tuple[str, str]] = []  # (kind, path) of every fault served

    def inject(
        self,
        kind: str,
        count: int = 1,
        *,
        path: str | None = None,
        retry_after: float | None = None,
        delay: float = 0.2,
    ) -> Fault:
        """Queue a fault. kind: 429 (with Retry-After `retry_after` seconds when
        given), 500, slow (wait `delay` s, then answer normally), reset (close the
        connection mid-body), truncated (a complete response holding half the JSON),
        wrong_shape (200 with the vendor envelope missing its row list),
        repeat_cursor (serve the previous page of this path again, so the next
        cursor/link repeats)."""
        if kind not in FAULT_KINDS:
            raise ValueError(
                f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}"
            )
        fault = Fault(kind, int(count), path, retry_after, delay)
        with self._lock:
            self.pending.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.pending.clear()

    def take(self, path: str, can_repeat: bool) -> Fault | None:
        """Consume one use of the first fault matching `path`; a repeat_cursor fault
        waits until there is a previous page to repeat."""
        with self._lock:
            for fault in self.pending:
                if fault.path and not path.startswith(fault.path):
                    continue
                if fault.kind == "repeat_cursor" and not can_repeat:
                    continue
                fault.fired += 1
                if fault.fired >= fault.count:
                    self.pending.remove(fault)
                self.fired.append((fault.kind, path))
                return fault
        return None
