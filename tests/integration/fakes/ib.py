"""A fake TWS / IB Gateway speaking the TWS socket protocol (server version 173) for ib_async.

Messages are 4-byte big-endian lengths followed by NUL-terminated ASCII fields. The fake does the
handshake, announces managed accounts and the next order id, answers the start-up sync
(positions, open and completed orders, account values, executions), qualifies option contracts,
lists option chains, streams option ticks with model Greeks, and works orders: placeOrder →
openOrder + orderStatus (+ execDetails + commissionReport when it fills), cancel, modify.
Order and execution messages reuse the recorded layouts in ../shared/fixtures/ib with fields
substituted. Faults: reject the next order with an IB error code, drop the connection when an
order arrives (before or after taking it), refuse connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "ib"
ACCOUNT = "DU1234567"
SERVER_VERSION = 173
_AAPL = json.loads((FIXTURES / "placeOrder_response_AAPL_MKT.json").read_text())
_OPEN_ORDER = _AAPL["after_placeOrder"][0]
_EXEC = _AAPL["after_placeOrder"][2]
_STATUS_AT = _OPEN_ORDER.index("PreSubmitted")
_CONTRACT_DETAILS = json.loads((FIXTURES / "reqContractDetails_response_TSLA_STK.json")
                               .read_text())["after_reqContractDetails"][0]


@dataclass
class FakeContract:
    con_id: int
    symbol: str
    sec_type: str = "OPT"
    expiry: str = ""  # YYYYMMDD
    strike: float = 0.0
    right: str = ""
    multiplier: str = "100"
    local_symbol: str = ""

    def fields(self) -> list[str]:
        """conId … tradingClass, as openOrder/execDetails carry them."""
        return [str(self.con_id), self.symbol, self.sec_type, self.expiry, str(self.strike),
                self.right, self.multiplier, "SMART", "USD", self.local_symbol, self.symbol]


@dataclass
class FakeOrder:
    order_id: int
    perm_id: int
    contract: FakeContract
    action: str
    quantity: float
    order_type: str
    limit: float
    tif: str
    order_ref: str
    client_id: int
    status: str = "Submitted"
    filled: float = 0.0
    avg_price: float = 0.0
    combo: list[tuple[int, int, str]] = field(default_factory=list)


@dataclass
class FakeTws:
    fill_on_place: bool = True
    fill_price: float | None = None
    accept_connections: bool = True
    reject_next: tuple[int, str] | None = None  # (IB error code, text)
    drop_on_place: str | None = None  # "before" (never taken) | "after" (taken and filled)
    orders: dict[int, FakeOrder] = field(default_factory=dict)
    executions: list[tuple[FakeOrder, str, float, float, str]] = field(default_factory=list)
    positions: dict[int, tuple[FakeContract, float, float]] = field(default_factory=dict)
    contracts: dict[str, FakeContract] = field(default_factory=dict)
    placed: list[list[str]] = field(default_factory=list)
    market_data_requests: list[int] = field(default_factory=list)
    connections: int = 0
    refusals: int = 0  # connections turned away while accept_connections is off
    port: int = 0
    account: str = ACCOUNT
    market_data_type: int = 0

    def __post_init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._perm = itertools.count(900_000_001)
        self._exec = itertools.count(1)
        self._next_id = 1

    # -- control --------------------------------------------------------------------------
    async def start(self) -> FakeTws:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self.drop()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    async def drop(self) -> None:
        """Cut every client connection (a TWS restart, a network blip)."""
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        await asyncio.sleep(0)

    def option(self, symbol: str, expiry: str, strike: float, right: str) -> FakeContract:
        """Register a listed option (OCC local symbol) the fake can qualify and trade."""
        occ = f"{symbol:<6}{expiry[2:]}{right}{round(strike * 1000):08d}"
        contract = FakeContract(100_000 + len(self.contracts), symbol, "OPT", expiry, strike,
                                right, "100", occ)
        self.contracts[occ] = contract
        return contract

    def stock(self, symbol: str, con_id: int) -> FakeContract:
        contract = FakeContract(con_id, symbol, "STK", multiplier="", local_symbol=symbol)
        self.contracts[symbol] = contract
        return contract

    def by_ref(self, order_ref: str) -> FakeOrder | None:
        return next((o for o in self.orders.values() if o.order_ref == order_ref), None)

    async def fill(self, order: FakeOrder, qty: float, price: float) -> None:
        """Execute part or all of a working order and tell every connected client."""
        order.avg_price = (order.avg_price * order.filled + price * qty) / (order.filled + qty)
        order.filled += qty
        order.status = "Filled" if order.filled >= order.quantity else "Submitted"
        exec_id = f"0000e0d5.{next(self._exec):08x}.01.01"
        self.executions.append((order, exec_id, qty, price, "20250602  15:00:01"))
        sign = 1 if order.action == "BUY" else -1
        c = order.contract
        held, cost = self.positions.get(c.con_id, (c, 0.0, 0.0))[1:]
        new = held + sign * qty
        avg_cost = price * 100 if held == 0 else cost
        self.positions[c.con_id] = (c, new, avg_cost)
        for writer in list(self._writers):
            self._send(writer, self._exec_msg("-1", order, exec_id, qty, price))
            self._send(writer, self._status_msg(order))
            self._send(writer, ["59", "1", exec_id, "0.65", "USD", "1.7976931348623157E308",
                                "1.7976931348623157E308", ""])
        await asyncio.sleep(0)

    async def fill_combo(self, order: FakeOrder, qty: float, prices: dict[int, float]) -> None:
        """Execute `qty` combos of a BAG order: one execution per leg (the leg's contract,
        the combo's orderRef), as TWS reports them, each with its commission report."""
        order.filled += qty
        order.status = "Filled" if order.filled >= order.quantity else "Submitted"
        messages: list[list[str]] = []
        for con_id, ratio, action in order.combo:
            contract = next(c for c in self.contracts.values() if c.con_id == con_id)
            side = action if order.action == "BUY" else ("SELL" if action == "BUY" else "BUY")
            leg = FakeOrder(order.order_id, order.perm_id, contract, side, qty * ratio, "LMT",
                            0.0, order.tif, order.order_ref, order.client_id,
                            filled=qty * ratio, avg_price=prices[con_id])
            exec_id = f"0000e0d5.{next(self._exec):08x}.01.01"
            self.executions.append((leg, exec_id, qty * ratio, prices[con_id],
                                    "20250602  15:00:01"))
            sign = 1 if side == "BUY" else -1
            held, cost = self.positions.get(con_id, (contract, 0.0, 0.0))[1:]
            self.positions[con_id] = (contract, held + sign * qty * ratio,
                                      prices[con_id] * 100 if held == 0 else cost)
            messages += [self._exec_msg("-1", leg, exec_id, qty * ratio, prices[con_id]),
                         ["59", "1", exec_id, "0.65", "USD", "1.7976931348623157E308",
                          "1.7976931348623157E308", ""]]
        for writer in list(self._writers):
            for message in messages:
                self._send(writer, message)
            self._send(writer, self._status_msg(order))
        await asyncio.sleep(0)

    # -- wire -----------------------------------------------------------------------------
    @staticmethod
    def _send(writer: asyncio.StreamWriter, fields: list[str]) -> None:
        payload = b"".join(f.encode() + b"\0" for f in fields)
        writer.write(struct.pack(">I", len(payload)) + payload)

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> list[str]:
        size = struct.unpack(">I", await reader.readexactly(4))[0]
        return (await reader.readexactly(size)).decode().split("\0")[:-1]

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.accept_connections:
            self.refusals += 1
            writer.close()
            return
        try:
            assert await reader.readexactly(4) == b"API\0"
            await self._read(reader)  # "v157..178"
            self._send(writer, [str(SERVER_VERSION), "20250602 11:00:00 EST"])
            client_id = 0
            while True:
                fields = await self._read(reader)
                if fields[0] == "71":  # startApi
                    client_id = int(fields[2])
                    self.connections += 1
                    self._writers.append(writer)
                    self._send(writer, ["15", "1", self.account])
                    self._send(writer, ["9", "1", str(self._next_id)])
                elif not await self._handle(writer, fields, client_id):
                    return
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    async def _handle(self, w: asyncio.StreamWriter, f: list[str], client_id: int) -> bool:
        msg = f[0]
        if msg == "61":  # reqPositions
            for c, qty, cost in self.positions.values():
                if qty:
                    self._send(w, ["61", "3", ACCOUNT, *c.fields()[:7], "SMART", "USD",
                                   c.local_symbol, c.symbol, str(qty), str(cost)])
            self._send(w, ["62", "1"])
        elif msg in ("5", "16"):  # reqOpenOrders / reqAllOpenOrders
            for order in self.orders.values():
                if order.status not in ("Filled", "Cancelled", "Inactive"):
                    self._send(w, self._open_order_msg(order))
                    self._send(w, self._status_msg(order))
            self._send(w, ["53", "1"])
        elif msg == "99":  # reqCompletedOrders
            self._send(w, ["102"])
        elif msg == "6":  # reqAccountUpdates
            for key, value in (("NetLiquidation", "100000.00"), ("TotalCashValue", "95000.00"),
                               ("BuyingPower", "380000.00")):
                self._send(w, ["6", "2", key, value, "USD", ACCOUNT])
            self._send(w, ["54", "1", ACCOUNT])
        elif msg == "76":  # reqAccountUpdatesMulti
            self._send(w, ["74", "1", f[2]])
        elif msg == "7":  # reqExecutions
            for order, exec_id, qty, price, ts in self.executions:
                self._send(w, self._exec_msg(f[2], order, exec_id, qty, price, ts))
                self._send(w, ["59", "1", exec_id, "0.65", "USD", "1.7976931348623157E308",
                               "1.7976931348623157E308", ""])
            self._send(w, ["55", "1", f[2]])
        elif msg == "9":  # reqContractDetails
            self._contract_details(w, f)
        elif msg == "78":  # reqSecDefOptParams
            self._chain(w, f)
        elif msg == "1":  # reqMktData
            self._ticks(w, f)
        elif msg == "59":  # reqMarketDataType
            self.market_data_type = int(f[2])
        elif msg == "8":  # reqIds
            self._send(w, ["9", "1", str(self._next_id)])
        elif msg == "3":
            return await self._place(w, f, client_id)
        elif msg == "4":  # cancelOrder
            victim = self.orders.get(int(f[2]))
            if victim is not None and victim.status not in ("Filled", "Cancelled"):
                victim.status = "Cancelled"
                self._send(w, self._status_msg(victim))
                self._send(w, ["4", "2", str(victim.order_id), "202",
                               "Order Canceled - reason:", ""])
        return True

    async def _place(self, w: asyncio.StreamWriter, f: list[str], client_id: int) -> bool:
        self.placed.append(f)
        order_id = int(f[1])
        if self.drop_on_place == "before":
            self.drop_on_place = None
            return False
        if self.reject_next is not None:
            code, text = self.reject_next
            self.reject_next = None
            self._send(w, ["4", "2", str(order_id), str(code), text, ""])
            return True
        existing: FakeOrder | None = self.orders.get(order_id)
        if existing is not None:  # a modification of a working order
            existing.quantity, existing.limit = float(f[17]), float(f[19] or 0)
            self._send(w, self._open_order_msg(existing))
            self._send(w, self._status_msg(existing))
            return True
        contract = self._contract_from(f)
        order = FakeOrder(order_id, next(self._perm), contract, f[16], float(f[17]), f[18],
                          float(f[19] or 0), f[21], f[26], client_id,
                          combo=_combo_legs(f) if contract.sec_type == "BAG" else [])
        self.orders[order_id] = order
        self._next_id = max(self._next_id, order_id + 1)
        if contract.sec_type != "BAG":
            self._send(w, self._open_order_msg(order))
        self._send(w, self._status_msg(order))
        if self.drop_on_place == "after":  # the line drops, then IB fills it unheard
            self.drop_on_place = None
            self._writers.remove(w)
            await self.fill(order, order.quantity, self.fill_price or order.limit or 1.0)
            return False
        if self.fill_on_place and contract.sec_type != "BAG":
            await self.fill(order, order.quantity, self.fill_price or order.limit or 1.0)
        return True

    def _contract_from(self, f: list[str]) -> FakeContract:
        con_id = int(f[2] or 0)
        known = next((c for c in self.contracts.values() if c.con_id == con_id), None)
        if known is not None:
            return known
        return FakeContract(con_id, f[3], f[4], f[5], float(f[6] or 0), f[7], f[8], f[12])

    # -- messages -------------------------------------------------------------------------
    def _open_order_msg(self, o: FakeOrder) -> list[str]:
        m = list(_OPEN_ORDER)
        m[1] = str(o.order_id)
        m[2:13] = o.contract.fields()
        m[13:19] = [o.action, _num(o.quantity), o.order_type, str(o.limit), "0.0", o.tif]
        m[20], m[23], m[24], m[25] = ACCOUNT, o.order_ref, str(o.client_id), str(o.perm_id)
        m[_STATUS_AT] = o.status
        return m

    def _status_msg(self, o: FakeOrder) -> list[str]:
        return ["3", str(o.order_id), o.status, _num(o.filled), _num(o.quantity - o.filled),
                str(o.avg_price), str(o.perm_id), "0", str(o.avg_price), str(o.client_id), "",
                "0"]

    def _exec_msg(self, req_id: str, o: FakeOrder, exec_id: str, qty: float, price: float,
                  ts: str = "20250602  15:00:01") -> list[str]:
        m = list(_EXEC)
        m[1], m[2] = req_id, str(o.order_id)
        m[3:14] = o.contract.fields()
        m[14:27] = [exec_id, ts, ACCOUNT, "CBOE", "BOT" if o.action == "BUY" else "SLD",
                    _num(qty), str(price), str(o.perm_id), str(o.client_id), "0",
                    _num(o.filled), str(o.avg_price), o.order_ref]
        return m

    def _contract_details(self, w: asyncio.StreamWriter, f: list[str]) -> None:
        req_id, con_id, symbol, sec_type = f[2], int(f[3] or 0), f[4], f[5]
        expiry, strike, right = f[6], float(f[7] or 0), f[8]
        for c in self.contracts.values():
            if (c.con_id == con_id or (c.symbol == symbol and c.sec_type == sec_type and (
                    sec_type != "OPT" or (c.expiry == expiry and c.strike == strike
                                          and c.right == right[:1])))):
                m = list(_CONTRACT_DETAILS)
                m[1:15] = [req_id, c.symbol, c.sec_type, c.expiry, str(c.strike), c.right,
                           "SMART", "USD", c.local_symbol, c.symbol, c.symbol, str(c.con_id),
                           "0.01", c.multiplier]
                self._send(w, m)
        self._send(w, ["52", "1", req_id])

    def _chain(self, w: asyncio.StreamWriter, f: list[str]) -> None:
        req_id, symbol = f[1], f[2]
        opts = [c for c in self.contracts.values() if c.symbol == symbol and c.sec_type == "OPT"]
        expiries = sorted({c.expiry for c in opts})
        strikes = sorted({c.strike for c in opts})
        self._send(w, ["75", req_id, "SMART", f[5], symbol, "100", str(len(expiries)),
                       *expiries, str(len(strikes)), *map(str, strikes)])
        self._send(w, ["76", req_id])

    def _ticks(self, w: asyncio.StreamWriter, f: list[str]) -> None:
        req_id = f[2]
        self.market_data_requests.append(int(f[3] or 0))
        for msg in (["1", "6", req_id, "1", "2.10", "15", "0"],
                    ["1", "6", req_id, "2", "2.20", "20", "0"],
                    ["2", "6", req_id, "8", "1234"],
                    ["21", req_id, "13", "0", "0.2345", "0.5123", "2.15", "0.0", "0.0456",
                     "0.1789", "-0.0612", "512.34"]):
            self._send(w, msg)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _combo_legs(f: list[str]) -> list[tuple[int, int, str]]:
    count_at = 35
    legs = []
    for i in range(int(f[count_at])):
        base = count_at + 1 + i * 8
        legs.append((int(f[base]), int(f[base + 1]), f[base + 2]))
    return legs


def wire_fields(values: list[Any]) -> list[str]:
    return [str(v) for v in values]
