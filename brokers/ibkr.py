"""The Interactive Brokers adapter over ib_async (TWS or IB Gateway, socket API).

Our client order id rides in `orderRef`, so IB hands it back on every order and execution, also
after a reconnect or a restart. Order news comes from ib_async's events:
- status → ACCEPTED / CANCELLED / REJECTED (an IB error on an order arrives as a cancellation
  with an error code: `ibkr_map.status_of` tells a refusal from a cancel);
- an execution is recorded once its commission report arrives (or after a short wait);
- an order sent just before the connection dropped, with no acknowledgement, becomes
  PENDING_RECONCILIATION and is looked up by `orderRef` after reconnecting: never resent.
The connection is watched: a drop starts a reconnect loop with back-off, which then re-reads
orders and executions and restores market-data subscriptions. Inside the configured nightly
restart window a drop is expected: no alarm, no orders, and the reconnect waits for its end.
`connected` is true while the socket to TWS is up and TWS itself reaches IB (decision 0250).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from ib_async import IB, Contract, ExecutionFilter, Stock, Ticker, Trade
from ib_async import Fill as IbFill

from brokers import ibkr_map as imap
from brokers.base import (
    BrokerError,
    FatalBrokerError,
    OrderRejected,
    TransientBrokerError,
    UpdateListener,
)
from brokers.connection import ConnectionListener, ConnectionState
from brokers.ibkr_config import LIVE_PORTS, IbkrConfig
from brokers.multileg import MultiLegOrder
from brokers.orders import (
    Account,
    BrokerOrder,
    BrokerPosition,
    Fill,
    Order,
    OrderStatus,
    OrderUpdate,
)
from brokers.retry import with_retries
from market.clock import Clock
from market.data import Quote

log = logging.getLogger(__name__)
QuoteListener = Callable[[Quote], None]


class IbkrBroker:
    """`Broker` over TWS / IB Gateway (options: single-leg and BAG combos)."""

    name = "ibkr"

    def __init__(self, config: IbkrConfig, clock: Clock, *, live: bool = False,
                 ib: IB | None = None) -> None:
        if not live and config.port in LIVE_PORTS:
            raise FatalBrokerError(f"ibkr.port: {config.port} is a live-trading port; paper "
                                   "mode uses 4002 (Gateway) or 7497 (TWS)")
        self.config = config
        self._clock = clock
        self._live = live
        self.ib = ib or IB()
        self.ib.RaiseRequestErrors = True
        self.ib.orderStatusEvent += self._on_status
        self.ib.execDetailsEvent += self._on_execution
        self.ib.commissionReportEvent += self._on_commission
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected
        self._listener: UpdateListener = lambda _u: None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._contracts: dict[str, Contract] = {}
        self._unacknowledged: set[str] = set()
        self._reported: dict[str, OrderStatus] = {}
        self._recorded_fills: set[str] = set()
        self._quantities: dict[str, float] = {}  # what we asked for, per client order id
        self._fill_timers: dict[str, asyncio.TimerHandle] = {}
        self._quote_listeners: dict[str, list[QuoteListener]] = {}
        self._tickers: dict[str, Ticker] = {}
        self._reconnecting: asyncio.Task[Any] | None = None
        self._closing = False
        self.account = config.account
        self.reconnects = 0
        self.connectivity_ok = True
        self.connection = ConnectionState(self.name)

    @property
    def connected(self) -> bool:
        """The socket to TWS / IB Gateway is up and TWS reaches IB's servers (0250)."""
        return self.connection.connected

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        self.connection.add_listener(listener)

    def _refresh(self, reason: str) -> None:
        if self._closing:
            return
        up = self.ib.isConnected() and self.connectivity_ok
        self.connection.set(up, self._clock.now(), reason)

    # -- lifecycle ------------------------------------------------------------------------
    def set_listener(self, listener: UpdateListener) -> None:
        self._listener = listener

    async def connect(self) -> None:
        try:
            await self.ib.connectAsync(self.config.host, self.config.port, self.config.client_id,
                                       timeout=self.config.timeout_seconds,
                                       account=self.config.account)
        except (ConnectionError, OSError, TimeoutError) as exc:
            raise TransientBrokerError(f"ibkr: cannot connect to {self.config.host}:"
                                       f"{self.config.port}: {type(exc).__name__}") from exc
        accounts = self.ib.managedAccounts()
        self.account = self.config.account or (accounts[0] if len(accounts) == 1 else "")
        if not self.account:
            self.ib.disconnect()
            raise FatalBrokerError(f"ibkr.account: several accounts {accounts}; name one")
        if not self._live and not self.account.startswith("D"):
            self.ib.disconnect()
            raise FatalBrokerError(f"ibkr: paper mode, but {self.account} is a live account")
        self.ib.reqMarketDataType(self.config.market_data_type)
        # Said here rather than on ib_async's connectedEvent, which fires before the account
        # checks above may still refuse the session.
        self.connectivity_ok = True
        self._refresh(f"connected to {self.config.host}:{self.config.port}")

    async def close(self) -> None:
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        for handle in self._fill_timers.values():
            handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        self.ib.disconnect()

    def in_planned_downtime(self) -> bool:
        """Inside IB's nightly restart window: expect no connection, send no entries."""
        return self.config.in_downtime(self._clock.now())

    # -- orders ---------------------------------------------------------------------------
    def submit(self, order: Order) -> None:
        if self.in_planned_downtime():
            raise OrderRejected("ibkr: inside IB's nightly restart window; not sent")
        if not self.ib.isConnected():
            raise OrderRejected("ibkr: not connected; not sent")
        req = order.request
        ib_order = imap.ib_order(req, self.account)
        self._quantities[req.client_order_id] = req.quantity
        self._spawn(self._place(req.client_order_id, [req.symbol],
                                lambda contracts: (contracts[0], ib_order)))

    def submit_multileg(self, order: MultiLegOrder) -> None:
        """Send a 2–4 leg option order as one IB combo (BAG); outcome via the listener.

        Never blocks, like `submit`: the order manager has risk-checked and stored it. IB
        reports an execution per leg (the leg's contract, our `orderRef`), booked per leg.
        """
        if self.in_planned_downtime():
            raise OrderRejected("ibkr: inside IB's nightly restart window; combo not sent")
        if not self.ib.isConnected():
            raise OrderRejected("ibkr: not connected; combo not sent")

        def build(contracts: list[Contract]) -> tuple[Contract, Any]:
            return imap.combo(order, [c.conId for c in contracts], self.account)

        self._quantities[order.client_order_id] = order.quantity
        self._spawn(self._place(order.client_order_id, [leg.symbol for leg in order.legs],
                                build))

    async def _place(self, cid: str, symbols: list[str],
                     build: Callable[[list[Contract]], tuple[Contract, Any]]) -> None:
        try:
            contracts = [await self._qualified(s) for s in symbols]
            contract, ib_order = build(contracts)
            self._unacknowledged.add(cid)
            self.ib.placeOrder(contract, ib_order)
        except BrokerError as exc:
            self._unacknowledged.discard(cid)
            self._emit(OrderUpdate(cid, OrderStatus.REJECTED, self._clock.now(),
                                   reason=str(exc)))
        except ConnectionError:
            self._unacknowledged.discard(cid)
            self._emit(OrderUpdate(cid, OrderStatus.REJECTED, self._clock.now(),
                                   reason="ibkr: connection lost before sending; not sent"))

    def cancel(self, client_order_id: str) -> None:
        trade = self._trade(client_order_id)
        if trade is None:
            raise OrderRejected(f"ibkr: no working order {client_order_id}")
        if not self.ib.isConnected():
            raise TransientBrokerError("ibkr: not connected; cancel not sent")
        self.ib.cancelOrder(trade.order)

    def modify(self, client_order_id: str, *, quantity: int | None = None,
               limit_price: float | None = None) -> None:
        """Amend a working order in place (same IB order id, same orderRef)."""
        trade = self._trade(client_order_id)
        if trade is None or trade.isDone():
            raise OrderRejected(f"ibkr: no working order {client_order_id}")
        if quantity is not None:
            trade.order.totalQuantity = quantity
        if limit_price is not None:
            trade.order.lmtPrice = round(limit_price, 2)
        self.ib.placeOrder(trade.contract, trade.order)

    # -- reconciliation queries -----------------------------------------------------------
    async def fetch_open_orders(self) -> list[BrokerOrder]:
        trades = await self._request(self.ib.reqAllOpenOrdersAsync)
        return [imap.broker_order(t) for t in trades if not t.isDone()]

    async def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        trade = self._trade(client_order_id)
        if trade is None:
            await self._request(self.ib.reqCompletedOrdersAsync, False)
            trade = self._trade(client_order_id)
        return None if trade is None else imap.broker_order(trade)

    async def fetch_fills(self, since: datetime | None = None) -> list[Fill]:
        flt = ExecutionFilter(acctCode=self.account)
        if since is not None:
            flt.time = since.strftime("%Y%m%d-%H:%M:%S")
        fills: list[IbFill] = await self._request(self.ib.reqExecutionsAsync, flt)
        # ib_async attaches late commission reports to the fill it saw first: prefer that one.
        seen = {f.execution.execId: f for f in self.ib.fills()}
        return [imap.fill(seen.get(f.execution.execId, f), self._client_id_of_fill(f))
                for f in fills]

    async def fetch_positions(self) -> list[BrokerPosition]:
        positions = await self._request(self.ib.reqPositionsAsync)
        return [imap.position(p) for p in positions
                if p.position and (not self.account or p.account == self.account)]

    async def fetch_account(self) -> Account:
        if not self.ib.isConnected():
            raise TransientBrokerError("ibkr: not connected")
        return imap.account(self.ib.accountValues(self.account))

    # -- market data ----------------------------------------------------------------------
    async def option_chain(self, underlying: str) -> tuple[list[str], list[float]]:
        """Expirations (YYYYMMDD) and strikes IB lists for `underlying` on SMART."""
        stock = await self._qualified(underlying)
        chains = await self._request(self.ib.reqSecDefOptParamsAsync, underlying, "",
                                     stock.secType or "STK", stock.conId)
        smart = [c for c in chains if c.exchange == "SMART"] or chains
        expirations = sorted({e for c in smart for e in c.expirations})
        strikes = sorted({s for c in smart for s in c.strikes})
        return expirations, strikes

    async def subscribe_quotes(self, symbol: str, listener: QuoteListener) -> None:
        """Stream quotes (and model Greeks, see `greeks`) for `symbol`; kept across reconnects."""
        self._quote_listeners.setdefault(symbol, []).append(listener)
        if symbol not in self._tickers:
            await self._start_ticker(symbol)

    def greeks(self, symbol: str) -> imap.ModelGreeks | None:
        ticker = self._tickers.get(symbol)
        g = ticker.modelGreeks if ticker is not None else None
        if g is None:
            return None
        return imap.ModelGreeks(g.impliedVol, g.delta, g.gamma, g.vega, g.theta, g.undPrice)

    async def _start_ticker(self, symbol: str) -> None:
        contract = await self._qualified(symbol)
        ticker = self.ib.reqMktData(contract, "", False, False)
        self._tickers[symbol] = ticker
        ticker.updateEvent += lambda t, s=symbol: self._on_ticker(s, t)

    def _on_ticker(self, symbol: str, t: Ticker) -> None:
        if not (t.bid == t.bid and t.ask == t.ask):  # NaN: IB has not sent both sides yet
            return
        quote = Quote(symbol, self._clock.now(), float(t.bid), float(t.ask),
                      int(t.bidSize or 0), int(t.askSize or 0))
        for listener in self._quote_listeners.get(symbol, []):
            listener(quote)

    # -- events ---------------------------------------------------------------------------
    def _on_status(self, trade: Trade) -> None:
        cid = imap.client_id_of(trade)
        if trade.orderStatus.status not in ("PendingSubmit", "ApiPending"):
            self._unacknowledged.discard(cid)
        status, reason = imap.status_of(trade)
        if status is None or status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
            return  # fills carry their own status, with the execution
        if self._reported.get(cid) is status:
            return
        self._emit(OrderUpdate(cid, status, self._clock.now(),
                               str(trade.order.permId or trade.order.orderId), reason=reason))

    def _on_execution(self, trade: Trade, fill: IbFill) -> None:
        exec_id = fill.execution.execId
        if exec_id in self._recorded_fills or exec_id in self._fill_timers:
            return
        loop = asyncio.get_running_loop()
        self._fill_timers[exec_id] = loop.call_later(
            self.config.commission_wait_seconds, self._record_fill, trade, fill)

    def _on_commission(self, trade: Trade, fill: IbFill, _report: Any) -> None:
        handle = self._fill_timers.pop(fill.execution.execId, None)
        if handle is not None:
            handle.cancel()
        self._record_fill(trade, fill)

    def _record_fill(self, trade: Trade | None, fill: IbFill) -> None:
        exec_id = fill.execution.execId
        self._fill_timers.pop(exec_id, None)
        if exec_id in self._recorded_fills:
            return
        self._recorded_fills.add(exec_id)
        cid = imap.client_id_of(trade) if trade is not None else self._client_id_of_fill(fill)
        ours = imap.fill(fill, cid)
        total = self._quantities.get(cid) or (trade.order.totalQuantity if trade else 0)
        status = (OrderStatus.FILLED if total and fill.execution.cumQty >= total
                  else OrderStatus.PARTIALLY_FILLED)
        self._emit(OrderUpdate(cid, status, ours.ts, str(fill.execution.permId), ours))

    def _on_error(self, req_id: int, code: int, text: str, _contract: Any) -> None:
        if code in imap.CONNECTIVITY_LOST:
            self.connectivity_ok = False
            log.log(logging.INFO if self.in_planned_downtime() else logging.WARNING,
                    "ibkr %s: %s", code, text)
            self._refresh(f"TWS lost its connection to IB ({code})")
        elif code in (1101, 1102):
            self.connectivity_ok = True
            log.info("ibkr %s: %s; refreshing orders", code, text)
            self._refresh(f"TWS reaches IB again ({code})")
            self._spawn(self._resync())

    def _on_disconnected(self) -> None:
        if self._closing:
            return
        expected = self.in_planned_downtime()
        log.log(logging.INFO if expected else logging.WARNING,
                "ibkr connection lost%s; reconnecting", " (planned restart)" if expected else "")
        self._refresh("connection to TWS / IB Gateway lost" +
                      (" in the planned nightly restart window" if expected else ""))
        for cid in sorted(self._unacknowledged):
            self._emit(OrderUpdate(cid, OrderStatus.PENDING_RECONCILIATION, self._clock.now(),
                                   reason="connection lost before IB acknowledged it"))
        self._tickers.clear()
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        delay = self.config.reconnect_initial_seconds
        while not self._closing:
            await self._wait_out_downtime()
            try:
                await self.connect()
            except FatalBrokerError:
                log.exception("ibkr reconnect refused; needs a person")
                return
            except BrokerError as exc:
                log.info("ibkr reconnect failed (%s); next try in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.config.reconnect_max_seconds)
                continue
            self.reconnects += 1
            log.warning("ibkr reconnected")
            await self._resync()
            return

    async def _wait_out_downtime(self) -> None:
        # Polled rather than slept through: the clock may be a simulated one.
        while True:
            if not self.in_planned_downtime():
                return
            await asyncio.sleep(self.config.downtime_poll_seconds)

    async def _resync(self) -> None:
        """After a reconnect: statuses and fills of our orders, then market data again."""
        for fill in self.ib.fills():
            self._record_fill(self._trade(fill.execution.orderRef), fill)
        for cid, last in list(self._reported.items()):
            if last.is_terminal:
                continue
            trade = self._trade(cid)
            if trade is not None:
                self._unacknowledged.discard(cid)
                self._on_status(trade)
            elif last is OrderStatus.PENDING_RECONCILIATION:
                log.warning("order %s unknown to IB after reconnect; left to reconciliation",
                            cid)
        for symbol in list(self._quote_listeners):
            try:
                await self._start_ticker(symbol)
            except BrokerError as exc:
                log.warning("could not restore market data for %s: %s", symbol, exc)

    # -- plumbing -------------------------------------------------------------------------
    async def _qualified(self, symbol: str) -> Contract:
        if symbol not in self._contracts:
            wanted = imap.contract_for(symbol) if "|" not in symbol else Stock(symbol)
            if wanted.secType == "STK":
                wanted = Stock(symbol, "SMART", "USD")
            found = await self._request(self.ib.qualifyContractsAsync, wanted)
            if not found or found[0] is None or not getattr(found[0], "conId", 0):
                raise OrderRejected(f"ibkr: unknown contract {symbol}")
            self._contracts[symbol] = found[0]
        return self._contracts[symbol]

    async def _request(self, fn: Callable[..., Any], *args: Any) -> Any:
        async def once() -> Any:
            if not self.ib.isConnected():
                raise TransientBrokerError("ibkr: not connected")
            try:
                return await asyncio.wait_for(fn(*args), self.config.timeout_seconds)
            except (TimeoutError, ConnectionError) as exc:
                raise TransientBrokerError(f"ibkr: {type(exc).__name__} on "
                                           f"{getattr(fn, '__name__', 'request')}") from exc

        return await with_retries(once, attempts=self.config.retry_attempts,
                                  initial_wait=self.config.retry_initial_seconds,
                                  max_wait=self.config.reconnect_max_seconds)

    def _trade(self, client_order_id: str) -> Trade | None:
        matches = [t for t in self.ib.trades() if t.order.orderRef == client_order_id]
        return matches[-1] if matches else None

    def _client_id_of_fill(self, fill: IbFill) -> str:
        return fill.execution.orderRef or f"ib-{fill.execution.permId}"

    def _emit(self, update: OrderUpdate) -> None:
        self._reported[update.client_order_id] = update.status
        try:
            self._listener(update)
        except Exception:
            log.exception("order listener failed on %s", update.client_order_id)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

