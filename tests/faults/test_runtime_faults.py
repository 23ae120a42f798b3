"""A real generated Stripe connector against the Stripe emulator's fault plan, through
`runtime.sync.run_schema` (in process, retry waits recorded instead of slept) and through
`gen-source sync` (subprocess).

Recoverable faults (429 with and without Retry-After, 5xx bursts, slow answers, timeouts,
resets mid-body, truncated JSON) end in a complete table. Faults that outlast the retries,
a page of the wrong shape and a repeated cursor end in one clear error naming the endpoint
and the page; then the table holds exactly the committed pages, the resume position and the
incremental watermark stop at them, and the next run resumes there and completes with every
row once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from deltalake import DeltaTable

from runtime.source.connector import RestSource, load_connector
from runtime.state.store import RESUME_KIND, StateStore
from runtime.sync import run_schema

from .clitools import cli_env, run_cli
from .conftest import connector_config, write_config

SCHEMA = "customers"
PAGE = 100


class Run:
    """One connector + one emulator + one warehouse: run the schema, read what it left."""

    def __init__(
        self, folder: Path, emu, tmp: Path, monkeypatch, *, timeout: float = 5.0
    ) -> None:
        self.emu, self.tmp = emu, tmp
        self.package = load_connector(folder)
        self.source_cls = next(
            v
            for v in vars(self.package.source).values()
            if isinstance(v, type) and issubclass(v, RestSource) and v is not RestSource
        )
        self.config = connector_config(folder, emu.api_key, emu.base_url)
        self.waits: list[float] = []
        transport = getattr(self.package, folder.name)
        real = transport.make_client

        def quick_client(*args, **kwargs):
            """The generated client with a short timeout and recorded (not slept) waits."""
            kwargs.update(timeout=timeout, backoff=0.01, sleep=self.waits.append)
            return real(*args, **kwargs)

        monkeypatch.setattr(transport, "make_client", quick_client)
        self.dest = tmp / "warehouse"
        self.state = tmp / "state.db"

    def sync(self, batch_rows: int = PAGE):
        with StateStore(self.state) as store:
            return run_schema(
                self.source_cls(allow_private_hosts=True),
                dict(self.config),
                SCHEMA,
                dest=str(self.dest),
                source_name="stripe",
                store=store,
                batch_rows=batch_rows,
            )

    @property
    def table_uri(self) -> str:
        return str(self.dest / "stripe" / SCHEMA)

    def table(self) -> list[tuple[str, int]]:
        if not DeltaTable.is_deltatable(self.table_uri):
            return []
        t = DeltaTable(self.table_uri).to_pyarrow_table(columns=["id", "created"])
        created = [
            int(c.timestamp()) for c in t.column("created").to_pylist()
        ]  # epoch s
        return list(zip(t.column("id").to_pylist(), created, strict=True))

    def listing(self) -> list[str]:
        """The emulator's customers in the order it lists them (newest first)."""
        rows = sorted(
            self.emu.store[SCHEMA], key=lambda r: (r["created"], r["id"]), reverse=True
        )
        return [r["id"] for r in rows]

    def resume_state(self):
        with StateStore(self.state) as store:
            return store.get("stripe", SCHEMA, RESUME_KIND), store.get_watermark(
                "stripe", SCHEMA
            )


def assert_exactly(run: Run, expected_ids: list[str]) -> None:
    """The table holds these rows once each, and the watermark covers only them."""
    rows = run.table()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "duplicated rows"
    assert set(ids) == set(expected_ids), (
        f"{len(set(expected_ids) - set(ids))} rows lost, {len(set(ids) - set(expected_ids))} unexpected"
    )
    _, mark = run.resume_state()
    if rows:
        created = [r[1] for r in rows]
        # Newest-first listing: the backfill's lower edge is the oldest committed row, and
        # nothing newer than what is in the table is remembered.
        assert mark.earliest == min(created)
        for value in (mark.last, mark.pending_last):
            assert value is None or value <= max(created)


def requests_for(emu, start: int = 0) -> list:
    return [r for r in emu.requests[start:] if r.path == f"/v1/{SCHEMA}"]


RECOVERABLE = {
    "429 with Retry-After": dict(kind="429", count=4, retry_after=0.05),
    "429 without Retry-After": dict(kind="429", count=4),
    "500 burst": dict(kind="500", count=5),
    "slow, within the timeout": dict(kind="slow", count=2, delay=0.2),
    "timeouts": dict(kind="slow", count=2, delay=2.5),
    "reset mid-body": dict(kind="reset", count=3),
    "truncated JSON": dict(kind="truncated", count=3),
}


@pytest.mark.parametrize("case", sorted(RECOVERABLE))
def test_recoverable_faults_end_in_a_complete_table(
    case, stripe_connector, stripe_emulator, tmp_path, monkeypatch
):
    spec = dict(RECOVERABLE[case])
    # A short client timeout only where timeouts are the point: elsewhere a slow CI machine
    # must not add retries the assertions do not expect.
    # The emulator shares this process's GIL: 1 s leaves room for a stalled normal page.
    run = Run(
        stripe_connector,
        stripe_emulator,
        tmp_path,
        monkeypatch,
        timeout=1.0 if case == "timeouts" else 5.0,
    )
    fault = stripe_emulator.faults.inject(
        spec.pop("kind"), spec.pop("count"), after=2, path=f"/v1/{SCHEMA}", **spec
    )
    result = run.sync()
    assert fault.fired == fault.count
    assert result.rows == len(run.listing())
    assert_exactly(run, run.listing())
    if case == "429 with Retry-After":
        assert run.waits == [0.05] * 4  # what the server asked, not a guess
    elif fault.kind != "slow" or case == "timeouts":
        assert len(run.waits) == fault.count and all(w > 0 for w in run.waits)
    else:
        assert run.waits == []
    resume, mark = run.resume_state()
    assert resume is None and mark.backfill_complete


