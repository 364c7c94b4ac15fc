"""A local Massive server for the real `massive` client: REST and WebSocket on one aiohttp app.

REST answers the shared fixture shapes (`../shared/fixtures/massive/`), follows the client's
pagination (`next_url`, of which the client keeps only path and query), and fails on request:
`fail(path_prefix, status, times)` (429/5xx/403...), `stall(path_prefix, seconds, times)`.
The WebSocket (`/options`, `/stocks`, `/indices`) speaks the real protocol: `connected`
status, `auth` (checked against `api_key`), one `success` status per subscribed param, then the
frames the test pushes with `send(market, [...])`. `abort(market)` kills the TCP connection
(the client reconnects by itself), `close(market)` closes cleanly with 1000 (it does not).

Use inside a running event loop: `fake = await FakeMassive().start()`; `fake.rest_url`,
`fake.ws_host`; `await fake.stop()`.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "massive"
PAGE2_CURSOR = "YXA9JTdCJTIySUQlMjIlM0ElMjIy"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def status_frame(status: str, message: str) -> list[dict[str, str]]:
    return [{"ev": "status", "status": status, "message": message}]


@dataclass
class Connection:
    market: str
    ws: web.WebSocketResponse
    authed_with: str | None = None
    subscribed: list[str] = field(default_factory=list)
    outbox: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)


class FakeMassive:
    def __init__(self, api_key: str = "test-key") -> None:
        self.api_key = api_key
        self.requests: list[web.Request] = []
        self.snapshot_pages: dict[str, list[list[dict[str, Any]]]] = {}
        self.connections: list[Connection] = []
        self.subscribed_event: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._fail: list[tuple[str, int, list[int]]] = []
        self._stall: list[tuple[str, float, list[int]]] = []
        self.answers: Counter[int] = Counter()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> FakeMassive:
        app = web.Application()
        app.router.add_get("/options", self._socket)
        app.router.add_get("/stocks", self._socket)
        app.router.add_get("/indices", self._socket)
        app.router.add_get("/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for conn in self.connections:
            if not conn.ws.closed:
                await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- failure knobs ---------------------------------------------------------------------

    def fail(self, prefix: str, status: int, times: int = 1) -> None:
        self._fail.append((prefix, status, [times]))

    def stall(self, prefix: str, seconds: float, times: int = 1) -> None:
        self._stall.append((prefix, seconds, [times]))

    @staticmethod
    def _take(rules: list[Any], path: str) -> Any:
        for prefix, value, left in rules:
            if left[0] > 0 and path.startswith(prefix):
                left[0] -= 1
                return value
        return None

    # -- REST ------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        path = request.path
        status = self._take(self._fail, path)
        if status is not None:
            self.answers[status] += 1
            body = {"status": "ERROR", "request_id": "fake", "error": f"fake {status}"}
            return web.json_response(body, status=status)
        delay = self._take(self._stall, path)
        if delay is not None:
            await asyncio.sleep(delay)
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"status": "ERROR", "error": "unknown API Key"}, status=401)
        payload = self._payload(path, request.query)
        if payload is None:
            return web.json_response({"status": "NOT_FOUND", "message": "Not found"}, status=404)
        self.answers[200] += 1
        return web.json_response(payload)

    def _payload(self, path: str, query: Any) -> Any:
        if path == "/v3/reference/options/contracts":
            return fixture("GET_v3_reference_options_contracts_cursor_page2.json"
                           if query.get("cursor") == PAGE2_CURSOR
                           else "GET_v3_reference_options_contracts.json")
        if path.startswith("/v3/snapshot/options/"):
            underlying = path.rsplit("/", 1)[1]
            pages = self.snapshot_pages.get(underlying)
            if pages is None:
                return fixture("GET_v3_snapshot_options_UNDERLYING.json")
            page = int(query.get("cursor", "0"))
            body: dict[str, Any] = {"status": "OK", "request_id": f"p{page}",
                                    "results": pages[page]}
            if page + 1 < len(pages):  # an absolute URL, as the real API sends
                body["next_url"] = (f"https://api.massive.com/v3/snapshot/options/{underlying}"
                                    f"?cursor={page + 1}")
            return body
        if path.startswith("/v2/aggs/ticker/O:"):
            return fixture("GET_v2_aggs_ticker_OPTIONSTICKER_range_spec.json")
        if path.startswith("/v2/aggs/ticker/"):
            return fixture("GET_v2_aggs_ticker_TICKER_range_1_day_FROM_TO.json")
        if path == "/v1/marketstatus/now":
            return fixture("GET_v1_marketstatus_now.json")
        return None

    # -- WebSocket -------------------------------------------------------------------------

    async def send(self, market: str, frames: list[dict[str, Any]]) -> None:
        """Send one JSON array of messages on the newest connection of `market`."""
        conn = self.latest(market)
        await conn.ws.send_str(json.dumps(frames))

    def latest(self, market: str) -> Connection:
        return [c for c in self.connections if c.market == market][-1]

    def count(self, market: str) -> int:
        return sum(1 for c in self.connections if c.market == market)

    def abort(self, market: str) -> None:
        """Drop the TCP connection without a close frame (a network failure)."""
        transport = self.latest(market).ws._req.transport  # type: ignore[union-attr]
        assert transport is not None
        transport.abort()

    async def close(self, market: str, code: int = 1000) -> None:
        await self.latest(market).ws.close(code=code)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        market = request.path.strip("/")
        conn = Connection(market, ws)
        self.connections.append(conn)
        await ws.send_str(json.dumps(status_frame("connected", "Connected Successfully")))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            if data.get("action") == "auth":
                conn.authed_with = data.get("params")
                if conn.authed_with != self.api_key:
                    await ws.send_str(json.dumps(status_frame("auth_failed", "authentication "
                                                              "failed")))
                    await ws.close()
                    break
                await ws.send_str(json.dumps(status_frame("auth_success", "authenticated")))
            elif data.get("action") == "subscribe":
                params = [p for p in data.get("params", "").split(",") if p]
                conn.subscribed.extend(params)
                await ws.send_str(json.dumps(
                    [status_frame("success", f"subscribed to: {p}")[0] for p in params]))
                self.subscribed_event[market].set()
        return ws
