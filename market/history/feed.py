"""Replay events straight from the history store, in the same order and with the same meaning as
`market.feeds.replay.ReplayFeed`, so a backtest can run on any stored day.

Per underlying and day the streams are: the underlying's minute bars (released at the minute's
end), the underlying's quotes, option trades (tick prints when `options_trades` is stored, else
one aggregated Trade per contract-minute from `options_minute`, released at the minute's end) and
option quotes. Ties at one release time go bar, quote, option trades, option quotes — the
replay feed's order. Open interest of the day fills `open_interest` before the day's events.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from market.calendar import ExchangeCalendar
from market.data import Bar, Quote, Trade
from market.history.store import HistoryStore

Event = Quote | Trade | Bar
_Keyed = tuple[datetime, int, int, int, Event]

ONE_MINUTE_NS = 60 * 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _datetimes(ns: np.ndarray) -> list[datetime]:
    """int64 ns → aware UTC datetimes, converting each distinct stamp once."""
    uniques, inverse = np.unique(ns, return_inverse=True)
    converted = [_EPOCH + timedelta(microseconds=int(u) // 1000) for u in uniques]
    return [converted[i] for i in inverse]


def _ns(table: pa.Table, column: str) -> np.ndarray:
    return table.column(column).cast(pa.int64()).to_numpy()


def _floats(table: pa.Table, column: str, fill: float | None = None) -> list[float]:
    col = table.column(column)
    if fill is not None:
        col = pc.fill_null(col, fill)
    return [float(x) for x in col.to_numpy(zero_copy_only=False)]


def _ints(table: pa.Table, column: str) -> list[int]:
    values = pc.fill_null(table.column(column), 0).to_numpy(zero_copy_only=False)
    return [int(x) for x in np.nan_to_num(values.astype(float))]


@dataclass
class HistoryFeed:
    """Events of `underlyings` on `days` from `store`, in release-time order."""

    store: HistoryStore
    underlyings: Sequence[str]
    days: Sequence[date]
    regular_hours_only: bool = True
    calendar: ExchangeCalendar = field(default_factory=ExchangeCalendar)
    open_interest: dict[str, int] = field(default_factory=dict)

    def events(self) -> Iterator[Event]:
        streams: list[Iterator[_Keyed]] = []
        for day in self.days:
            for und in self.underlyings:
                streams.extend(self._day_streams(day, und.upper(), len(streams)))
        if not streams:
            raise FileNotFoundError(
                f"no stored history for {', '.join(self.underlyings)} on "
                f"{', '.join(d.isoformat() for d in self.days)} in {self.store.root}")
        for *_key, event in heapq.merge(*streams):
            yield event

    def _day_streams(self, day: date, und: str, first_id: int) -> list[Iterator[_Keyed]]:
        oi = self.store.read("open_interest", day, und, ["symbol", "open_interest"])
        if oi is not None:
            self.open_interest.update(zip(oi.column("symbol").to_pylist(),
                                          oi.column("open_interest").to_pylist(), strict=True))
        window = self._session_ns(day)
        out: list[Iterator[_Keyed]] = []
        bars = self.store.read("stocks_minute", day, und)
        if bars is not None:
            out.append(self._underlying_bars(bars, und, window, first_id + len(out)))
        quotes = self.store.read("stocks_quotes", day, und)
        if quotes is not None:
            out.append(self._quotes(quotes, und, 1, window, first_id + len(out), is_option=False))
        ticks = self.store.read("options_trades", day, und)
        if ticks is not None:
            out.append(self._option_ticks(ticks, und, first_id + len(out)))
        else:
            minute = self.store.read("options_minute", day, und)
            if minute is not None:
                out.append(self._option_minute_trades(minute, und, first_id + len(out)))
        option_quotes = self.store.read("options_quotes", day, und)
        if option_quotes is not None:
            out.append(self._quotes(option_quotes, und, 3, None, first_id + len(out),
                                    is_option=True))
        return out

    def _session_ns(self, day: date) -> tuple[int, int] | None:
        if not self.regular_hours_only or not self.calendar.is_session(day):
            return None
        session = self.calendar.session(day)
        return (int(session.open.timestamp()) * 10**9, int(session.close.timestamp()) * 10**9)

    def _underlying_bars(self, table: pa.Table, und: str, window: tuple[int, int] | None,
                         sid: int) -> Iterator[_Keyed]:
        start = _ns(table, "window_start")
        if window is not None:
            keep = (start >= window[0]) & (start < window[1])
            table, start = table.filter(pa.array(keep)), start[keep]
        times = _datetimes(start + ONE_MINUTE_NS)
        o, h, lo, c = (_floats(table, k) for k in ("open", "high", "low", "close"))
        v = _floats(table, "volume", fill=0.0)
        for i, ts in enumerate(times):
            if np.isfinite(c[i]):
                vol = 0.0 if np.isnan(v[i]) else v[i]
                yield ts, 0, sid, i, Bar(und, ts, o[i], h[i], lo[i], c[i], vol)

    def _quotes(self, table: pa.Table, und: str, rank: int, window: tuple[int, int] | None,
                sid: int, *, is_option: bool) -> Iterator[_Keyed]:
        stamps = _ns(table, "sip_timestamp")
        if window is not None:  # a quote stamped at t describes the market just before t
            keep = (stamps > window[0]) & (stamps <= window[1])
            table, stamps = table.filter(pa.array(keep)), stamps[keep]
        times = _datetimes(stamps)
        syms = table.column("symbol").to_pylist()
        # An empty bid is nobody bidding (0); an empty ask a one-sided market (0 → dropped).
        bids, asks = _floats(table, "bid_price", 0.0), _floats(table, "ask_price", 0.0)
        bsz, asz = _ints(table, "bid_size"), _ints(table, "ask_size")
        for i, ts in enumerate(times):
            yield ts, rank, sid, i, Quote(syms[i], ts, bids[i], asks[i], bsz[i], asz[i], und)

    def _option_minute_trades(self, table: pa.Table, und: str, sid: int) -> Iterator[_Keyed]:
        times = _datetimes(_ns(table, "window_start") + ONE_MINUTE_NS)
        syms = table.column("symbol").to_pylist()
        prices = _floats(table, "close")
        sizes = _ints(table, "volume")
        for i, ts in enumerate(times):
            yield ts, 2, sid, i, Trade(syms[i], ts, prices[i], sizes[i], und)

    def _option_ticks(self, table: pa.Table, und: str, sid: int) -> Iterator[_Keyed]:
        table = table.sort_by("sip_timestamp")
        times = _datetimes(_ns(table, "sip_timestamp"))
        syms = table.column("symbol").to_pylist()
        prices = _floats(table, "price")
        sizes = _ints(table, "size")
        exchanges = pc.fill_null(table.column("exchange"), 0).to_pylist()
        for i, ts in enumerate(times):
            yield ts, 2, sid, i, Trade(syms[i], ts, prices[i], sizes[i], und,
                                       str(exchanges[i] or ""))
