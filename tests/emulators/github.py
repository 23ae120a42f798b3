"""GitHub REST emulator: page-numbered root arrays with an RFC 8288 `Link` header.

Documented rules it follows (https://docs.github.com/rest/using-the-rest-api/
using-pagination-in-the-rest-api and the operations in api.github.com.json):
- `per_page` "Results per page (max 100)", default 30; `page` is 1-based, default 1.
- The `Link` header carries `next`, `last`, `prev`, `first` as absolute URLs; it is
  omitted when everything fits in one page; `next`/`last` are absent on the last page,
  `prev`/`first` on the first.
- issues: `state` default `open`; `sort` created|updated|comments, default created;
  `direction` default desc; `since` "Only show results that were last updated after
  the given time" (ISO 8601). "GitHub's REST API considers every pull request an issue":
  some issues carry a `pull_request` key.
- pulls: `state` default open; `direction` "Default: desc when sort is created or sort
  is not specified, otherwise asc".
- commits: `since` / `until` bound the commit date; newest first; primary key `sha`.
- reviews: "The list of reviews returns in chronological order".
- stargazers: `Accept: application/vnd.github.star+json` adds `starred_at`.
- actions runs/jobs: `{total_count, workflow_runs|jobs}`; runs take `created` in the
  search date syntax (`>=2024-01-01`, `2024-01-01..2024-02-01`).
- Auth: `Authorization: Bearer <token>` or `token <token>`; a wrong token gets
  401 `{"message": "Bad credentials"}`.
"""

from __future__ import annotations

import math
from typing import Any

from .base import Request, Response, dig
from .github_rows import GitHubRows, parse_iso

DOCS = "https://docs.github.com/rest"


