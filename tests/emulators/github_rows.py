"""GitHub rows: shaped like the examples in api.github.com.json `components/examples`
(only ids, numbers, states and times are replaced), and the repository, org, teams,
pulls and runs their fan-out children hang from."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from .base import Emulator, ResourceDef
from .fixtures import github_example

API = "https://api.github.com"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    text = value.strip().replace(" ", "+")  # a raw '+' in a query string decodes to ' '
    if len(text) == 10:
        text += "T00:00:00Z"
    dt = datetime.fromisoformat(text)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _first(example: str) -> dict:
    value = github_example(example)
    if isinstance(value, dict):  # {total_count, workflow_runs: [...]}
        value = next(v for v in value.values() if isinstance(v, list))
    return value[0]


def _sha(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(40))


class GitHubRows(Emulator):
    """The data half of the GitHub emulator (the API half is `github.GitHubEmulator`)."""

    owner, repo, org = "octocat", "Hello-World", "octo-org"

    def fmt_time(self, epoch: int) -> str:
        return iso(epoch)

    def parse_time(self, value: Any) -> float:
        return parse_iso(value)

    # ----- data ---------------------------------------------------------------------
    def resource_defs(self) -> list[ResourceDef]:
        small = max(1, min(self.rows, 12))
        table = [  # key, make, id field, created field, updated field, extras
            ("issues", self._issue, "id", "created_at", "updated_at", {}),
            ("pulls", self._pull, "id", "created_at", "updated_at", {"path_field": "number"}),
            ("pulls/reviews", self._review, "id", "submitted_at", None, {"parent": "pulls"}),
            ("commits", self._commit, "sha", "commit.committer.date", None, {}),
            ("stargazers", self._star, "user.id", "starred_at", None, {}),
            ("releases", self._release, "id", "created_at", None, {}),
            ("actions/runs", self._run, "id", "created_at", "updated_at", {}),
            ("actions/runs/jobs", self._job, "id", "started_at", None,
             {"parent": "actions/runs", "per_parent": (1, 3)}),
            ("teams", self._team, "id", None, None, {"count": small, "path_field": "slug"}),
            ("teams/members", self._member, "id", None, None,
             {"parent": "teams", "per_parent": (1, 4)}),
        ]  # fmt: skip
        return [
            ResourceDef(key, make, id_field, created, updated, mutate=_retitle, **extra)
            if key in ("issues", "pulls")
            else ResourceDef(key, make, id_field, created, updated, **extra)
            for key, make, id_field, created, updated, extra in table
        ]

    def _repo_url(self) -> str:
        return f"{API}/repos/{self.owner}/{self.repo}"

    def _issue(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = _first("issue-items")
        closed = rng.random() < 0.25
        row.update(
            id=1_000_000 + i,
            number=i + 1,
            title=f"Issue {i + 1}",
            state="closed" if closed else "open",
            created_at=iso(at),
            updated_at=iso(at + rng.randrange(1800)),
            closed_at=iso(at + 1800) if closed else None,
            url=f"{self._repo_url()}/issues/{i + 1}",
        )
        if i % 6 == 5:
            row["pull_request"] = {"url": f"{self._repo_url()}/pulls/{i + 1}"}
        else:
            row.pop("pull_request", None)
        return row

    def _pull(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = _first("pull-request-simple-items")
        closed = rng.random() < 0.3
        number = 5000 + i
        row.update(
            id=2_000_000 + i,
            number=number,
            title=f"Pull {number}",
            state="closed" if closed else "open",
            created_at=iso(at),
            updated_at=iso(at + rng.randrange(1800)),
            closed_at=iso(at + 1800) if closed else None,
            merged_at=None,
            url=f"{self._repo_url()}/pulls/{number}",
        )
        return row

    def _review(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = _first("pull-request-review-items")
        row.update(
            id=3_000_000 + i,
            submitted_at=iso(at),
            pull_request_url=f"{self._repo_url()}/pulls/{parent}",
        )
        return row

    def _commit(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = _first("commit-items")
        sha = _sha(rng)
        row.update(sha=sha, url=f"{self._repo_url()}/commits/{sha}")
        row["commit"]["author"]["date"] = row["commit"]["committer"]["date"] = iso(at)
        row["commit"]["message"] = f"Commit {i}"
        return row

    def _user(self, i: int) -> dict:
        user = _first("simple-user-items")
        user.update(id=4_000_000 + i, login=f"user{i}", url=f"{API}/users/user{i}")
        return user

    def _member(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        return self._user(i)

    def _star(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        return {"starred_at": iso(at), "user": self._user(i)}

    def _release(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = _first("release-items")
        row.update(
            id=5_000_000 + i,
            tag_name=f"v1.{i}.0",
            name=f"v1.{i}.0",
            created_at=iso(at),
            published_at=iso(at + 60),
            url=f"{self._repo_url()}/releases/{5_000_000 + i}",
        )
        return row

    def _run(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = _first("workflow-run-paginated")
        run_id = 6_000_000 + i
        row.update(
            id=run_id,
            run_number=i + 1,
            created_at=iso(at),
            updated_at=iso(at + 300),
            head_sha=_sha(rng),
            url=f"{self._repo_url()}/actions/runs/{run_id}",
        )
        return row

    def _job(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = _first("job-paginated")
        row.update(
            id=7_000_000 + i,
            run_id=int(parent or 0),
            started_at=iso(at),
            completed_at=iso(at + 120),
            run_url=f"{self._repo_url()}/actions/runs/{parent}",
        )
        return row

    def _team(self, i: int, at: int, rng: random.Random, parent: str | None) -> dict:
        row = _first("team-items")
        row.update(
            id=8_000_000 + i,
            name=f"Team {i}",
            slug=f"team-{i}",
            url=f"{API}/teams/{8_000_000 + i}",
        )
        return row


def _retitle(row: dict, stamp: int) -> None:
    row["title"] = f"{row['title'].split(' (edited')[0]} (edited {stamp})"
