"""Alpaca market data and market calendar, as our neutral types.

REST: account clock and calendar, option contracts (alpaca-py does not follow their
`next_page_token`, so we loop), chain snapshots with Greeks, latest quotes and trades, bars.
Streaming: the option data stream (MessagePack) as `Quote`/`Trade` callbacks, run as a task in
our loop. Every REST call goes through the same timeout, thread and retry path as orders.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from alpaca.data.enums import OptionsFeed
from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.live.option import OptionDataStream
from alpaca.data.models import Quote as VQuote
from alpaca.data.models import Trade as VTrade
from alpaca.data.requests import (
    OptionBarsRequest,
    OptionChainRequest,
    OptionLatestQuoteRequest,
    OptionLatestTradeRequest,
)
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import GetCalendarRequest, GetOptionContractsRequest

from brokers.alpaca import credentials
from brokers.alpaca_config import AlpacaConfig
from brokers.alpaca_http import Caller, harden
from market.data import Bar, Quote, Trade
from market.instruments import OptionSymbol

#: Largest page Alpaca serves for option contracts.
CONTRACTS_PAGE = 10_000


@dataclass(frozen=True, slots=True)
class ContractInfo:
    symbol: str
    underlying: str
    expiration: date
    strike: float
    right: str  # "C" | "P"
    open_interest: int | None
    tradable: bool


@dataclass(frozen=True, slots=True)
class OptionSnapshot:
    """One contract of a chain snapshot: market and Alpaca's Greeks (None when absent)."""

    symbol: str
    quote: Quote | None
    last_trade: Trade | None
    implied_volatility: float | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    rho: float | None


@dataclass(frozen=True, slots=True)
class MarketClock:
    now: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


class AlpacaMarketData:
    def __init__(self, config: AlpacaConfig, *, trading: TradingClient | None = None) -> None:
        key, secret = credentials(config)
        self.config = config
        self._call = Caller(config)
        self.trading = trading or harden(TradingClient(key, secret, paper=True,
                                                       url_override=config.trading_url),
                                         config.timeout_seconds)
        self.data = harden(OptionHistoricalDataClient(key, secret,
                                                      url_override=config.data_url),
                           config.timeout_seconds)
        feed = OptionsFeed(config.options_feed)
        self.stream = OptionDataStream(key, secret, feed=feed,
                                       url_override=config.option_stream_url)
        self._stream_task: asyncio.Task[Any] | None = None

    # -- calendar -------------------------------------------------------------------------
    async def clock(self) -> MarketClock:
        c = await self._call(self.trading.get_clock)
        return MarketClock(c.timestamp, c.is_open, c.next_open, c.next_close)

    async def calendar(self, start: date, end: date) -> list[tuple[date, datetime, datetime]]:
        """Sessions between two days: (day, open, close) in exchange local time (naive)."""
        days = await self._call(self.trading.get_calendar, GetCalendarRequest(start=start,
                                                                              end=end))
        return [(d.date, d.open, d.close) for d in days]

    # -- reference and snapshots ----------------------------------------------------------
    async def option_contracts(self, underlying: str, *, expiration: date | None = None
                               ) -> list[ContractInfo]:
        """Every active contract of `underlying`, following the pages alpaca-py leaves to us."""
        out: list[ContractInfo] = []
        token: str | None = None
        while True:
            req = GetOptionContractsRequest(underlying_symbols=[underlying],
                                            expiration_date=expiration,
                                            limit=CONTRACTS_PAGE, page_token=token)
            page = await self._call(self.trading.get_option_contracts, req)
            for c in page.option_contracts or []:
                spec = OptionSymbol.parse(c.symbol)
                out.append(ContractInfo(c.symbol, c.underlying_symbol, spec.expiration,
                                        spec.strike, spec.right.value,
                                        None if c.open_interest is None
                                        else int(c.open_interest), bool(c.tradable)))
            token = page.next_page_token
            if not token:
                return out

    async def chain(self, underlying: str) -> list[OptionSnapshot]:
        """The chain with quotes, last trades, IV and Greeks (alpaca-py pages this one)."""
        snaps = await self._call(self.data.get_option_chain,
                                 OptionChainRequest(underlying_symbol=underlying))
        return [_snapshot(symbol, s, underlying) for symbol, s in sorted(snaps.items())]

    async def latest_quotes(self, symbols: list[str]) -> dict[str, Quote]:
        got = await self._call(self.data.get_option_latest_quote,
                               OptionLatestQuoteRequest(symbol_or_symbols=symbols))
        return {s: _quote(s, q) for s, q in got.items()}

    async def latest_trades(self, symbols: list[str]) -> dict[str, Trade]:
        got = await self._call(self.data.get_option_latest_trade,
                               OptionLatestTradeRequest(symbol_or_symbols=symbols))
        return {s: _trade(s, t) for s, t in got.items()}

    async def minute_bars(self, symbols: list[str], start: datetime,
                          end: datetime | None = None) -> list[Bar]:
        got = await self._call(self.data.get_option_bars, OptionBarsRequest(
            symbol_or_symbols=symbols, timeframe=TimeFrame.Minute, start=start, end=end))
        return [Bar(s, b.timestamp, b.open, b.high, b.low, b.close, b.volume)
                for s, bars in sorted(got.data.items()) for b in bars]

    # -- streaming ------------------------------------------------------------------------
    async def stream_options(self, symbols: list[str], on_quote: Callable[[Quote], None],
                             on_trade: Callable[[Trade], None]) -> None:
        """Start streaming quotes and trades of `symbols` (reconnects are alpaca-py's)."""

        async def quote(q: VQuote | dict[Any, Any]) -> None:
            if isinstance(q, VQuote):  # never raw: we do not ask for raw data
                on_quote(_quote(q.symbol, q))

        async def trade(t: VTrade | dict[Any, Any]) -> None:
            if isinstance(t, VTrade):
                on_trade(_trade(t.symbol, t))

        self.stream.subscribe_quotes(quote, *symbols)
        self.stream.subscribe_trades(trade, *symbols)
        if self._stream_task is None:
            self._stream_task = asyncio.create_task(self.stream._run_forever(),
                                                    name="alpaca-option-data")

    async def close(self) -> None:
        if self._stream_task is not None:
            await self.stream.stop_ws()
            await self.stream.close()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stream_task, 10)
        self.data._session.close()


def _underlying(symbol: str) -> str:
    try:
        return OptionSymbol.parse(symbol).root
    except ValueError:
        return ""


def _quote(symbol: str, q: VQuote, underlying: str = "") -> Quote:
    return Quote(symbol, q.timestamp, float(q.bid_price), float(q.ask_price), int(q.bid_size),
                 int(q.ask_size), underlying or _underlying(symbol))


def _trade(symbol: str, t: VTrade, underlying: str = "") -> Trade:
    return Trade(symbol, t.timestamp, float(t.price), int(t.size),
                 underlying or _underlying(symbol), str(t.exchange or ""))


def _snapshot(symbol: str, s: Any, underlying: str) -> OptionSnapshot:
    g = s.greeks
    return OptionSnapshot(
        symbol, None if s.latest_quote is None else _quote(symbol, s.latest_quote, underlying),
        None if s.latest_trade is None else _trade(symbol, s.latest_trade, underlying),
        s.implied_volatility, *(None if g is None else getattr(g, k)
                                for k in ("delta", "gamma", "theta", "vega", "rho")))