class GitHubEmulator(GitHubRows):
    name = "github"
    default_api_key = "ghp_emulator_token"

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "token": self.api_key,
            "owner": self.owner,
            "repo": self.repo,
            "org": self.org,
        }

    # ----- vendor shapes ------------------------------------------------------------
    def error(self, status: int, message: str, **extra: Any) -> Response:
        return Response(
            status, {"message": message, "documentation_url": DOCS, **extra}
        )

    def check_auth(self, req: Request) -> Response | None:
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            return self.error(401, "Requires authentication")
        if token.strip() != self.api_key:
            return self.error(401, "Bad credentials")
        return None

    # ----- routing ------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        p = req.path.strip("/").split("/")
        repo = ["repos", self.owner, self.repo]
        if req.method == "GET" and p[:3] == repo and len(p) >= 4:
            rest = p[3:]
            if rest in (
                ["issues"],
                ["pulls"],
                ["commits"],
                ["stargazers"],
                ["releases"],
            ):
                return getattr(self, f"_list_{rest[0]}")(req)
            if rest == ["actions", "runs"]:
                return self._page(req, self._runs(req), "workflow_runs")
            if (
                len(rest) == 3
                and rest[0] == "pulls"
                and rest[2] == "reviews"
                and self._has("pulls", "number", rest[1])
            ):
                rows = sorted(
                    self.children("pulls/reviews", rest[1]),
                    key=lambda r: (r["submitted_at"], r["id"]),
                )
                return self._page(req, rows)
            if (
                len(rest) == 4
                and rest[:2] == ["actions", "runs"]
                and rest[3] == "jobs"
                and self._has("actions/runs", "id", rest[2])
            ):
                rows = sorted(
                    self.children("actions/runs/jobs", rest[2]), key=lambda r: r["id"]
                )
                return self._page(req, rows, "jobs")
        if req.method == "GET" and p[:3] == ["orgs", self.org, "teams"]:
            if len(p) == 3:
                return self._page(
                    req, sorted(self.store["teams"], key=lambda r: r["id"])
                )
            if len(p) == 5 and p[4] == "members" and self._has("teams", "slug", p[3]):
                return self._page(
                    req,
                    sorted(self.children("teams/members", p[3]), key=lambda r: r["id"]),
                )
        return self.error(404, "Not Found")

    def _has(self, key: str, field: str, value: str) -> bool:
        return any(str(dig(r, field)) == value for r in self.store[key])

    def _invalid(self, field: str, value: str) -> Response:
        return self.error(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "Search",
                    "field": field,
                    "code": "invalid",
                    "value": value,
                }
            ],
        )

    def _state_sort(
        self, req: Request, rows: list[dict], sorts: dict[str, str]
    ) -> list[dict] | Response:
        state = req.query.get("state", "open")
        if state not in ("open", "closed", "all"):
            return self._invalid("state", state)
        rows = [r for r in rows if state == "all" or r["state"] == state]
        sort = req.query.get("sort", "created")
        if sort not in sorts:
            return self._invalid("sort", sort)
        return self._ordered(req, rows, sorts[sort], sort)

    def _ordered(
        self, req: Request, rows: list[dict], field: str, sort: str
    ) -> list[dict] | Response:
        default = "desc" if sort == "created" or req.path.endswith("/issues") else "asc"
        direction = req.query.get("direction", default)
        if direction not in ("asc", "desc"):
            return self._invalid("direction", direction)
        return sorted(
            rows, key=lambda r: (dig(r, field), r["id"]), reverse=direction == "desc"
        )

    def _list_issues(self, req: Request) -> Response:
        rows = self.store["issues"]
        if "since" in req.query:
            try:
                since = parse_iso(req.query["since"])
            except ValueError:
                return self._invalid("since", req.query["since"])
            rows = [r for r in rows if parse_iso(r["updated_at"]) >= since]
        sorts = {
            "created": "created_at",
            "updated": "updated_at",
            "comments": "comments",
        }
        return self._page(req, self._state_sort(req, rows, sorts))

    def _list_pulls(self, req: Request) -> Response:
        sorts = {
            "created": "created_at",
            "updated": "updated_at",
            "popularity": "id",
            "long-running": "created_at",
        }
        return self._page(req, self._state_sort(req, self.store["pulls"], sorts))

    def _list_commits(self, req: Request) -> Response:
        rows = self.store["commits"]
        for name, keep in (
            ("since", lambda t, b: t >= b),
            ("until", lambda t, b: t <= b),
        ):
            if name in req.query:
                try:
                    bound = parse_iso(req.query[name])
                except ValueError:
                    return self._invalid(name, req.query[name])
                rows = [
                    r
                    for r in rows
                    if keep(parse_iso(r["commit"]["committer"]["date"]), bound)
                ]
        rows = sorted(
            rows,
            key=lambda r: (r["commit"]["committer"]["date"], r["sha"]),
            reverse=True,
        )
        return self._page(req, rows)

    def _list_stargazers(self, req: Request) -> Response:
        rows = sorted(
            self.store["stargazers"], key=lambda r: (r["starred_at"], r["user"]["id"])
        )
        if "application/vnd.github.star+json" not in req.headers.get("accept", ""):
            rows = [r["user"] for r in rows]
        return self._page(req, rows)

    def _list_releases(self, req: Request) -> Response:
        return self._page(
            req,
            sorted(
                self.store["releases"],
                key=lambda r: (r["created_at"], r["id"]),
                reverse=True,
            ),
        )

    def _runs(self, req: Request) -> list[dict] | Response:
        rows = self.store["actions/runs"]
        if "created" in req.query:
            try:
                low, high = _date_range(req.query["created"])
            except ValueError:
                return self._invalid("created", req.query["created"])
            rows = [r for r in rows if low <= parse_iso(r["created_at"]) <= high]
        return sorted(rows, key=lambda r: (r["created_at"], r["id"]), reverse=True)

    # ----- pagination -----------------------------------------------------------------
    def _page(
        self, req: Request, rows: list[dict] | Response, wrap: str | None = None
    ) -> Response:
        if isinstance(rows, Response):
            return rows
        per_page = min(_int(req.query.get("per_page"), 30), 100)
        per_page = per_page if per_page >= 1 else 30
        page = max(_int(req.query.get("page"), 1), 1)
        last = max(1, math.ceil(len(rows) / per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        links = []
        if page < last:
            links += [(page + 1, "next"), (last, "last")]
        if page > 1:
            links += [(min(page - 1, last), "prev"), (1, "first")]
        headers = {}
        if links:
            headers["Link"] = ", ".join(
                f'<{req.url(page=n)}>; rel="{rel}"' for n, rel in links
            )
        body: Any = {"total_count": len(rows), wrap: chunk} if wrap else chunk
        return Response(200, body, headers)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _date_range(expr: str) -> tuple[float, float]:
    """GitHub search date syntax: `>=D`, `>D`, `<=D`, `<D`, `D..E`, `D..*`, `*..E`, `D`."""
    expr = expr.strip()
    day = 86_400.0

    def point(text: str, end: bool) -> float:
        if text == "*":
            return float("inf") if end else float("-inf")
        t = parse_iso(text)
        return t + day - 1 if end and len(text) == 10 else t

    for op in (">=", "<=", ">", "<"):
        if expr.startswith(op):
            text = expr[len(op) :]
            if op == ">=":
                return point(text, False), float("inf")
            if op == ">":
                return point(text, True) + 1, float("inf")
            if op == "<=":
                return float("-inf"), point(text, True)
            return float("-inf"), point(text, False) - 1
    if ".." in expr:
        a, b = expr.split("..", 1)
        return point(a, False), point(b, True)
    return point(expr, False), point(expr, True)
