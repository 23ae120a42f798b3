"""Progress for long syncs: one redrawn line on a terminal, plain periodic lines otherwise
(CI logs, files), and a summary table at the end.

Why periodic lines off a TTY: a log collector keeps every carriage-return redraw as a line,
so a redrawn progress bar turns into thousands of lines.
"""

from __future__ import annotations

import copy
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TextIO

_CLEAR = "\r\x1b[2K"


def format_summary(results: Iterable[Any]) -> str:
    """A plain-text table of finished schemas (objects with schema, mode, rows, pages,
    seconds and error; version, resumed_from_page, incremental, incremental_sent,
    watermark, unparsed and undeclared when they have them). A failure says `failed`
    here: its message is printed once, after the table (`failures`)."""
    header = ("schema", "mode", "rows", "pages", "version", "seconds", "status")
    rows = []
    for r in results:
        version = getattr(r, "version", None)
        rows.append(
            (
                r.schema,
                r.mode or "-",
                str(r.rows),
                str(r.pages),
                "-" if version is None else str(version),
                f"{r.seconds:.1f}",
                "; ".join(["ok" if r.error is None else "failed", *notes(r)]),
            )
        )
    widths = [
        max(len(line[i]) for line in [header, *rows]) for i in range(len(header) - 1)
    ]

    def fmt(line: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(w) if 2 <= i <= 5 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=False))
        ]
        return "  ".join([*cells, line[-1]]).rstrip()

    rule = "  ".join("-" * w for w in widths) + "  ------"
    return "\n".join([fmt(header), rule, *(fmt(r) for r in rows)])


def notes(r: Any) -> list[str]:
    """What else a table's run did: resumed, the incremental value sent and the new
    watermark, values kept as text, fields the catalog lacks."""
    out = []
    page = getattr(r, "resumed_from_page", None)
    if page is not None:
        out.append(f"resumed from page {page}")
    elif getattr(r, "resumed", False):
        out.append("resumed")
    mark = getattr(r, "watermark", None)
    if getattr(r, "incremental", False) or mark is not None:
        sent = getattr(r, "incremental_sent", None)
        new = getattr(mark, "last", None)
        sent, new = ("-" if v is None else v for v in (sent, new))
        out.append(f"since {sent} -> watermark {new}")
    unparsed = getattr(r, "unparsed", None) or {}
    if unparsed:
        out.append("unparsed " + ", ".join(f"{k} {n}" for k, n in unparsed.items()))
    undeclared = getattr(r, "undeclared", None) or []
    if undeclared:
        out.append("new fields " + ", ".join(undeclared))
    return out


def failures(source: str, results: Iterable[Any]) -> list[str]:
    """One line per failed table, for the end of a run."""
    return [f"{source}/{r.schema}: {r.error}" for r in results if r.error is not None]


class ProgressReporter:
    """Call `start_schema`, then `update(rows, pages)` as items arrive and `committed(batches)`
    after each commit, then `finish_schema(result)`; `summary()` is the final table.

    `tty=None` asks the stream. `interval` is the seconds between plain lines; `clock` is
    injectable so tests need no sleeping."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        interval: float = 10.0,
        redraw: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self.redraw = redraw
        self.clock = clock
        self.finished: list[Any] = []
        self._schema = ""
        self._mode = ""
        self._total: int | None = None
        self._rows = self._pages = self._batches = 0
        self._started = self._last_out = 0.0
        self._write = threading.Lock()  # shared with `for_table` copies

    def for_table(self) -> ProgressReporter:
        """A reporter for one of several tables syncing at once: its own counts, the
        same stream, lock and `finished` list (a subclass stays that subclass)."""
        child = copy.copy(self)
        child.start_schema("", "")
        return child

    def start_schema(
        self, schema: str, mode: str, total_rows: int | None = None
    ) -> None:
        self._schema, self._mode, self._total = schema, mode, total_rows
        self._rows = self._pages = self._batches = 0
        self._started = self._last_out = self.clock()

    def update(self, rows: int, pages: int) -> None:
        self._rows, self._pages = rows, pages
        self._maybe_emit()

    def committed(self, batches: int) -> None:
        self._batches = batches
        self._maybe_emit()

    def line(self) -> str:
        elapsed = max(self.clock() - self._started, 1e-9)
        rows = f"{self._rows}/{self._total}" if self._total else str(self._rows)
        return (
            f"{self._schema} ({self._mode}): {rows} rows, {self._pages} pages, "
            f"{self._batches} batches, {self._rows / elapsed:.0f} rows/s"
        )

    def _maybe_emit(self) -> None:
        now = self.clock()
        if now - self._last_out < (self.redraw if self.tty else self.interval):
            return
        self._last_out = now
        text = _CLEAR + self.line() if self.tty else self.line() + "\n"
        with self._write:
            self.stream.write(text)
            self.stream.flush()

    def finish_schema(self, result: Any) -> None:
        status = "done" if result.error is None else "failed (reason at the end)"
        text = (
            f"{result.schema} ({result.mode or '-'}): {status}, {result.rows} rows,"
            f" {result.pages} pages, {result.batches} batches, {result.seconds:.1f}s"
        )
        with self._write:
            self.finished.append(result)
            self.stream.write((_CLEAR if self.tty else "") + text + "\n")
            self.stream.flush()

    def summary(self) -> str:
        return format_summary(self.finished)
