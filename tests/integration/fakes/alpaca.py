"""A local fake of Alpaca (trading REST, trade-updates stream, option data stream) for alpaca-py.

It keeps books like the real venue (orders by id and client order id, FILL activities,
positions, buying power), answers in the shapes of ../shared/fixtures/alpaca, and can be told
to misbehave: an HTTP status for the next N matching calls (429 with Retry-After, 5xx), a
stalled answer, a submit that is processed but whose answer is never delivered, a dropped or
refused trade-updates socket. Bound to 127.0.0.1 on an ephemeral port.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgpack
from aiohttp import WSMsgType, web

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "alpaca"
KEY, SECRET = "fake-key", "fake-secret"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    kind: str  # "status" | "stall" | "lose_response"
    times: int = 1
    status: int = 500
    retry_after: float | None = None


@dataclass
class FakeAlpaca:
    options_buying_power: float = 50_000.0
    fill_on_submit: bool = True
    fill_price: float | None = None  # None: fill at the limit (market orders at 1.00)
    stall_seconds: float = 30.0
    accept_streams: bool = True
    activity_ids_match: bool = True  # False: a FILL activity's id names no execution id
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    activities: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[str, tuple[int, float]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    submitted_bodies: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    streams: list[web.WebSocketResponse] = field(default_factory=list)
    stream_connections: int = 0
    stream_refusals: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._released = asyncio.Event()
        self._exec_seq = itertools.count(1)

    # -- control --------------------------------------------------------------------------
    async def start(self) -> FakeAlpaca:
        app = web.Application()
        app.router.add_get("/stream", self._trade_stream)
        app.router.add_get("/v1beta1/{feed}", self._option_stream)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        self._released.set()
        for ws in list(self.streams):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stream_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/stream"

    def fail(self, method: str, path: str, kind: str = "status", *, times: int = 1,
             status: int = 500, retry_after: float | None = None) -> None:
        self.faults.append(Fault(method, re.compile(path), kind, times, status, retry_after))

    async def drop_streams(self) -> None:
        for ws in list(self.streams):
            await ws.close()

    def count(self, method: str, path: str) -> int:
        return sum(1 for m, p in self.requests if m == method and re.fullmatch(path, p))

    def by_client_id(self, cid: str) -> dict[str, Any] | None:
        return next((o for o in self.orders.values() if o["client_order_id"] == cid), None)

    # -- venue ----------------------------------------------------------------------------
    def place_external(self, symbol: str, side: str, qty: int, limit: float) -> dict[str, Any]:
        """An order placed by someone else (the web UI, another bot)."""
        return self._create({"symbol": symbol, "side": side, "qty": qty, "type": "limit",
                             "limit_price": limit, "time_in_force": "day",
                             "client_order_id": f"web-{uuid.uuid4().hex[:8]}"})

    async def fill(self, order: dict[str, Any], qty: int, price: float) -> None:
        filled = float(order["filled_qty"]) + qty
        avg = ((float(order["filled_avg_price"] or 0) * float(order["filled_qty"]))
               + price * qty) / filled
        done = filled >= float(order["qty"])
        ts = _now()
        order.update(filled_qty=str(int(filled)), filled_avg_price=f"{avg:.4f}",
                     status="filled" if done else "partially_filled", updated_at=ts,
                     filled_at=ts if done else None)
        exec_id = str(uuid.UUID(int=next(self._exec_seq)))
        sign = 1 if order["side"] == "buy" else -1
        held, cost = self.positions.get(order["symbol"], (0, 0.0))
        new = held + sign * qty
        new_cost = 0.0 if new == 0 else ((cost * abs(held) + price * qty) / abs(new)
                                         if abs(new) > abs(held) else cost)
        self.positions[order["symbol"]] = (new, new_cost)
        self.options_buying_power -= sign * price * qty * 100
        self.activities.append({
            "id": f"{datetime.now(UTC):%Y%m%d%H%M%S%f}"[:17]
                  + f"::{exec_id if self.activity_ids_match else uuid.uuid4()}",
            "activity_type": "FILL", "transaction_time": ts,
            "type": "fill" if done else "partial_fill", "price": str(price), "qty": str(qty),
            "side": order["side"], "symbol": order["symbol"],
            "leaves_qty": str(int(float(order["qty"]) - filled)), "order_id": order["id"],
            "cum_qty": str(int(filled)), "order_status": order["status"]})
        await self._broadcast({"event": "fill" if done else "partial_fill", "order": order,
                               "timestamp": ts, "price": str(price), "qty": str(qty),
                               "position_qty": str(new), "execution_id": exec_id})

    async def fill_combo(self, order: dict[str, Any], qty: int,
                         prices: dict[str, float]) -> None:
        """Execute `qty` combos of an mleg order: every leg at once, one FILL activity per
        leg (naming the leg's own order id), then one fill event for the combo."""
        ts = _now()
        net = 0.0
        for leg in order["legs"]:
            contracts = qty * int(float(leg["ratio_qty"]))
            price = prices[leg["symbol"]]
            filled = float(leg["filled_qty"]) + contracts
            leg.update(filled_qty=str(int(filled)), filled_avg_price=str(price),
                       status="filled" if filled >= float(leg["qty"]) else "partially_filled")
            sign = 1 if leg["side"] == "buy" else -1
            held, cost = self.positions.get(leg["symbol"], (0, 0.0))
            self.positions[leg["symbol"]] = (held + sign * contracts,
                                             price if held == 0 else cost)
            self.options_buying_power -= sign * price * contracts * 100
            net += sign * float(leg["ratio_qty"]) * price
            self.activities.append({
                "id": f"{datetime.now(UTC):%Y%m%d%H%M%S%f}"[:17]
                      + f"::{uuid.UUID(int=next(self._exec_seq))}",
                "activity_type": "FILL", "transaction_time": ts, "type": "fill",
                "price": str(price), "qty": str(contracts), "side": leg["side"],
                "symbol": leg["symbol"], "leaves_qty": "0", "order_id": leg["id"],
                "cum_qty": str(int(filled)), "order_status": leg["status"]})
        filled = float(order["filled_qty"]) + qty
        done = filled >= float(order["qty"])
        order.update(filled_qty=str(int(filled)), filled_avg_price=f"{net:.4f}",
                     status="filled" if done else "partially_filled", updated_at=ts,
                     filled_at=ts if done else None)
        await self._broadcast({"event": "fill" if done else "partial_fill", "order": order,
                               "timestamp": ts, "price": f"{net:.4f}", "qty": str(qty)})

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        order = copy.deepcopy(fixture("POST_v2_orders_option"))
        ts = _now()
        order.update(id=str(uuid.uuid4()), client_order_id=body.get("client_order_id")
                     or str(uuid.uuid4()), created_at=ts, updated_at=ts, submitted_at=ts,
                     symbol=body.get("symbol", ""), qty=str(int(float(body["qty"]))),
                     side=body.get("side", ""), type=body["type"], order_type=body["type"],
                     time_in_force=body["time_in_force"], status="accepted",
                     limit_price=None if body.get("limit_price") is None
                     else str(body["limit_price"]), order_class=body.get("order_class",
                                                                         "simple"))
        if body.get("legs"):
            order.update(symbol="", side="", asset_class="", asset_id="", legs=[
                {**copy.deepcopy(order), "id": str(uuid.uuid4()), "symbol": leg["symbol"],
                 "side": leg["side"], "ratio_qty": str(leg["ratio_qty"]), "legs": None,
                 "asset_class": "us_option", "asset_id": str(uuid.uuid4()),
                 "client_order_id": str(uuid.uuid4()),  # Alpaca names legs itself
                 "qty": str(int(float(body["qty"]) * float(leg["ratio_qty"])))}
                for leg in body["legs"]])
        self.orders[order["id"]] = order
        return order

    async def _broadcast(self, data: dict[str, Any]) -> None:
        frame = json.dumps({"stream": "trade_updates", "data": data})
        for ws in list(self.streams):
            if not ws.closed:
                await ws.send_bytes(frame.encode())  # the real server sends binary frames

    # -- REST -----------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        method, path = request.method, request.path
        self.requests.append((method, path))
        if request.headers.get("APCA-API-KEY-ID") != KEY or request.headers.get(
                "APCA-API-SECRET-KEY") != SECRET:
            return _error(401, 40110000, "request is not authorized")
        fault = self._fault(method, path)
        if fault is not None and fault.kind == "status":
            headers = {} if fault.retry_after is None else {
                "Retry-After": str(fault.retry_after)}
            return _error(fault.status, fault.status * 100000, "fault injected", headers)
        if fault is not None and fault.kind == "stall":
            await self._stall()
        response = await self._route(request, method, path)
        if fault is not None and fault.kind == "lose_response":
            await self._stall()  # processed, but the answer never arrives in time
        return response

    async def _stall(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), self.stall_seconds)

    def _fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method == method and fault.path.fullmatch(path):
                fault.times -= 1
                return fault
        return None

    async def _route(self, request: web.Request, method: str, path: str) -> web.StreamResponse:
        q = request.query
        if (method, path) == ("GET", "/v2/account"):
            return web.json_response(self._account())
        if (method, path) == ("GET", "/v2/clock"):
            return web.json_response(fixture("GET_v2_clock"))
        if (method, path) == ("GET", "/v2/calendar"):
            return web.json_response(fixture("GET_v2_calendar"))
        if (method, path) == ("POST", "/v2/orders"):
            return await self._submit(await request.json())
        if (method, path) == ("GET", "/v2/orders"):
            want = q.get("status", "open")
            rows = [o for o in self.orders.values()
                    if want == "all" or (o["status"] in _OPEN) == (want == "open")]
            return web.json_response(rows)
        if (method, path) == ("DELETE", "/v2/orders"):
            out = []
            for o in self.orders.values():
                if o["status"] in _OPEN:
                    await self._cancel(o)
                    out.append({"id": o["id"], "status": 200})
            return web.json_response(out, status=207)
        if (method, path) == ("GET", "/v2/orders:by_client_order_id"):
            order = self.by_client_id(q.get("client_order_id", ""))
            return web.json_response(order) if order else _error(404, 40410000,
                                                                  "order not found")
        if m := re.fullmatch(r"/v2/orders/([0-9a-f-]+)", path):
            return await self._one_order(request, method, m.group(1))
        if (method, path) == ("GET", "/v2/positions"):
            return web.json_response([self._position(s) for s, (n, _) in self.positions.items()
                                      if n != 0])
        if method == "DELETE" and path.startswith("/v2/positions"):
            return await self._close_positions(path.removeprefix("/v2/positions").strip("/"),
                                               q.get("qty"))
        if (method, path) == ("GET", "/v2/account/activities/FILL"):
            return web.json_response(self._activities(q.get("after"), q.get("page_token"),
                                                      int(q.get("page_size", "100"))))
        if (method, path) == ("GET", "/v2/options/contracts"):
            page = fixture("GET_v2_options_contracts_multi" if q.get("page_token")
                           else "GET_v2_options_contracts")
            page["next_page_token"] = None if q.get("page_token") else "page-2"
            return web.json_response(page)
        if m := re.fullmatch(r"/v1beta1/options/(snapshots/\w+|quotes/latest|trades/latest|"
                             r"bars)", path):
            name = {"quotes/latest": "quotes_latest", "trades/latest": "trades_latest",
                    "bars": "bars"}.get(m.group(1), "snapshots_UNDERLYING")
            body = fixture(f"GET_v1beta1_options_{name}")
            if "next_page_token" in body:
                body["next_page_token"] = None
            return web.json_response(body)
        return _error(404, 40410000, f"no route {method} {path}")

    async def _submit(self, body: dict[str, Any]) -> web.Response:
        self.submitted_bodies.append(body)
        cid = body.get("client_order_id")
        if cid and self.by_client_id(cid) is not None:
            return _error(422, 40010001, "client_order_id must be unique")
        price = float(body.get("limit_price") or 1.0)
        cost = price * float(body["qty"]) * 100
        if body.get("side", "buy") == "buy" and cost > self.options_buying_power:
            return web.json_response({"buying_power": str(self.options_buying_power),
                                      "code": 40310000, "cost_basis": str(cost),
                                      "message": "insufficient options buying power"},
                                     status=403)
        order = self._create(body)
        await self._broadcast({"event": "new", "order": order, "timestamp": _now()})
        if self.fill_on_submit and order["symbol"]:
            await self.fill(order, int(float(order["qty"])), self.fill_price or price)
        return web.json_response(order)

    async def _one_order(self, request: web.Request, method: str, oid: str) -> web.Response:
        order = self.orders.get(oid)
        if order is None:
            return _error(404, 40410000, "order not found")
        if method == "GET":
            return web.json_response(order)
        if order["status"] not in _OPEN:
            return _error(422, 42210000, f"order is already in \"{order['status']}\" state")
        if method == "DELETE":
            await self._cancel(order)
            return web.Response(status=204)
        body = await request.json()  # PATCH: replace
        new = self._create({**{k: order[k] for k in ("symbol", "side", "time_in_force")},
                            "type": order["type"], "qty": body.get("qty") or order["qty"],
                            "limit_price": body.get("limit_price") or order["limit_price"],
                            "client_order_id": body.get("client_order_id")})
        new["replaces"] = order["id"]
        order.update(status="replaced", replaced_by=new["id"], replaced_at=_now())
        await self._broadcast({"event": "replaced", "order": order, "timestamp": _now()})
        return web.json_response(new)

    async def _close_positions(self, symbol: str, qty: str | None) -> web.Response:
        """Alpaca's own flatten: a market order against each position, filled at once."""
        closed = []
        for sym, (held, _cost) in list(self.positions.items()):
            if held == 0 or (symbol and sym != symbol):
                continue
            size = int(float(qty)) if qty else abs(held)
            order = self._create({"symbol": sym, "side": "sell" if held > 0 else "buy",
                                  "qty": size, "type": "market", "time_in_force": "day"})
            await self.fill(order, size, self.fill_price or 1.0)
            closed.append({"symbol": sym, "status": 200, "body": order})
        if symbol:
            return (web.json_response(closed[0]["body"]) if closed
                    else _error(404, 40410000, "position does not exist"))
        return web.json_response(closed, status=207)

    async def _cancel(self, order: dict[str, Any]) -> None:
        order.update(status="canceled", canceled_at=_now(), updated_at=_now())
        await self._broadcast({"event": "canceled", "order": order, "timestamp": _now()})

    def _activities(self, after: str | None, token: str | None, size: int) -> list[Any]:
        rows = self.activities
        if after:
            cut = datetime.fromisoformat(after.replace("Z", "+00:00"))
            rows = [a for a in rows if datetime.fromisoformat(
                a["transaction_time"].replace("Z", "+00:00")) > cut]
        if token:
            ids = [a["id"] for a in rows]
            rows = rows[ids.index(token) + 1:] if token in ids else []
        return rows[:size]

    def _account(self) -> dict[str, Any]:
        account = fixture("GET_v2_account")
        account.update(options_buying_power=str(self.options_buying_power),
                       buying_power=str(self.options_buying_power),
                       cash=str(self.options_buying_power))
        return account

    def _position(self, symbol: str) -> dict[str, Any]:
        qty, avg = self.positions[symbol]
        pos = fixture("GET_v2_positions")[0]
        pos.update(symbol=symbol, asset_class="us_option", exchange="", qty=str(qty),
                   side="long" if qty > 0 else "short", avg_entry_price=str(avg),
                   qty_available=str(qty))
        return pos

    # -- websockets -----------------------------------------------------------------------
    async def _trade_stream(self, request: web.Request) -> web.StreamResponse:
        if not self.accept_streams:
            self.stream_refusals += 1
            return web.Response(status=503, text="stream unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        auth = json.loads((await ws.receive()).data)
        ok = auth.get("data", {}).get("key_id") == KEY
        await ws.send_str(json.dumps({"stream": "authorization", "data": {
            "status": "authorized" if ok else "unauthorized", "action": "authenticate"}}))
        if not ok:
            await ws.close()
            return ws
        listen = json.loads((await ws.receive()).data)
        await ws.send_str(json.dumps({"stream": "listening", "data": listen["data"]}))
        self.stream_connections += 1
        self.streams.append(ws)
        async for msg in ws:
            if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        if ws in self.streams:
            self.streams.remove(ws)
        return ws

    async def _option_stream(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        pack = msgpack.packb
        await ws.send_bytes(pack([{"T": "success", "msg": "connected"}]))
        auth = msgpack.unpackb((await ws.receive()).data)
        if auth.get("key") != KEY:
            await ws.send_bytes(pack([{"T": "error", "code": 402, "msg": "auth failed"}]))
            await ws.close()
            return ws
        await ws.send_bytes(pack([{"T": "success", "msg": "authenticated"}]))
        sub = msgpack.unpackb((await ws.receive()).data)
        await ws.send_bytes(pack([{"T": "subscription", "trades": sub.get("trades", []),
                                   "quotes": sub.get("quotes", [])}]))
        ts = msgpack.Timestamp.from_datetime(datetime(2024, 4, 25, 19, 59, tzinfo=UTC))
        for symbol in sub.get("quotes", []):
            await ws.send_bytes(pack([{"T": "q", "S": symbol, "bx": "N", "bp": 0.32, "bs": 73,
                                       "ax": "W", "ap": 0.35, "as": 119, "c": "A", "t": ts}]))
        for symbol in sub.get("trades", []):
            await ws.send_bytes(pack([{"T": "t", "S": symbol, "x": "N", "p": 0.34, "s": 1,
                                       "c": "I", "t": ts}]))
        async for msg in ws:
            if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break
        return ws


_OPEN = {"new", "accepted", "pending_new", "partially_filled", "held", "pending_cancel",
         "pending_replace"}


def _error(status: int, code: int, message: str,
           headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status,
                             headers=headers or {})
