"""Live market data from Massive (formerly Polygon.io) through its official `massive` client.

REST: option contract reference (paginated), chain snapshots → `OptionChain`, aggregates → `Bar`.
WebSocket: option quotes, trades and minute aggregates plus the underlyings' stock stream, turned
into `Quote`/`Trade`/`Bar` events on an asyncio queue that the daemon drains into the engine.

What the client does not do for us (see docs/decisions/0120-massive-feed-supervision.md):
- The API key is a default argument read at *import* time; we always pass it explicitly.
- REST: urllib3 retries 429/5xx/timeouts briefly, then raises `MaxRetryError`; we retry the whole
  call with exponential backoff (tenacity) and then raise `MassiveUnavailable`.
- WebSocket: an abnormal close is reconnected by the client, but a clean close makes `connect()`
  return, and after it the client would not even re-send its subscriptions. A supervisor loop
  builds a fresh client after every return or failure, with backoff.
- Staleness: the feed is stale until its first data message and after `stale_after` seconds of
  silence or while disconnected; the engine must stop new entries while `is_stale()`.
Bad data (NaN, negative, crossed) is dropped, counted per reason and logged once per reason.

Use (in the daemon's loop)::

    feed = MassiveFeed(settings.massive, key, clock, underlyings=["SPY"],
                       stale_after_seconds=settings.feed.stale_after_seconds)
    task = asyncio.create_task(feed.run())
    chain = await feed.fetch_chain("SPY")           # REST, off the loop
    feed.subscribe(*(c.symbol for c in chain.moneyness_between(0.97, 1.03)))
    while True:
        engine.on_event(await feed.events.get())    # entries only while not feed.is_stale()
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from massive import RESTClient, WebSocketClient
from massive.exceptions import AuthError, BadResponse
from massive.websocket.models import EquityAgg, EquityQuote, EquityTrade, IndexValue, Market
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from websockets.protocol import State

from market.chain import OptionChain
from market.clock import Clock
from market.data import Bar, Quote, Trade, quote_problem
from market.feeds.massive_config import MassiveFeedConfig
from market.feeds.massive_convert import (
    bar_from_ws,
    bar_problem,
    bars_from_aggs,
    chain_from_snapshots,
    contract_symbols,
    index_value_from_ws,
    quote_from_ws,
    trade_from_ws,
    trade_problem,
)
from market.instruments import OptionSymbol, is_option_symbol, underlying_of_root

log = logging.getLogger(__name__)
#: Underlyings that are indexes: streamed from Massive's indices market (values, not quotes).
INDEX_UNDERLYINGS = frozenset({"SPX", "NDX", "RUT", "VIX", "XSP", "DJX", "OEX"})
#: The websockets library logs every frame at DEBUG, the auth frame with the API key included;
#: its logger for our sockets is pinned at INFO so a DEBUG daemon never writes the key.
_WS_LOG = logging.getLogger(f"{__name__}.websockets")
_WS_LOG.setLevel(logging.INFO)

Event = Quote | Trade | Bar
T = TypeVar("T")


class MassiveUnavailable(RuntimeError):
    """Massive did not answer after all retries (outage, rate limit, timeouts)."""


class MassiveRequestError(RuntimeError):
    """Massive refused a request (403 not entitled, 404...): retrying will not help."""


class MassiveFeed:
    """REST snapshots and streaming events from Massive for a set of underlyings."""

    def __init__(self, config: MassiveFeedConfig, api_key: str, clock: Clock, *,
                 underlyings: Iterable[str] = (), option_symbols: Iterable[str] = (),
                 stale_after_seconds: float = 30.0,
                 on_stale_change: Callable[[bool], None] | None = None) -> None:
        self.config = config
        self.clock = clock
        self.stale_after = timedelta(seconds=stale_after_seconds)
        self.on_stale_change = on_stale_change
        self.events: asyncio.Queue[Event] = asyncio.Queue(maxsize=config.queue_size)
        self.dropped: Counter[str] = Counter()  # bad or unqueued events, by reason
        self.reconnects: Counter[str] = Counter()  # supervisor restarts, by market
        self.last_data_at: dict[str, datetime] = {}  # per market: "stocks", "options"
        self._api_key = api_key
        self._underlyings = sorted(set(underlyings))
        self._options = {OptionSymbol.parse(s).occ for s in option_symbols}
        self._data_socket: dict[str, Any] = {}  # per market: the socket data came on
        self._received: Counter[str] = Counter()  # data batches per market
        self._clients: dict[str, WebSocketClient] = {}
        self._stopping = False
        self._done: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._was_stale = True
        self._logged_reasons: set[str] = set()
        self.rest = RESTClient(
            api_key=api_key, base=config.rest_url, retries=config.http_retries,
            connect_timeout=config.connect_timeout_seconds,
            read_timeout=config.read_timeout_seconds, pagination=True)

    # -- REST --------------------------------------------------------------------------------

    def contracts(self, underlying: str, expiration: date | None = None,
                  expired: bool = False) -> list[OptionSymbol]:
        """Every listed standard contract of `underlying` (all pages)."""
        def call() -> list[OptionSymbol]:
            items = self.rest.list_options_contracts(
                underlying_ticker=underlying, expiration_date=expiration, expired=expired,
                limit=1000)
            symbols, skipped = contract_symbols(items)  # type: ignore[arg-type]
            if skipped:
                self._drop("nonstandard_contract", skipped)
            return symbols
        return self._call(f"contracts {underlying}", call)

    def chain(self, underlying: str) -> OptionChain:
        """The whole chain of `underlying` now (all pages), validated."""
        def call() -> OptionChain:
            pages = self.rest.list_snapshot_options_chain(
                underlying, params={"limit": self.config.snapshot_page_size})
            return chain_from_snapshots(
                underlying, list(pages), self.clock.now(),  # type: ignore[arg-type]
                timedelta(seconds=self.config.max_quote_age_seconds))
        return self._call(f"chain {underlying}", call)

    def bars(self, ticker: str, multiplier: int, timespan: str, start: date | datetime,
             end: date | datetime) -> list[Bar]:
        """Aggregates of a stock or an option (any OCC form), oldest first, stamped at their
        end; bars that have not closed by the clock's now are left out (no look-ahead)."""
        massive_ticker = OptionSymbol.parse(ticker).massive if _is_option(ticker) else ticker

        def call() -> list[Bar]:
            aggs = self.rest.list_aggs(massive_ticker, multiplier, timespan, start, end,
                                       sort="asc", limit=50_000)
            return bars_from_aggs(ticker, aggs, multiplier, timespan)  # type: ignore[arg-type]
        now = self.clock.now()
        return [b for b in self._call(f"bars {ticker}", call) if b.ts <= now]

    async def fetch_chain(self, underlying: str) -> OptionChain:
        """`chain` without blocking the event loop."""
        return await asyncio.to_thread(self.chain, underlying)

    async def fetch_contracts(self, underlying: str, expiration: date | None = None,
                              ) -> list[OptionSymbol]:
        return await asyncio.to_thread(self.contracts, underlying, expiration)

    async def fetch_bars(self, ticker: str, multiplier: int, timespan: str,
                         start: date | datetime, end: date | datetime) -> list[Bar]:
        return await asyncio.to_thread(self.bars, ticker, multiplier, timespan, start, end)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        cfg = self.config
        retrying = Retrying(
            retry=retry_if_exception_type(Urllib3Error), reraise=True,
            stop=stop_after_attempt(cfg.call_attempts),
            wait=wait_exponential_jitter(cfg.backoff_initial_seconds, cfg.backoff_max_seconds,
                                         jitter=cfg.backoff_initial_seconds),
            before_sleep=lambda state: log.warning(
                "massive %s failed (attempt %d): %s; retrying", what, state.attempt_number,
                _describe(state.outcome.exception() if state.outcome else None)))
        try:
            return retrying(fn)
        except Urllib3Error as exc:
            raise MassiveUnavailable(f"massive {what}: no answer after {cfg.call_attempts} "
                                     f"attempts ({_describe(exc)})") from None
        except BadResponse as exc:
            raise MassiveRequestError(f"massive {what} refused: {str(exc)[:300]}") from None

    # -- streaming ---------------------------------------------------------------------------

    def subscribe(self, *option_symbols: str) -> None:
        """Add option contracts to the stream: now (opening the options socket if this is the
        first contract), and again after every reconnect."""
        new = {OptionSymbol.parse(s).occ for s in option_symbols} - self._options
        self._options |= new
        client = self._clients.get(Market.Options.value)
        if client is not None and new:
            client.subscribe(*_option_topics(new))
        elif new and self._running() and Market.Options.value not in self._tasks:
            self._start(Market.Options.value)

    def topics(self, market: str) -> list[str]:
        if market == Market.Options.value:
            return _option_topics(self._options)
        if market == Market.Indices.value:  # an index has a value, not quotes or trades
            return [f"{kind}.I:{sym}" for sym in self._indices() for kind in ("V", "AM")]
        return [f"{kind}.{sym}" for sym in self._stocks() for kind in ("Q", "T", "AM")]

    def _indices(self) -> list[str]:
        return [u for u in self._underlyings if u in INDEX_UNDERLYINGS]

    def _stocks(self) -> list[str]:
        return [u for u in self._underlyings if u not in INDEX_UNDERLYINGS]

    async def run(self) -> None:
        """Stream until `stop()`: one supervised socket per market, plus the staleness watch.
        Raises `AuthError` if the key is refused."""
        if not self._wanted_markets():
            raise ValueError("MassiveFeed.run needs underlyings or option symbols to stream")
        self._stopping = False
        self._done = asyncio.Event()
        self._failure = None
        for market in self._wanted_markets():
            self._start(market)
        watch = asyncio.create_task(self._watch_staleness(), name="massive-staleness")
        try:
            await self._done.wait()
        finally:
            tasks = [*self._tasks.values(), watch]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()
        if self._failure is not None:
            raise self._failure

    def _running(self) -> bool:
        return self._done is not None and not self._done.is_set()

    def _start(self, market: str) -> None:
        task = asyncio.create_task(self._supervise(market), name=f"massive-{market}")
        self._tasks[market] = task
        task.add_done_callback(self._supervisor_done)

    def _supervisor_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._done is None:
            return
        if task.exception() is not None:
            self._failure = task.exception()
            self._done.set()
        elif all(t.done() for t in self._tasks.values()):
            self._done.set()  # every socket ended because of stop()

    async def stop(self) -> None:
        self._stopping = True
        for client in list(self._clients.values()):
            if client.websocket is not None:
                await client.close()
        if self._done is not None:
            self._done.set()

    def is_stale(self, now: datetime | None = None) -> bool:
        """True before the first data, while a socket is down, or after `stale_after` without
        data on the heartbeat stream: the underlyings' stock stream (it ticks all session,
        while a quiet option may legitimately not). The engine stops new entries meanwhile."""
        wanted = self._wanted_markets()
        if not wanted or not all(self._live(m) for m in wanted):
            return True
        heartbeat = [m for m in wanted if m != Market.Options.value] or wanted
        at = now or self.clock.now()
        return any(m not in self.last_data_at or at - self.last_data_at[m] > self.stale_after
                   for m in heartbeat)

    def _live(self, market: str) -> bool:
        """The market's socket is open and has sent data. The client reconnects by itself after
        an abnormal close, with a new socket object: until that one sends data, not live."""
        client = self._clients.get(market)
        socket = client.websocket if client is not None else None
        if socket is None:
            return False
        return socket.state is State.OPEN and socket is self._data_socket.get(market)

    def _wanted_markets(self) -> list[str]:
        """Markets to stream, the heartbeat ones (the underlyings') first."""
        wanted = [Market.Stocks.value] if self._stocks() else []
        wanted += [Market.Indices.value] if self._indices() else []
        return wanted + ([Market.Options.value] if self._options else [])

    async def _supervise(self, market: str) -> None:
        cfg = self.config
        failures = 0
        while not self._stopping:
            client = WebSocketClient(
                api_key=self._api_key, feed=cfg.ws_host, market=market, secure=cfg.ws_secure,
                subscriptions=self.topics(market), max_reconnects=cfg.ws_max_reconnects)
            self._clients[market] = client
            received_before = self._received[market]
            try:
                await client.connect(self._processor(market), logger=_WS_LOG)
                reason = "closed by the server"
            except AuthError:
                log.error("massive %s stream: authentication failed; check the API key "
                          "(not retrying)", market)
                raise
            except Exception as exc:  # any socket failure means: reconnect
                reason = _describe(exc)
            finally:
                self._data_socket.pop(market, None)
                self._clients.pop(market, None)
            if self._stopping:
                return
            failures = 0 if self._received[market] > received_before else failures + 1
            delay = _backoff(failures, cfg.backoff_initial_seconds, cfg.backoff_max_seconds)
            self.reconnects[market] += 1
            log.warning("massive %s stream ended (%s); reconnecting in %.1fs", market, reason,
                        delay)
            await asyncio.sleep(delay)

    def _processor(self, market: str) -> Callable[[list[Any]], Any]:
        async def process(messages: list[Any]) -> None:
            client = self._clients.get(market)
            self._data_socket[market] = client.websocket if client is not None else None
            self._received[market] += 1
            self.last_data_at[market] = self.clock.now()
            for msg in messages:
                self._on_message(msg)
        return process

    def _on_message(self, msg: Any) -> None:
        now = self.clock.now()
        event: Event
        if isinstance(msg, EquityQuote):
            event = quote_from_ws(msg, self._underlying_of(msg.symbol))
            problem = quote_problem(event)
        elif isinstance(msg, EquityTrade):
            event = trade_from_ws(msg, self._underlying_of(msg.symbol))
            problem = trade_problem(event)
        elif isinstance(msg, EquityAgg):
            event = bar_from_ws(msg)
            problem = bar_problem(event)
        elif isinstance(msg, IndexValue):
            event = index_value_from_ws(msg)
            problem = trade_problem(event)
        else:
            return
        if problem is not None:
            self._drop(problem)
            return
        if event.ts > now:  # a vendor clock ahead of ours: never show the future
            event = _restamp(event, now)
        try:
            self.events.put_nowait(event)
        except asyncio.QueueFull:
            self._drop("queue_full")

    def _underlying_of(self, ticker: str) -> str:
        return underlying_of_root(OptionSymbol.parse(ticker).root) if _is_option(ticker) \
            else ticker

    def _drop(self, reason: str, count: int = 1) -> None:
        self.dropped[reason] += count
        if reason not in self._logged_reasons:
            self._logged_reasons.add(reason)
            log.warning("massive feed: dropping bad data (%s); counted from now on", reason)

    async def _watch_staleness(self) -> None:
        while not self._stopping:
            stale = self.is_stale()
            if stale != self._was_stale:
                self._was_stale = stale
                log.warning("massive feed is %s", "STALE: no new entries" if stale else "live")
                if self.on_stale_change is not None:
                    self.on_stale_change(stale)
            await asyncio.sleep(min(1.0, self.stale_after.total_seconds() / 4))


def _backoff(failures: int, initial: float, ceiling: float) -> float:
    """Exponential backoff with jitter; a reconnect right after a healthy session waits the
    initial delay (so a server that closes cleanly every time is not hammered)."""
    return min(ceiling, initial * 2 ** max(0, failures - 1)) * random.uniform(0.5, 1.0)


def _option_topics(symbols: Iterable[str]) -> list[str]:
    return [f"{kind}.O:{occ}" for occ in sorted(symbols) for kind in ("Q", "T", "AM")]


def _is_option(ticker: str) -> bool:
    return is_option_symbol(ticker.upper())


def _restamp(event: Event, now: datetime) -> Event:
    return replace(event, ts=now)


def _describe(exc: BaseException | None) -> str:
    """A short reason without URLs' query strings (they never hold the key, but stay short)."""
    if exc is None:
        return "unknown error"
    reason = getattr(exc, "reason", None)
    return f"{type(exc).__name__}: {reason or exc}"[:200]
