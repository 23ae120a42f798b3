"""A fast Stripe-style `GET /v1/customers` on loopback, for sync benchmarks.

    python bench/customers_server.py --rows 1000000 [--port 0]

`limit=100`, `starting_after=<last id>`, `has_more`, newest first, bearer key `sk_bench`.
Every page is serialised once at start-up, so serving a page is one dictionary lookup and
one socket write: the benchmark measures the client, not this server. Customers are
Stripe-shaped (address, shipping, metadata, invoice settings...), ~1.17 KB each as JSON.
Prints `listening on http://127.0.0.1:<port>` once ready; serves until killed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_bench"
PAGE = 100
NEWEST = 1_735_689_600  # 2025-01-01T00:00:00Z; each older customer 30 s earlier


def customer_id(i: int) -> str:
    return f"cus_Bn{i:012d}"


def customer(i: int) -> dict:
    """The i-th newest customer: every field a Stripe customer has, most of them filled."""
    city, state, postal = ("Springfield", "IL", f"6{i % 10000:04d}")
    address = {
        "city": city,
        "country": "US",
        "line1": f"{100 + i % 9000} Market Street",
        "line2": f"Suite {i % 500}",
        "postal_code": postal,
        "state": state,
    }
    return {
        "id": customer_id(i),
        "object": "customer",
        "address": address,
        "balance": -(i % 7) * 100,
        "created": NEWEST - 30 * i,
        "currency": "usd",
        "default_source": None,
        "delinquent": i % 13 == 0,
        "description": f"Customer {i} imported from the benchmark's CRM export",
        "discount": None,
        "email": f"customer{i}@example.com",
        "invoice_prefix": f"B{i % 0xFFFFFF:06X}",
        "invoice_settings": {
            "custom_fields": [{"name": "VAT", "value": f"US{i:09d}"}],
            "default_payment_method": f"pm_Bn{i:012d}",
            "footer": "Thank you for your business.",
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {
            "crm_id": f"crm-{i:08d}",
            "segment": ("smb", "mid-market", "enterprise")[i % 3],
            "signup_source": "web",
        },
        "name": f"Customer Number {i}",
        "next_invoice_sequence": 1 + i % 40,
        "phone": f"+1555{i % 10_000_000:07d}",
        "preferred_locales": ["en-US"],
        "shipping": {
            "address": address,
            "name": f"Customer Number {i}",
            "phone": f"+1555{i % 10_000_000:07d}",
        },
        "sources": {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/customers/{customer_id(i)}/sources",
        },
        "tax_exempt": "none",
        "test_clock": None,
    }


def build_pages(rows: int) -> tuple[list[bytes], dict[str, int]]:
    """Every page's body, and which page follows each page's last id."""
    pages: ClassVar[list[bytes]] = []
    after: ClassVar[dict[str, int]] = {}
    for start in range(0, rows, PAGE):
        stop = min(start + PAGE, rows)
        data = ",".join(
            json.dumps(customer(i), separators=(",", ":")) for i in range(start, stop)
        )
        has_more = "true" if stop < rows else "false"
        body = f'{{"object":"list","data":[{data}],"has_more":{has_more},"url":"/v1/customers"}}'
        pages.append(body.encode())
        after[customer_id(stop - 1)] = len(pages)
    if not pages:
        pages.append(
            b'{"object":"list","data":[],"has_more":false,"url":"/v1/customers"}'
        )
    return pages, after


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    pages: ClassVar[list[bytes]] = []
    after: ClassVar[dict[str, int]] = {}

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a log line per page would cost more than the page."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._error(401, "Invalid API Key provided")
        if url.path != "/v1/customers":
            return self._error(404, f"Unrecognized request URL (GET: {url.path})")
        query = dict(parse_qsl(url.query))
        if query.get("limit") != str(PAGE):
            return self._error(400, f"this server serves limit={PAGE} only")
        index = 0
        if "starting_after" in query:
            index = self.after.get(query["starting_after"], -1)
            if index < 0 or index >= len(self.pages):
                return self._error(
                    400, f"No such customer: '{query['starting_after']}'"
                )
        self._send(200, self.pages[index])

    def _error(self, status: int, message: str) -> None:
        body = json.dumps(
            {"error": {"message": message, "type": "invalid_request_error"}}
        )
        self._send(status, body.encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    Handler.pages, Handler.after = build_pages(args.rows)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    size = sum(map(len, Handler.pages)) / max(args.rows, 1)
    print(
        f"listening on http://127.0.0.1:{server.server_address[1]} "
        f"({args.rows} rows, {size:.0f} bytes per customer)",
        flush=True,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
