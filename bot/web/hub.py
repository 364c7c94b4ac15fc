"""Live feed of the dashboard: EventBus notices and sampled market data pushed to WebSockets.

The hot path only appends the notice to one bounded buffer and sets an event — O(1) whatever the
number of clients. A single pump task serializes each message once and hands it to every
client's own bounded queue; a client whose queue is full (it reads slower than we publish) is
dropped, never waited for. Market data (the underlyings' bars and quotes) is not published by the
engine at all: the pump samples MarketState a few times a second, so quotes cost the hot path
nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any, Protocol

from bot.events import Notice
from bot.wiring import Bot
from brokers.orders import Order
from market.data import Bar, Quote

log = logging.getLogger(__name__)

PENDING_MAX = 10_000  # notices buffered between two pump rounds; beyond, the oldest are lost
CLIENT_QUEUE_MAX = 512  # messages a client may lag behind before it is dropped
SEND_TIMEOUT = 2.0  # seconds one send may take before the client counts as stuck
SAMPLE_EVERY = 0.25  # seconds between market samples and status beats


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class Client:
    """One connected page: its queue and the task that drains it into the socket."""

    def __init__(self, socket: Socket, send_timeout: float = SEND_TIMEOUT) -> None:
        self.socket = socket
        self.send_timeout = send_timeout
        self.queue: deque[str] = deque()
        self.drainer: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.dropped = False

    def offer(self, message: str) -> bool:
        if len(self.queue) >= CLIENT_QUEUE_MAX:
            return False
        self.queue.append(message)
        self.ready.set()
        return True

    async def drain(self) -> None:
        """Send until closed; a send that stalls for SEND_TIMEOUT ends the client."""
        while not self.dropped:
            await self.ready.wait()
            self.ready.clear()
            while self.queue and not self.dropped:
                await asyncio.wait_for(self.socket.send_text(self.queue.popleft()),
                                       self.send_timeout)


def _iso(ts: datetime) -> str:
    return ts.isoformat()


def notice_message(notice: Notice) -> dict[str, Any]:
    return {"type": "notice", "kind": notice.kind, "ts": _iso(notice.ts), "text": notice.text,
            "priority": notice.priority, "data": notice.data or {}}


def order_message(order: Order) -> dict[str, Any]:
    r = order.request
    return {"type": "order", "client_order_id": r.client_order_id, "symbol": r.symbol,
            "side": r.side.value, "quantity": r.quantity, "filled": order.filled_quantity,
            "limit_price": r.limit_price, "status": order.status.value,
            "open": order.status.is_open, "reason": order.status_reason}


def _message(item: Notice | Order) -> dict[str, Any]:
    return notice_message(item) if isinstance(item, Notice) else order_message(item)


def bar_message(bar: Bar) -> dict[str, Any]:
    return {"type": "bar", "symbol": bar.symbol, "ts": _iso(bar.ts), "time": bar_time(bar),
            "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close,
            "volume": bar.volume}


def bar_time(bar: Bar) -> int:
    """Chart time of a bar: its start, in epoch seconds (bars close at `ts`)."""
    return int(bar.ts.timestamp()) - 60


def quote_message(quote: Quote) -> dict[str, Any]:
    return {"type": "quote", "symbol": quote.symbol, "ts": _iso(quote.ts), "bid": quote.bid,
            "ask": quote.ask}


class LiveHub:
    """Fan-out of the bot's live state to any number of WebSocket clients."""

    def __init__(self, bot: Bot, status: Callable[[], dict[str, Any]],
                 send_timeout: float = SEND_TIMEOUT) -> None:
        self.bot = bot
        self.send_timeout = send_timeout
        self._status = status
        self._pending: deque[Notice | Order] = deque(maxlen=PENDING_MAX)
        self._wake = asyncio.Event()
        self.clients: set[Client] = set()
        self._serving = 0
        self._stopping = False
        self._closing: set[asyncio.Task[None]] = set()
        self.dropped_clients = 0
        self.sent_messages = 0
        self._pump_task: asyncio.Task[None] | None = None
        self._last_bar: dict[str, datetime] = {}
        self._last_quote: dict[str, datetime] = {}
        bot.bus.subscribe(self.on_notice)
        bot.orders.status_listeners.append(self.on_order)

    # -- hot path ---------------------------------------------------------------------------
    def on_notice(self, notice: Notice) -> None:
        if not self.clients:
            return
        self._pending.append(notice)
        if not self._wake.is_set():
            self._wake.set()

    def on_order(self, order: Order) -> None:
        """Every order status change (new, working, filled, cancelled…): sent as it is then."""
        if self.clients:
            self._pending.append(order)
            if not self._wake.is_set():
                self._wake.set()

    # -- clients ----------------------------------------------------------------------------
    async def serve(self, socket: Socket, hello: dict[str, Any]) -> None:
        """Run one client until it disconnects, stalls or falls too far behind."""
        self._ensure_pump()
        client = Client(socket, self.send_timeout)
        client.offer(json.dumps(hello, default=str))
        self.clients.add(client)
        self._serving += 1
        client.drainer = asyncio.get_running_loop().create_task(client.drain())
        try:
            await client.drainer
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the server is shutting down, not just this client dropped
        except (TimeoutError, OSError, RuntimeError) as exc:
            log.info("dashboard client dropped: %r", exc)
        except Exception as exc:  # the socket library's own close errors
            if type(exc).__name__ not in ("WebSocketDisconnect", "ConnectionClosed",
                                          "ClientDisconnected"):
                raise
        finally:
            self._serving -= 1
            self._remove(client)

    def _remove(self, client: Client) -> None:
        if client in self.clients:
            self.clients.discard(client)
        client.dropped = True
        client.ready.set()

    def _drop(self, client: Client) -> None:
        self.dropped_clients += 1
        log.warning("dropping a slow dashboard client (%d messages behind)", len(client.queue))
        self._remove(client)
        client.queue.clear()
        if client.drainer is not None:
            client.drainer.cancel()  # it may be stuck in a send: never wait for it
        task = asyncio.get_running_loop().create_task(
            client.socket.close(code=1013, reason="too slow"))
        self._closing.add(task)  # keep a reference until done, and never raise from it
        task.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("closing a dropped client failed: %r", task.exception())

    # -- pump -------------------------------------------------------------------------------
    def _ensure_pump(self) -> None:
        if self._pump_task is None or self._pump_task.done():
            self._pump_task = asyncio.get_running_loop().create_task(self._pump(),
                                                                     name="dashboard-pump")

    async def stop(self) -> None:
        """Stop the pump and let every page's handler return (its socket then closes)."""
        self._stopping = True
        self._wake.set()
        if self._pump_task is not None:
            # A flag, not only cancel(): 3.11's wait_for can swallow a cancellation.
            done, _ = await asyncio.wait([self._pump_task], timeout=1.0)
            if not done:
                self._pump_task.cancel()
        for client in list(self.clients):
            self._remove(client)
            if client.drainer is not None:
                client.drainer.cancel()
        for _ in range(50):  # let each handler return, so its socket closes cleanly
            if not self._serving:
                break
            await asyncio.sleep(0.01)

    async def _pump(self) -> None:
        beat = 0
        while not self._stopping:
            with suppress(TimeoutError):
                async with asyncio.timeout(SAMPLE_EVERY):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            messages = [_message(self._pending.popleft()) for _ in range(len(self._pending))]
            messages.extend(self.sample_market())
            beat += 1
            if beat % 4 == 0 or any(m.get("kind") in ("fill", "state_changed", "paused",
                                                      "resumed") for m in messages):
                messages.append({"type": "status", **self._status()})
            for message in messages:
                self.broadcast(json.dumps(message, default=str))
                await asyncio.sleep(0)  # let clients drain: a burst alone drops nobody

    def broadcast(self, text: str) -> None:
        for client in list(self.clients):
            if client.offer(text):
                self.sent_messages += 1
            else:
                self._drop(client)

    def sample_market(self) -> list[dict[str, Any]]:
        """New bars of the underlyings and new quotes of the underlyings and held contracts."""
        market = self.bot.market
        out: list[dict[str, Any]] = []
        for symbol in chart_symbols(self.bot):
            bar = market.last_bar(symbol)
            if bar is not None and self._last_bar.get(symbol) != bar.ts:
                self._last_bar[symbol] = bar.ts
                out.append(bar_message(bar))
        watched = {p.symbol for p in self.bot.portfolio.open_positions()} | set(self._last_bar)
        for symbol in watched:
            quote = market.quote(symbol)
            if quote is not None and self._last_quote.get(symbol) != quote.ts:
                self._last_quote[symbol] = quote.ts
                out.append(quote_message(quote))
        return out


def chart_symbols(bot: Bot) -> list[str]:
    """The underlyings the chart follows: the replayed ones, or those the live quotes name."""
    if bot.settings.feed.kind == "replay":
        return list(bot.settings.replay.underlyings)
    return sorted(set(bot.market.underlying_of.values()))
