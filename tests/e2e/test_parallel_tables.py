"""`gen-source sync --jobs N`: tables run at once, against the Stripe emulator and real
Delta tables. The emulator records when each request started and ended (server side), so
the tests assert on the order of events, never on how long they took: two tables overlap
with --jobs 2 and not with --jobs 1; a 401 on one table stops the run and no table starts
after it; an interrupted parallel run resumes each table where it stopped."""

from __future__ import annotations

import subprocess
import threading
import time

from .support import (
    ROOT,
    Crash,
    CrashAfterCommit,
    assert_exactly_once,
    cli_command,
    sync,
    table_rows,
)

CUSTOMERS, PRODUCTS, PRICES, INVOICES = (
    "/v1/customers",
    "/v1/products",
    "/v1/prices",
    "/v1/invoices",
)


class Timed:
    """Wraps the emulator's `serve`: records `(path, start, end)` of every request and
    runs `before[path](query)` first (it may hold the request, or answer it instead)."""

    def __init__(self, emu) -> None:
        self.emu, self._serve = emu, emu.serve
        self.spans: list[tuple[str, float, float]] = []
        self.before: dict = {}
        self._lock = threading.Lock()
        emu.serve = self.serve

    def serve(self, req):
        start = time.monotonic()
        hook = self.before.get(req.path)
        answer = hook(req.query) if hook else None
        resp, fault = (answer, None) if answer is not None else self._serve(req)
        with self._lock:
            self.spans.append((req.path, start, time.monotonic()))
        return resp, fault

    def span(self, path: str) -> tuple[float, float]:
        """(first request's start, last request's end) of one table."""
        mine = [(s, e) for p, s, e in self.spans if p == path]
        assert mine, f"no request to {path}"
        return min(s for s, _ in mine), max(e for _, e in mine)

    def first_start(self, path: str) -> float | None:
        starts = [s for p, s, _ in self.spans if p == path]
        return min(starts) if starts else None


def rendezvous(timed: Timed, paths: tuple[str, str], wait: float = 2.0) -> None:
    """Each table's first request waits (up to `wait` s) for the other's to arrive:
    run at once, both are in flight together; run in turn, the first times out."""
    arrived = {p: threading.Event() for p in paths}

    def hold(path: str, other: str):
        def before(query):
            if "starting_after" not in query and not arrived[path].is_set():
                arrived[path].set()
                arrived[other].wait(wait)

        return before

    timed.before[paths[0]] = hold(paths[0], paths[1])
    timed.before[paths[1]] = hold(paths[1], paths[0])


def run_two(connector, emulator, tmp_path, jobs: int):
    conn, emu = connector("stripe"), emulator("stripe", rows=250)
    timed = Timed(emu)
    rendezvous(timed, (CUSTOMERS, PRODUCTS))
    tables = [conn.table_at(CUSTOMERS), conn.table_at(PRODUCTS)]
    summary = sync(conn, emu, tables, tmp_path, jobs=jobs)
    assert summary.ok, summary.table()
    assert [r.schema for r in summary.results] == tables  # the table list's order
    assert [r.rows for r in summary.results] == [250, 250]
    return timed.span(CUSTOMERS), timed.span(PRODUCTS)


def test_two_tables_overlap_with_jobs_2(connector, emulator, tmp_path):
    (a_start, a_end), (b_start, b_end) = run_two(connector, emulator, tmp_path, 2)
    assert max(a_start, b_start) < min(a_end, b_end)  # both in flight at one moment


def test_jobs_1_runs_the_tables_one_after_another(connector, emulator, tmp_path):
    (a_start, a_end), (b_start, b_end) = run_two(connector, emulator, tmp_path, 1)
    assert a_end <= b_start  # customers finished before products began


