"""A local Massive REST server for the real `massive` client: the shared fixture payloads, the
documented splits/dividends shapes, and scripted failures (403 NOT_AUTHORIZED, 5xx, stalls)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "massive"

SPLITS = {
    "status": "OK", "request_id": "fake-splits",
    "results": [
        {"id": "E36416cce743c3964c5da63e1ef1626c0aece30fb47302eea5a49c0055c04e8d0",
         "ticker": "AAPL", "execution_date": "2020-08-31", "split_from": 1, "split_to": 4,
         "adjustment_type": "forward_split", "historical_adjustment_factor": 0.25},
        {"id": "E90a77bdf742661741ed7c8fc086415f0457c2816c45899d73aaa88bdc8ff6025",
         "ticker": "AAPL", "execution_date": "2014-06-09", "split_from": 1, "split_to": 7,
         "adjustment_type": "forward_split", "historical_adjustment_factor": 0.0357143},
    ],
}
DIVIDENDS = {
    "status": "OK", "request_id": "fake-dividends",
    "results": [
        {"id": "Ed4f1ba0ef1d1c2b1f0b9b34a0d0e4d1a", "ticker": "AAPL", "cash_amount": 0.26,
         "currency": "USD", "declaration_date": "2025-07-31", "ex_dividend_date": "2025-08-11",
         "pay_date": "2025-08-14", "record_date": "2025-08-11", "frequency": 4,
         "distribution_type": "recurring", "historical_adjustment_factor": 0.998809,
         "split_adjusted_cash_amount": 0.26},
    ],
}
NOT_AUTHORIZED = {
    "status": "NOT_AUTHORIZED", "request_id": "fake-403",
    "message": "You are not entitled to this data. Please upgrade your plan at "
               "https://massive.com/pricing",
}


class FakeMassiveRest:
    def __init__(self) -> None:
        self.refuse: set[str] = set()  # path prefixes answered with 403 NOT_AUTHORIZED
        self.server_errors: Counter[str] = Counter()  # path prefix → 5xx answers left
        self.stall: Counter[str] = Counter()  # path prefix → stalled answers left
        self.stall_seconds = 2.0
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeMassiveRest:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def take(self, counter: Counter[str], path: str) -> bool:
        with self._lock:
            for prefix, left in counter.items():
                if left > 0 and path.startswith(prefix):
                    counter[prefix] -= 1
                    return True
        return False


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _for_ticker(payload: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
    """Only the rows of `?ticker=` when given, as the real endpoint filters."""
    wanted = query.get("ticker")
    if not wanted:
        return payload
    return {**payload, "results": [r for r in payload["results"] if r["ticker"] in wanted]}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeMassiveRest
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.owner
        url = urlparse(self.path)
        path, query = url.path, parse_qs(url.query)
        with fake._lock:
            fake.requests.append(self.path)
        if any(path.startswith(p) for p in fake.refuse):
            return self._json(403, NOT_AUTHORIZED)
        if fake.take(fake.server_errors, path):
            return self._json(502, {"status": "ERROR", "error": "bad gateway"})
        if fake.take(fake.stall, path):
            time.sleep(fake.stall_seconds)
        if path == "/v3/reference/options/contracts":
            page = ("GET_v3_reference_options_contracts_cursor_page2.json" if "cursor" in query
                    else "GET_v3_reference_options_contracts.json")
            return self._json(200, _fixture(page))
        if path.startswith("/v3/snapshot/options/"):
            return self._json(200, _fixture("GET_v3_snapshot_options_UNDERLYING.json"))
        if path == "/stocks/v1/splits":
            return self._json(200, _for_ticker(SPLITS, query))
        if path == "/stocks/v1/dividends":
            return self._json(200, _for_ticker(DIVIDENDS, query))
        return self._json(404, {"status": "NOT_FOUND", "request_id": "fake-404",
                                "message": "Not found"})

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)
