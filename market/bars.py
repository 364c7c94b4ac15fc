"""Bar aggregation: closed 1-minute bars (or trades) into 5m/15m/30m/1h/1d, session-aware.

Rules (each one tested in tests/market/test_bars.py):
- Buckets are aligned to the session open (09:30, 09:35, ...; 1h = 09:30-10:30, ...), so no bar
  straddles the open; the last bucket ends at the close, shorter on a half day (13:00).
- A bar is emitted only once it has closed, stamped with its close time (``Bar.ts``, as
  ``market.data`` documents): when the minute that ends its bucket arrives, or, if that minute
  never comes, when a later bar arrives or ``flush(now)`` passes its end.
- ``forming(symbol, timeframe)`` is the explicit way to read a bar that has not closed; it is
  stamped with the close time of the newest minute inside it, so it carries no look-ahead.
- Minutes outside the regular session are not aggregated (counted as ``outside_session``).
- Bad bars (non-finite, high < low, open/close outside the range, negative volume) are dropped,
  counted by reason and logged once per reason; they never enter a larger bar.

``ChainMinuteBars`` builds the per-minute arrays the chain indicator engine takes.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from market.calendar import ExchangeCalendar, Session
from market.data import Bar, Quote, Trade, quote_problem

log = logging.getLogger(__name__)

ONE_MINUTE = timedelta(minutes=1)
#: Minutes per intraday timeframe; "1d" is the whole session.
TIMEFRAMES: dict[str, int | None] = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "1d": None}


def bar_problem(bar: Bar) -> str | None:
    """Why a bar must not be used, or None. Stable strings: they label the drop counters."""
    o, h, lo, c, v = bar.open, bar.high, bar.low, bar.close, bar.volume
    if not all(math.isfinite(x) for x in (o, h, lo, c, v)):
        return "nan"
    if v < 0:
        return "negative_volume"
    if h < lo:
        return "high_below_low"
    if not (lo <= o <= h and lo <= c <= h):
        return "outside_range"
    if lo <= 0:
        return "non_positive_price"
    return None


def check_timeframes(timeframes: Iterable[str]) -> tuple[str, ...]:
    out = tuple(timeframes)
    unknown = [tf for tf in out if tf not in TIMEFRAMES]
    if unknown:
        raise ValueError(f"unknown timeframe(s) {unknown}; known: {list(TIMEFRAMES)}")
    return out


@dataclass(slots=True)
class _Forming:
    """The open bucket of one symbol and timeframe."""

    end: datetime  # the bucket's close time (its emitted Bar.ts)
    open: float
    high: float
    low: float
    close: float
    volume: float
    last_ts: datetime  # close time of the newest minute in it

    def add(self, bar: Bar) -> None:
        if bar.high > self.high:
            self.high = bar.high
        if bar.low < self.low:
            self.low = bar.low
        self.close = bar.close
        self.volume += bar.volume
        self.last_ts = bar.ts

    def as_bar(self, symbol: str, timeframe: str, ts: datetime) -> Bar:
        return Bar(symbol, ts, self.open, self.high, self.low, self.close, self.volume, timeframe)


class BarAggregator:
    """Rolls closed 1-minute bars of any number of symbols into larger, session-aligned bars."""

    def __init__(self, calendar: ExchangeCalendar,
                 timeframes: Iterable[str] = ("5m", "15m", "1h", "1d")) -> None:
        self.calendar = calendar
        self.timeframes = tuple(tf for tf in check_timeframes(timeframes) if tf != "1m")
        self._open: dict[tuple[str, str], _Forming] = {}
        self._session: Session | None = None
        self._trades: dict[str, _Forming] = {}
        self.dropped: Counter[str] = Counter()
        self.last_accepted = False  # whether the last on_bar() input was aggregated

    # -- input -------------------------------------------------------------------------------
    def on_bar(self, bar: Bar) -> list[Bar]:
        """Take one closed 1-minute bar; return the larger bars it closes (oldest first)."""
        self.last_accepted = False
        problem = bar_problem(bar)
        if problem is not None:
            return self._drop(problem, bar.symbol)
        session = self._session_of(bar.ts)
        if session is None:
            return self._drop("outside_session", bar.symbol)
        self.last_accepted = True
        closed: list[Bar] = []
        for tf in self.timeframes:
            end = self._bucket_end(session, bar.ts, tf)
            key = (bar.symbol, tf)
            current = self._open.get(key)
            if current is not None and current.end != end:
                closed.append(current.as_bar(bar.symbol, tf, current.end))
                current = None
            if current is None:
                self._open[key] = current = _Forming(end, bar.open, bar.high, bar.low, bar.close,
                                                     bar.volume, bar.ts)
            else:
                current.add(bar)
            if bar.ts >= end:
                closed.append(current.as_bar(bar.symbol, tf, end))
                del self._open[key]
        return closed

    def on_trade(self, trade: Trade) -> list[Bar]:
        """Build 1-minute bars from prints; returns the minute bars closed by this print (a
        minute closes when a print of a later minute arrives or ``flush`` passes its end)."""
        if not (math.isfinite(trade.price) and trade.price > 0 and trade.size >= 0):
            return self._drop("bad_trade", trade.symbol)
        session = self._session_of(trade.ts + timedelta(microseconds=1))
        if session is None:
            return self._drop("outside_session", trade.symbol)
        end = self._bucket_end(session, trade.ts + timedelta(microseconds=1), "1m")
        current = self._trades.get(trade.symbol)
        out: list[Bar] = []
        if current is not None and current.end != end:
            out.append(current.as_bar(trade.symbol, "1m", current.end))
            current = None
        p = trade.price
        if current is None:
            self._trades[trade.symbol] = _Forming(end, p, p, p, p, float(trade.size), trade.ts)
        else:
            current.high = max(current.high, p)
            current.low = min(current.low, p)
            current.close = p
            current.volume += trade.size
            current.last_ts = trade.ts
        return out

    def flush(self, now: datetime) -> list[Bar]:
        """Emit every bar (and every trade-built minute) whose close time is at or before
        ``now``: call it on a clock tick so a bucket whose last minute had no data still closes."""
        out: list[Bar] = []
        for symbol, forming in list(self._trades.items()):
            if forming.end <= now:
                out.append(forming.as_bar(symbol, "1m", forming.end))
                del self._trades[symbol]
        for (symbol, tf), forming in list(self._open.items()):
            if forming.end <= now:
                out.append(forming.as_bar(symbol, tf, forming.end))
                del self._open[(symbol, tf)]
        out.sort(key=lambda b: b.ts)
        return out

    # -- reading -----------------------------------------------------------------------------
    def forming(self, symbol: str, timeframe: str) -> Bar | None:
        """The bar still open for ``symbol`` and ``timeframe``, as known now (not closed!)."""
        current = (self._trades.get(symbol) if timeframe == "1m"
                   else self._open.get((symbol, timeframe)))
        if current is None:
            return None
        return current.as_bar(symbol, timeframe, current.last_ts)

    # -- internals ---------------------------------------------------------------------------
    def _drop(self, reason: str, symbol: str) -> list[Bar]:
        if reason not in self.dropped:
            log.warning("dropping bad market data: %s (first seen on %s)", reason, symbol)
        self.dropped[reason] += 1
        return []

    def _session_of(self, close_ts: datetime) -> Session | None:
        """The session whose regular hours contain the minute that closes at ``close_ts``."""
        s = self._session
        if s is None or not (s.open < close_ts <= s.close):
            s = self.calendar.session_for(close_ts - ONE_MINUTE)
            if s is None or not (s.open < close_ts <= s.close):
                return None
            self._session = s
        return s

    @staticmethod
    def _bucket_end(session: Session, close_ts: datetime, timeframe: str) -> datetime:
        minutes = TIMEFRAMES[timeframe]
        if minutes is None:
            return session.close
        elapsed = -((session.open - close_ts) // ONE_MINUTE)  # whole minutes since the open, ceil
        end = session.open + timedelta(minutes=-(-elapsed // minutes) * minutes)
        return min(end, session.close)


class ChainMinuteBars:
    """One bar per contract per minute, as arrays, for ``market.indicators.chain``.

    The price is the quote mid (options trade rarely; their quotes move every minute); trades
    only add volume. A contract with no valid quote in the minute gets a flat bar at its last
    mid and volume 0; one never quoted yet gets NaN (the chain engine keeps it cold). Bad
    quotes (``quote_problem``) are dropped and counted; symbols outside the chain are counted.
    """

    def __init__(self, symbols: Iterable[str]) -> None:
        self.symbols = list(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}
        n = len(self.symbols)
        self.last = np.full(n, np.nan)
        self._open = np.full(n, np.nan)
        self._high = np.full(n, np.nan)
        self._low = np.full(n, np.nan)
        self._volume = np.zeros(n)
        self.dropped: Counter[str] = Counter()

    def on_quote(self, quote: Quote) -> None:
        i = self.index.get(quote.symbol)
        if i is None:
            self.dropped["not_in_chain"] += 1
            return
        problem = quote_problem(quote)
        if problem is not None:
            self.dropped[problem] += 1
            return
        mid = (quote.bid + quote.ask) / 2.0
        if self._open[i] != self._open[i]:  # first quote of the minute
            self._open[i] = self._high[i] = self._low[i] = mid
        else:
            if mid > self._high[i]:
                self._high[i] = mid
            if mid < self._low[i]:
                self._low[i] = mid
        self.last[i] = mid

    def on_trade(self, trade: Trade) -> None:
        i = self.index.get(trade.symbol)
        if i is None or not trade.size >= 0:
            self.dropped["not_in_chain" if i is None else "bad_trade"] += 1
            return
        self._volume[i] += trade.size

    def close_minute(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(open, high, low, close, volume) of every contract for the minute just ended."""
        fresh = self._open == self._open
        last = self.last.copy()
        bars = (np.where(fresh, self._open, last), np.where(fresh, self._high, last),
                np.where(fresh, self._low, last), last, self._volume.copy())
        self._open[:] = self._high[:] = self._low[:] = np.nan
        self._volume[:] = 0.0
        return bars