def test_a_401_on_one_table_stops_the_run_and_no_table_starts_after_it(
    connector, emulator, tmp_path
):
    conn, emu = connector("stripe"), emulator("stripe", rows=250)
    timed = Timed(emu)
    running, rejected = threading.Event(), threading.Event()

    def refuse(query):  # once products is running, so it started before the refusal
        running.wait(10)
        rejected.set()
        return emu.error(401, "Invalid API Key provided: sk_test_********")

    def slow_first_page(query):  # still running when customers is refused
        if "starting_after" not in query:
            running.set()
            rejected.wait(10)
            time.sleep(0.5)

    timed.before[CUSTOMERS] = refuse
    timed.before[PRODUCTS] = slow_first_page
    paths = (CUSTOMERS, PRODUCTS, PRICES, INVOICES)
    tables = [conn.table_at(p) for p in paths]
    argv, env = cli_command(conn, emu, tables, tmp_path / "wh")
    done = subprocess.run(
        [*argv, "--jobs", "2"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    # progress lines of tables that finished, then the one line a refusal prints today
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("gen-source:")]
    assert len(lines) == 1 and done.stderr.rstrip().endswith(lines[0]), done.stderr
    assert "rejected the credential on customers" in lines[0], lines[0]
    assert "HTTP 401" in lines[0] and "the run stopped" in lines[0]
    assert done.stdout == ""  # no summary table, as without --jobs
    refused_at = timed.span(CUSTOMERS)[1]
    starts = {p: timed.first_start(p) for p in paths}
    assert starts[PRICES] is None and starts[INVOICES] is None, starts
    assert all(s is None or s <= refused_at for s in starts.values()), starts
    # the table already running when the credential was refused ran to its end
    assert len(table_rows(tmp_path / "wh", conn, tables[1])) == 250


def test_an_interrupted_parallel_run_resumes_each_table_where_it_stopped(
    connector, emulator, tmp_path
):
    conn, emu = connector("stripe"), emulator("stripe", rows=250)
    timed = Timed(emu)
    rendezvous(timed, (CUSTOMERS, PRODUCTS))
    tables = [conn.table_at(CUSTOMERS), conn.table_at(PRODUCTS)]
    try:  # every table dies right after its second commit (pages 1-2 are in)
        sync(
            conn,
            emu,
            tables,
            tmp_path,
            batch_rows=1,
            progress=CrashAfterCommit(2),
            jobs=2,
        )
    except Crash:
        pass
    else:
        raise AssertionError("the parallel run finished before its crash")
    (a_start, a_end), (b_start, b_end) = timed.span(CUSTOMERS), timed.span(PRODUCTS)
    assert max(a_start, b_start) < min(a_end, b_end)  # they were interrupted together
    before = len(emu.requests)
    summary = sync(conn, emu, tables, tmp_path, batch_rows=1, jobs=2)
    assert summary.ok, summary.table()
    assert [r.resumed_from_page for r in summary.results] == [3, 3]
    again = emu.requests[before:]
    for path, table in zip((CUSTOMERS, PRODUCTS), tables, strict=True):
        first = next(r for r in again if r.path == path)
        assert "starting_after" in first.query  # not the first page again
        ids = [r["id"] for r in table_rows(tmp_path, conn, table)]
        expected = [r["id"] for r in emu.store[path.rsplit("/", 1)[1]]]
        assert_exactly_once(ids, expected, table)


def _cli(argv, env):
    return subprocess.run(
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_jobs_below_1_and_jobs_with_temporal_are_refused_in_one_line(
    connector, emulator, tmp_path
):
    conn, emu = connector("stripe"), emulator("stripe", rows=5)
    argv, env = cli_command(conn, emu, [conn.table_at(CUSTOMERS)], tmp_path / "wh")
    zero = _cli([*argv, "--jobs", "0"], env)
    assert zero.returncode != 0 and zero.stderr.count("\n") == 1, zero.stderr
    assert "--jobs" in zero.stderr and "1 or more" in zero.stderr
    temporal = _cli([*argv, "--jobs", "2", "--temporal", "127.0.0.1:1"], env)
    assert temporal.returncode != 0 and temporal.stderr.count("\n") == 1
    assert "--jobs" in temporal.stderr and "--temporal" in temporal.stderr
    refused = _cli([*argv, "--concurrency", "0"], env)
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1
    assert "--concurrency" in refused.stderr and "1 or more" in refused.stderr
    assert emu.requests == [] and not (tmp_path / "wh" / conn.name).exists()