FATAL = {
    "429 storm beyond the retries": (
        dict(kind="429", count=12, retry_after=0),
        "HTTP 429 after 6 attempts",
    ),
    "500s beyond the retries": (
        dict(kind="500", count=12),
        "HTTP 500 after 6 attempts",
    ),
    "timeouts beyond the retries": (
        dict(kind="slow", count=12, delay=1.0),
        "ReadTimeout",
    ),
    "resets beyond the retries": (dict(kind="reset", count=12), "after 6 attempts"),
    "truncated JSON beyond the retries": (
        dict(kind="truncated", count=12),
        "not valid JSON after 6 attempts",
    ),
    "page of the wrong shape": (
        dict(kind="wrong_shape", count=1),
        "data selector 'data' not found",
    ),
    "repeated cursor": (dict(kind="repeat_cursor", count=1), "already returned"),
}


@pytest.mark.parametrize("case", sorted(FATAL))
def test_lasting_fault_stops_at_committed_pages_and_the_next_run_resumes(
    case, stripe_connector, stripe_emulator, tmp_path, monkeypatch
):
    spec, message = FATAL[case]
    spec = dict(spec)
    run = Run(
        stripe_connector,
        stripe_emulator,
        tmp_path,
        monkeypatch,
        timeout=0.3 if "timeouts" in case else 5.0,
    )
    listing = run.listing()
    stripe_emulator.faults.inject(
        spec.pop("kind"), spec.pop("count"), after=2, path=f"/v1/{SCHEMA}", **spec
    )
    with pytest.raises(Exception) as failure:
        run.sync()
    text = str(failure.value)
    assert len(text.splitlines()) == 1 and message in text
    # Names the endpoint and the page: the cursor after page 2.
    assert (
        f"GET {SCHEMA} " in text and f"starting_after={listing[2 * PAGE - 1]}" in text
    )
    assert_exactly(run, listing[: 2 * PAGE])  # pages 1-2 committed, nothing of page 3
    resume, _ = run.resume_state()
    assert resume["params"]["starting_after"] == listing[2 * PAGE - 1]

    stripe_emulator.faults.clear()
    seen = len(stripe_emulator.requests)
    run.sync()
    first = requests_for(stripe_emulator, seen)[0]
    assert (
        first.query.get("starting_after") == listing[2 * PAGE - 1]
    )  # resumed, not restarted
    assert_exactly(run, listing)
    _, mark = run.resume_state()
    assert mark.backfill_complete and mark.earliest == min(r[1] for r in run.table())


def test_a_failure_inside_a_batch_commits_none_of_it(
    stripe_connector, stripe_emulator, tmp_path, monkeypatch
):
    """Batches of two pages: page 3 is read but its batch never lands, so it is not in the
    table, the resume position stays after page 2, and the next run reads page 3 again."""
    run = Run(stripe_connector, stripe_emulator, tmp_path, monkeypatch)
    listing = run.listing()
    stripe_emulator.faults.inject("500", 12, after=3, path=f"/v1/{SCHEMA}")
    with pytest.raises(Exception, match="HTTP 500 after 6 attempts"):
        run.sync(batch_rows=2 * PAGE)
    assert_exactly(run, listing[: 2 * PAGE])
    assert run.resume_state()[0]["params"]["starting_after"] == listing[2 * PAGE - 1]
    stripe_emulator.faults.clear()
    seen = len(stripe_emulator.requests)
    run.sync(batch_rows=2 * PAGE)
    assert (
        requests_for(stripe_emulator, seen)[0].query.get("starting_after")
        == listing[2 * PAGE - 1]
    )
    assert_exactly(run, listing)


# ---- the same through `gen-source sync` ----------------------------------------------------


def cli_sync(connector: Path, emu, tmp: Path):
    config = write_config(
        tmp / "config.json", connector_config(connector, emu.api_key, emu.base_url)
    )
    return run_cli(
        [
            "sync",
            "stripe",
            "--schema",
            SCHEMA,
            "--out",
            str(connector.parent),
            "--config",
            str(config),
            "--allow-private-hosts",
            "--dest",
            str(tmp / "warehouse"),
        ],
        cwd=tmp,
        env=cli_env(),
        timeout=120,
    )


def test_cli_sync_rides_out_a_rate_limit_storm(
    stripe_connector, stripe_emulator, tmp_path
):
    fault = stripe_emulator.faults.inject("429", 5, after=1, retry_after=0.05)
    started = time.monotonic()
    run = cli_sync(stripe_connector, stripe_emulator, tmp_path)
    assert run.returncode == 0, run.stderr
    assert fault.fired == 5 and time.monotonic() - started < 60
    ids = DeltaTable(str(tmp_path / "warehouse" / "stripe" / SCHEMA)).to_pyarrow_table(
        columns=["id"]
    )
    assert sorted(ids.column("id").to_pylist()) == sorted(
        r["id"] for r in stripe_emulator.store[SCHEMA]
    )


def test_cli_sync_names_endpoint_and_page_when_retries_run_out(
    stripe_connector, stripe_emulator, tmp_path
):
    stripe_emulator.faults.inject("429", 12, after=1, retry_after=0)
    run = cli_sync(stripe_connector, stripe_emulator, tmp_path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    last = run.stderr.splitlines()[-1]
    assert last.startswith(f"gen-source: stripe/{SCHEMA}: HttpError: GET {SCHEMA} ")
    assert "starting_after=" in last and "HTTP 429 after 6 attempts" in last
