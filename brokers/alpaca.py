"""The Alpaca adapter: orders over alpaca-py's REST client, news over its trade-updates stream.

`submit`/`cancel` never block: they start a task on the running loop, which runs the blocking
client call in a thread with a timeout (`alpaca_http`). Outcomes come back as `OrderUpdate`s:
- accepted → ACCEPTED; refused → REJECTED with Alpaca's reason (buying power included);
- rate-limited or unreachable → retried (the order cannot exist yet), then REJECTED;
- sent but unanswered (timeout, 5xx, dropped connection) → PENDING_RECONCILIATION, then looked
  up by client order id a few times; it is **never resent** (invariant 3).
The trade-updates stream runs as a task in our loop. When it reconnects after a drop, the
adapter replays the fills it may have missed (account activities) and refreshes the status of
the orders it knows; the order manager records fills idempotently by fill id.
`connected` is true while the stream listens and REST calls get answers (decision 0250).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.models import Order as VOrder
from alpaca.trading.models import TradeUpdate
from alpaca.trading.requests import ClosePositionRequest, GetOrdersRequest, ReplaceOrderRequest
from alpaca.trading.stream import TradingStream

from brokers import alpaca_map as amap
from brokers.alpaca_config import AlpacaConfig
from brokers.alpaca_http import Caller, NotFound, harden
from brokers.base import (
    BrokerError,
    FatalBrokerError,
    OrderRejected,
    RateLimited,
    UpdateListener,
)
from brokers.connection import ConnectionListener, ConnectionState
from brokers.fill_match import FillIdentity
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
from brokers.retry import RequestNotSent
from market.clock import Clock
from market.instruments import is_option_symbol

log = logging.getLogger(__name__)


class _TradeUpdates(TradingStream):
    """alpaca-py's stream, telling us each time it has (re)connected and listens, and each
    time its socket is torn down (a drop, a failed reconnect attempt, or our own stop)."""

    def __init__(self, *args: Any, on_connected: Callable[[], None],
                 on_closed: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_connected = on_connected
        self._on_closed = on_closed

    async def _start_ws(self) -> None:
        await super()._start_ws()
        self._on_connected()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            self._on_closed()


def credentials(config: AlpacaConfig) -> tuple[str, str]:
    if config.api_key is None or config.secret_key is None:
        raise FatalBrokerError("alpaca: api_key and secret_key are required; set "
                               "TRADEFLY__ALPACA__API_KEY and TRADEFLY__ALPACA__SECRET_KEY")
    return config.api_key.get_secret_value(), config.secret_key.get_secret_value()


class AlpacaBroker:
    """`Broker` over Alpaca (options: single-leg and `mleg`)."""

    name = "alpaca"

    def __init__(self, config: AlpacaConfig, clock: Clock, *, live: bool = False) -> None:
        # `live` is set by the wiring only after invariant 2 was checked; without a URL
        # override alpaca-py then picks the live endpoints, else the paper ones.
        key, secret = credentials(config)
        self.config = config
        self._clock = clock
        self.trading = harden(TradingClient(key, secret, paper=not live,
                                            url_override=config.trading_url),
                              config.timeout_seconds)
        self.stream = _TradeUpdates(key, secret, paper=not live, url_override=config.stream_url,
                                    on_connected=self._stream_connected,
                                    on_closed=self._stream_closed)
        self.stream._reconnect_min_backoff = config.stream_reconnect_seconds
        self._call = Caller(config, observer=self._rest_outcome)
        self._listener: UpdateListener = lambda _u: None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._submits: dict[str, asyncio.Task[Any]] = {}
        self._broker_ids: dict[str, str] = {}  # client order id → Alpaca order id
        self._client_ids: dict[str, str] = {}  # Alpaca order id → client order id
        self._status: dict[str, OrderStatus] = {}  # last status we reported, per order
        self._replacements: dict[str, int] = {}
        self._fills = FillIdentity()  # one id per execution, stream or activity (0251)
        self._stream_task: asyncio.Task[Any] | None = None
        self._connections = 0
        self._started_at: datetime | None = None
        self.connection = ConnectionState(self.name, reason="trade-updates stream not "
                                          "listening yet")
        self._listening = asyncio.Event()  # the stream is up: what connect() waits for
        self._rest_problem: str | None = None  # why REST looks unreachable, if it does
        self._probe: asyncio.Task[Any] | None = None
        self._closing = False

    @property
    def connected(self) -> bool:
        """The trade-updates stream listens and REST calls get answers (decision 0250)."""
        return self.connection.connected

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        self.connection.add_listener(listener)

    # -- lifecycle ------------------------------------------------------------------------
    def set_listener(self, listener: UpdateListener) -> None:
        self._listener = listener

    async def connect(self) -> None:
        """Check the account can trade, then start listening to trade updates."""
        self._started_at = self._clock.now()
        vendor = await self._call(self.trading.get_account)
        problem = amap.account_problem(vendor)
        if problem is not None:
            raise FatalBrokerError(f"alpaca: {problem}")
        self.stream.subscribe_trade_updates(self._on_trade_update)
        self._stream_task = asyncio.create_task(self.stream._run_forever(),
                                                name="alpaca-trade-updates")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), self.config.timeout_seconds)
        if not self._listening.is_set():
            log.warning("alpaca trade-updates stream not connected yet; it keeps retrying")

    async def close(self) -> None:
        self._closing = True  # our own stop is not an outage: no more connection changes
        if self._probe is not None:
            self._probe.cancel()
        # Let in-flight submits and cancels (shutdown cancels working orders) finish first.
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.config.timeout_seconds * 2)
        await self.stream.stop_ws()
        await self.stream.close()  # wakes the reader now instead of at its 5 s poll
        if self._stream_task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stream_task, 10)
        for task in list(self._tasks):
            task.cancel()
        self.trading._session.close()

    # -- orders ---------------------------------------------------------------------------
    def submit(self, order: Order) -> None:
        req = order.request
        try:
            vendor = amap.order_request(req, options=is_option_symbol(req.symbol))
        except ValueError as exc:  # alpaca-py's own validation (pydantic): never sent
            raise OrderRejected(f"alpaca refused the request shape: {exc}") from exc
        self._submits[req.client_order_id] = self._spawn(
            self._submit(req.client_order_id, vendor, req.underlying))

    def submit_multileg(self, order: MultiLegOrder) -> None:
        """Send a 2–4 leg option order atomically (Alpaca `mleg`); outcome via the listener.

        Never blocks, like `submit`: the order manager has risk-checked and stored it. Fills
        come back per leg (see `_remember_legs`).
        """
        try:
            vendor = amap.multileg_request(order)
        except ValueError as exc:  # alpaca-py's own validation: never sent
            raise OrderRejected(f"alpaca refused the combo shape: {exc}") from exc
        self._submits[order.client_order_id] = self._spawn(
            self._submit(order.client_order_id, vendor, order.underlying))

    async def _submit(self, cid: str, vendor: Any, underlying: str) -> None:
        try:
            placed: VOrder = await self._call(self.trading.submit_order, vendor, submit=True)
        except OrderRejected as exc:
            self._emit(OrderUpdate(cid, OrderStatus.REJECTED, self._clock.now(), reason=str(exc)))
        except (RateLimited, RequestNotSent) as exc:
            self._emit(OrderUpdate(cid, OrderStatus.REJECTED, self._clock.now(),
                                   reason=f"not sent: {exc}"))
        except BrokerError as exc:
            if cid in self._status:
                log.info("submit %s: answer lost but the stream already reported it", cid)
                return
            log.warning("submit %s: outcome unknown (%s); will look it up, never resend", cid,
                        exc)
            self._emit(OrderUpdate(cid, OrderStatus.PENDING_RECONCILIATION, self._clock.now(),
                                   reason=f"answer lost: {exc}"))
            await self._resolve_unknown(cid)
        else:
            self._remember(cid, str(placed.id))
            self._remember_legs(placed)
            status = amap.order_status(placed.status)
            if not status.is_terminal or status is OrderStatus.FILLED:
                status = OrderStatus.ACCEPTED  # fills arrive with their executions
            if status is not OrderStatus.ACCEPTED or cid not in self._status:
                self._emit(OrderUpdate(cid, status, self._clock.now(), str(placed.id)))
        finally:
            self._submits.pop(cid, None)

    async def _resolve_unknown(self, cid: str) -> None:
        delay = max(self.config.retry_initial_seconds, 0.05)
        for _ in range(self.config.unknown_lookups):
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.config.retry_max_seconds)
            try:
                theirs = await self.fetch_order(cid)
            except BrokerError as exc:
                log.info("lookup of %s failed: %s", cid, exc)
                continue
            if theirs is not None:
                self._remember(cid, theirs.broker_order_id)
                await self._catch_up([cid], reason="found by client order id after a lost answer")
                return
        log.warning("order %s still unknown at the broker; left to reconciliation", cid)

    def cancel(self, client_order_id: str) -> None:
        self._spawn(self._cancel(client_order_id))

    async def _cancel(self, cid: str) -> None:
        inflight = self._submits.get(cid)
        if inflight is not None:
            await asyncio.wait([inflight])
        broker_id = await self._broker_id(cid)
        if broker_id is None:
            log.warning("cancel %s: no such order at alpaca", cid)
            return
        try:
            await self._call(self.trading.cancel_order_by_id, broker_id)
        except OrderRejected as exc:  # 422: already filled or cancelled
            log.info("cancel %s refused: %s", cid, exc)

    async def replace(self, client_order_id: str, *, quantity: int | None = None,
                      limit_price: float | None = None) -> str:
        """Amend a working order; returns the replacement's client order id at Alpaca."""
        broker_id = await self._broker_id(client_order_id)
        if broker_id is None:
            raise OrderRejected(f"replace {client_order_id}: no such order at alpaca")
        n = self._replacements.get(client_order_id, 0) + 1
        self._replacements[client_order_id] = n
        new_cid = f"{amap.base_client_id(client_order_id)}{amap.REPLACE_MARK}{n}"
        request = ReplaceOrderRequest(qty=quantity, client_order_id=new_cid,
                                      limit_price=None if limit_price is None
                                      else round(limit_price, 2))
        placed: VOrder = await self._call(self.trading.replace_order_by_id, broker_id, request,
                                          submit=True)
        self._remember(client_order_id, str(placed.id))
        return new_cid

    async def cancel_all(self) -> int:
        """Cancel every open order at Alpaca (ours and external); returns how many."""
        return len(await self._call(self.trading.cancel_orders))

    async def close_position(self, symbol: str, quantity: int | None = None) -> BrokerOrder:
        """Alpaca's own close (emergency path); the order it creates is adopted at
        reconciliation as external."""
        req = ClosePositionRequest(qty=str(quantity)) if quantity else None
        placed: VOrder = await self._call(self.trading.close_position, symbol, req, submit=True)
        return amap.broker_order(placed)

    async def close_all_positions(self, cancel_orders: bool = True) -> int:
        return len(await self._call(self.trading.close_all_positions, cancel_orders,
                                    submit=True))

    # -- reconciliation queries -----------------------------------------------------------
    async def fetch_open_orders(self) -> list[BrokerOrder]:
        req = GetOrdersRequest(status=QueryOrderStatus.OPEN, limit=500, nested=True)
        return [self._translate(o) for o in await self._call(self.trading.get_orders, req)]

    async def fetch_order(self, client_order_id: str) -> BrokerOrder | None:
        try:
            vendor: VOrder = await self._call(self.trading.get_order_by_client_id,
                                              client_order_id, not_found_ok=True)
        except NotFound:
            return None
        hops = 0
        while vendor.replaced_by is not None and hops < 20:  # follow amendments to the live one
            vendor = await self._call(self.trading.get_order_by_id, str(vendor.replaced_by))
            hops += 1
        self._remember_legs(vendor)
        return self._translate(vendor)

    async def fetch_fills(self, since: datetime | None = None) -> list[Fill]:
        since = since or self._clock.now() - timedelta(days=self.config.fills_lookback_days)
        fills: list[Fill] = []
        params: dict[str, Any] = {"after": since.isoformat(), "direction": "asc",
                                  "page_size": 100}
        while True:
            page = await self._call(self.trading.get, "/account/activities/FILL", dict(params))
            if not page:
                return fills
            if any(str(a["order_id"]) not in self._client_ids for a in page):
                await self._learn_legs(since)  # a combo's leg fills name the leg's order
            for activity in page:
                cid = await self._client_id(str(activity["order_id"]))
                fills.append(self._fills.canonical(amap.fill_from_activity(activity, cid),
                                                   "activity"))
            if len(page) < params["page_size"]:
                return fills
            params["page_token"] = page[-1]["id"]

    async def fetch_positions(self) -> list[BrokerPosition]:
        return [amap.broker_position(p) for p in await self._call(self.trading.get_all_positions)]

    async def fetch_account(self) -> Account:
        return amap.account(await self._call(self.trading.get_account))

    # -- stream ---------------------------------------------------------------------------
    async def _on_trade_update(self, update: TradeUpdate) -> None:
        if update.order.replaced_by is None:  # a replaced order is no longer the live one
            self._remember(amap.base_client_id(update.order.client_order_id),
                           str(update.order.id))
        if update.order.legs:
            self._remember_legs(update.order)
        translated = amap.order_update(update)
        if translated is not None and translated.fill is not None:
            translated = replace(translated,
                                 fill=self._fills.canonical(translated.fill, "stream"))
        if translated is not None:
            self._emit(translated)
            if update.order.legs and translated.status in (OrderStatus.FILLED,
                                                           OrderStatus.PARTIALLY_FILLED):
                # An mleg fill event names no leg execution: read the legs' FILL activities
                # (the same execution ids), which the order manager books per leg.
                self._spawn(self._catch_up([translated.client_order_id],
                                           reason="combo leg fills"))

    def _stream_connected(self) -> None:
        self._connections += 1
        self._listening.set()
        self._refresh("trade-updates stream listening" if self._connections == 1
                      else "trade-updates stream listening again")
        if self._connections > 1:
            log.warning("alpaca trade-updates stream reconnected; replaying missed events")
            working = [cid for cid in self._broker_ids
                       if not (self._status.get(cid) or OrderStatus.NEW).is_terminal]
            self._spawn(self._catch_up(working, reason="after stream reconnect"))

    def _stream_closed(self) -> None:
        self._listening.clear()
        self._refresh("trade-updates stream closed; alpaca-py is reconnecting")

    def _rest_outcome(self, problem: str | None) -> None:
        if problem == self._rest_problem:
            return
        self._rest_problem = problem
        self._refresh(problem or "REST answering again")
        if problem is not None and (self._probe is None or self._probe.done()) \
                and not self._closing:
            self._probe = asyncio.get_running_loop().create_task(self._probe_rest(),
                                                                 name="alpaca-rest-probe")

    async def _probe_rest(self) -> None:
        """While REST looks unreachable, ask for the clock now and then: the first answer
        says it is back even when the bot has nothing else to ask."""
        while self._rest_problem is not None and not self._closing:
            await asyncio.sleep(self.config.rest_probe_seconds)
            with contextlib.suppress(BrokerError):
                await self._call(self.trading.get_clock)

    def _refresh(self, reason: str) -> None:
        if self._closing:
            return
        up = self._listening.is_set() and self._rest_problem is None
        if not up and self._rest_problem is not None and self._listening.is_set():
            reason = self._rest_problem
        self.connection.set(up, self._clock.now(), reason)

    async def _catch_up(self, cids: list[str], *, reason: str) -> None:
        """Replay fills since we started and refresh statuses: what a dropped stream hid."""
        try:
            since = (self._started_at or self._clock.now()) - timedelta(minutes=5)
            wanted = set(cids)
            for fill in await self.fetch_fills(since):
                if fill.client_order_id in wanted:
                    status = OrderStatus.PARTIALLY_FILLED
                    self._emit(OrderUpdate(fill.client_order_id, status, fill.ts,
                                           self._broker_ids.get(fill.client_order_id), fill))
            for cid in cids:
                theirs = await self.fetch_order(cid)
                if theirs is not None and theirs.status is not self._status.get(cid):
                    self._emit(OrderUpdate(cid, theirs.status, self._clock.now(),
                                           theirs.broker_order_id, reason=reason))
        except BrokerError as exc:
            log.warning("catch-up failed (%s); periodic reconciliation will retry", exc)

    # -- plumbing -------------------------------------------------------------------------
    def _translate(self, vendor: VOrder) -> BrokerOrder:
        order = amap.broker_order(vendor)
        if not order.symbol and vendor.legs:
            order = _with_symbol(order, "|".join(leg.symbol or "" for leg in vendor.legs))
        return order

    async def _broker_id(self, cid: str) -> str | None:
        if cid in self._broker_ids:
            return self._broker_ids[cid]
        theirs = await self.fetch_order(cid)
        if theirs is None:
            return None
        self._remember(cid, theirs.broker_order_id)
        return theirs.broker_order_id

    async def _client_id(self, broker_id: str) -> str:
        if broker_id not in self._client_ids:
            vendor: VOrder = await self._call(self.trading.get_order_by_id, broker_id)
            self._client_ids[broker_id] = amap.base_client_id(vendor.client_order_id)
        return self._client_ids[broker_id]

    def _remember_legs(self, vendor: VOrder) -> None:
        """A combo's legs are orders of their own at Alpaca, with ids and client ids Alpaca
        made up; their fills name the leg. Map each leg to the combo's client order id."""
        cid = amap.base_client_id(vendor.client_order_id)
        for leg in vendor.legs or []:
            self._client_ids[str(leg.id)] = cid

    async def _learn_legs(self, since: datetime) -> None:
        """After a restart: recent combos' legs, so their fill activities map to our ids."""
        req = GetOrdersRequest(status=QueryOrderStatus.ALL, limit=500, nested=True,
                               after=since)
        for vendor in await self._call(self.trading.get_orders, req):
            self._remember_legs(vendor)

    def _remember(self, cid: str, broker_id: str) -> None:
        self._broker_ids[cid] = broker_id
        self._client_ids[broker_id] = cid

    def _emit(self, update: OrderUpdate) -> None:
        self._status[update.client_order_id] = update.status
        try:
            self._listener(update)
        except Exception:
            log.exception("order listener failed on %s", update.client_order_id)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError as exc:
            coro.close()
            raise OrderRejected("alpaca adapter is not running (connect() first): "
                                "order not sent") from exc
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _with_symbol(order: BrokerOrder, symbol: str) -> BrokerOrder:
    return replace(order, symbol=symbol)
