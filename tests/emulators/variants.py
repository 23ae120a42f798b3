"""Emulator variants that behave unlike their vendor's spec, on purpose.

The emulators in this package follow the vendors' documentation; these subclasses break
one documented rule each, the way real APIs drift from their specs, so `gen-source
verify` can be shown to catch it. Never use them to test a connector's normal behaviour.
"""

from __future__ import annotations

from dataclasses import replace

from .base import Request, Response
from .github import GitHubEmulator
from .stripe import StripeEmulator


def _without(req: Request, drop) -> Request:
    """`req` with the query parameters `drop(name)` selects removed."""
    pairs = [(k, v) for k, v in req.pairs if not drop(k)]
    return replace(req, pairs=pairs, query=dict(pairs))


class StripeIgnoringCreatedFilter(StripeEmulator):
    """Lists ignore `created[gt|gte|lt|lte]` (the spec: a filter on creation time)."""

    def _list(
        self, req: Request, template: str, key: str | None, rows: list
    ) -> Response:
        return super()._list(
            _without(req, lambda k: k.startswith("created")), template, key, rows
        )


class StripeWithUndeclaredFields(StripeEmulator):
    """Customers carry `loyalty_tier` and `risk_score`; the spec declares neither."""

    def _list(
        self, req: Request, template: str, key: str | None, rows: list
    ) -> Response:
        resp = super()._list(req, template, key, rows)
        if key == "customers" and resp.status == 200:
            body = dict(resp.body)
            extra = {"loyalty_tier": "gold", "risk_score": 12}
            body["data"] = [{**row, **extra} for row in body["data"]]
            resp = Response(resp.status, body, resp.headers)
        return resp


class GitHubIgnoringDirection(GitHubEmulator):
    """Issues ignore `direction`: always newest first (the spec lets clients choose)."""

    def _list_issues(self, req: Request) -> Response:
        return super()._list_issues(_without(req, lambda k: k == "direction"))


class GitHubIgnoringPage(GitHubEmulator):
    """Issues ignore `page`: every request gets the first page, linking to page 2."""

    def _list_issues(self, req: Request) -> Response:
        return super()._list_issues(_without(req, lambda k: k == "page"))


class GitHubRepeatingIssueIds(GitHubEmulator):
    """Issue `id`s are only unique within a page (they repeat on the next one); every
    issue also carries a `uuid` that the spec does not declare."""

    def _list_issues(self, req: Request) -> Response:
        resp = super()._list_issues(req)
        if resp.status != 200:
            return resp
        rows = [
            {**r, "id": r["number"] % 100, "uuid": f"issue-{r['number']}"}
            for r in resp.body
        ]
        return Response(resp.status, rows, resp.headers)
