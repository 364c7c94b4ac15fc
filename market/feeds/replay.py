"""Replay of recorded real market data, released in time order.

The shipped files hold minute bars stamped at the start of each minute; a minute's values are
released at its end, so nothing is visible before it could have been known (no look-ahead).
Within one release time the order is: underlying bar, underlying quote, option trades, option
quotes — the same order every run, so replays are deterministic.

Open interest is not an event: each figure is written into `ReplayFeed.open_interest` (pass the
consumer's dict, e.g. `MarketState.open_interest`) at the time the file says it was published
(pre-market, about 06:30), in the same time order as the events. A day's figures are therefore
visible from that day's first event and never earlier: a multi-day replay shows yesterday's
open interest until today's is published (decision 0265).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from market.data import Bar, Quote, Trade
from market.feeds.parsed_cache import read_csv_cached

Event = Quote | Trade | Bar

ONE_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class ReplayDay:
    """The files of one recorded day for one underlying."""

    underlying: str
    day: date
    quotes: Path | None
    trades: Path | None
    open_interest: Path | None
    underlying_minute: Path | None

    @classmethod
    def discover(cls, folder: Path, underlying: str, day: date) -> ReplayDay:
        """Find the files of `underlying` on `day` under `folder`; missing ones are None."""
        stem = f"{underlying}_{day.isoformat()}"

        def pick(suffix: str) -> Path | None:
            path = folder / f"{stem}_{suffix}.csv.gz"
            return path if path.exists() else None

        found = cls(
            underlying, day, pick("quotes"), pick("trades"), pick("open_interest"), pick("1min")
        )
        if found.quotes is None and found.underlying_minute is None:
            raise FileNotFoundError(f"no replay data for {underlying} on {day} in {folder}")
        return found


@dataclass(slots=True)
class _Stream:
    """One kind of event from one file: release keys plus the columns to build events from."""

    rank: int  # order in one release time: open interest, bar, und. quote, option trade, quote
    keys: np.ndarray  # release time, int64 nanoseconds since the epoch (UTC)
    build: Callable[[int], Event | None]  # None: applied in place, nothing to yield


@dataclass
class ReplayFeed:
    """Reads recorded days and yields their events in release-time order; open interest is
    written into `open_interest` as it is published (share the consumer's dict)."""

    days: list[ReplayDay]
    regular_hours_only: bool = True
    open_interest: dict[str, int] = field(default_factory=dict)

    def events(self) -> Iterator[Event]:
        """All days' events ordered by (release time, rank, file row, stream): one vectorized
        sort of integer keys, then events built lazily in that order."""
        streams: list[_Stream] = []
        for day in self.days:
            streams.extend(self._day_streams(day))
        streams = [s for s in streams if len(s.keys)]
        if not streams:
            return
        keys = np.concatenate([s.keys for s in streams])
        ranks = np.concatenate([np.full(len(s.keys), s.rank, np.int8) for s in streams])
        rows = np.concatenate([np.arange(len(s.keys)) for s in streams])
        which = np.concatenate([np.full(len(s.keys), i, np.int32) for i, s in enumerate(streams)])
        order = np.lexsort((which, rows, ranks, keys))
        builders = [s.build for s in streams]
        for i, row in zip(which[order].tolist(), rows[order].tolist(), strict=True):
            event = builders[i](row)
            if event is not None:
                yield event

    def _day_streams(self, day: ReplayDay) -> list[_Stream]:
        out: list[_Stream] = []
        if day.open_interest is not None:
            out.append(self._open_interest(day))
        if day.underlying_minute is not None:
            out.extend(self._underlying(day))
        if day.trades is not None:
            out.append(self._option_trades(day))
        if day.quotes is not None:
            out.append(self._option_quotes(day))
        return out

    @staticmethod
    def _release_times(column: pd.Series) -> tuple[list[datetime], np.ndarray]:
        """Minute-start stamps to release datetimes (UTC) and their int64 ns keys, converting
        each distinct minute once."""
        codes, uniques = pd.factorize(column)
        released = [pd.Timestamp(u).tz_convert("UTC") + ONE_MINUTE for u in uniques]
        as_ns = np.array([r.value for r in released], dtype=np.int64)
        as_dt = [r.to_pydatetime() for r in released]
        return [as_dt[c] for c in codes], as_ns[codes]

    def _open_interest(self, day: ReplayDay) -> _Stream:
        """Figures released at their publication stamp (a point in time, not a bar)."""
        assert day.open_interest is not None
        df = read_csv_cached(
            day.open_interest, usecols=["timestamp", "occ_symbol", "open_interest"]
        ).dropna()
        codes, uniques = pd.factorize(df.timestamp)
        stamps = np.array([pd.Timestamp(u).value for u in uniques], dtype=np.int64)
        syms = df.occ_symbol.tolist()
        values = df.open_interest.astype(np.int64).tolist()
        sink = self.open_interest

        def publish(i: int) -> None:
            sink[syms[i]] = values[i]

        return _Stream(-1, stamps[codes], publish)

    def _underlying(self, day: ReplayDay) -> list[_Stream]:
        assert day.underlying_minute is not None
        df = read_csv_cached(day.underlying_minute)
        if self.regular_hours_only:
            if "regular_hours" in df:
                df = df[df.regular_hours.astype(str) == "True"]
            else:  # index minute files: no flag (and no early close among them)
                hhmm = df.timestamp.str[11:16]
                df = df[(hhmm >= "09:30") & (hhmm < "16:00")]
        df = df.reset_index(drop=True)
        times, keys = self._release_times(df.timestamp)
        # Index files carry no volume and no quotes: those columns read as missing.
        o, h, lo, c, v, b, a, bs, as_ = (
            df[col].to_numpy(dtype=float) if col in df else np.full(len(df), np.nan)
            for col in (
                "open",
                "high",
                "low",
                "close",
                "volume",
                "bid_close",
                "ask_close",
                "bid_size",
                "ask_size",
            )
        )
        sym = day.underlying
        has_bar = np.flatnonzero(np.isfinite(c))
        has_quote = np.flatnonzero(np.isfinite(b) & np.isfinite(a))
        vol = np.nan_to_num(v, nan=0.0)

        def bar(k: int) -> Event:
            i = int(has_bar[k])
            return Bar(
                sym, times[i], float(o[i]), float(h[i]), float(lo[i]), float(c[i]), float(vol[i])
            )

        def quote(k: int) -> Event:
            i = int(has_quote[k])
            return Quote(sym, times[i], float(b[i]), float(a[i]), int(bs[i]), int(as_[i]), sym)

        return [_Stream(0, keys[has_bar], bar), _Stream(1, keys[has_quote], quote)]

    def _option_trades(self, day: ReplayDay) -> _Stream:
        assert day.trades is not None
        df = read_csv_cached(day.trades, usecols=["timestamp", "occ_symbol", "close", "volume"])
        times, keys = self._release_times(df.timestamp)
        syms = df.occ_symbol.tolist()
        prices = df.close.to_numpy(dtype=float).tolist()
        sizes = df.volume.to_numpy(dtype=np.int64).tolist()
        und = _file_underlying(day.trades, day.underlying)

        def trade(i: int) -> Event:
            return Trade(syms[i], times[i], prices[i], sizes[i], und)

        return _Stream(2, keys, trade)

    def _option_quotes(self, day: ReplayDay) -> _Stream:
        assert day.quotes is not None
        df = read_csv_cached(
            day.quotes,
            usecols=["timestamp", "occ_symbol", "bid_close", "bid_size", "ask_close", "ask_size"],
        )
        times, keys = self._release_times(df.timestamp)
        syms = df.occ_symbol.tolist()
        # An empty bid means nobody bids: a real state for deep contracts, quoted as 0.
        bids = df.bid_close.fillna(0.0).to_numpy(dtype=float).tolist()
        # An empty ask is a one-sided market: quoted as 0 so it is dropped as "no_ask".
        asks = df.ask_close.fillna(0.0).to_numpy(dtype=float).tolist()
        bsz = df.bid_size.fillna(0).to_numpy(dtype=np.int64).tolist()
        asz = df.ask_size.fillna(0).to_numpy(dtype=np.int64).tolist()
        und = _file_underlying(day.quotes, day.underlying)

        def quote(i: int) -> Event:
            return Quote(syms[i], times[i], bids[i], asks[i], bsz[i], asz[i], und)

        return _Stream(3, keys, quote)


def _file_underlying(path: Path, default: str) -> str:
    """The underlying an option file names (SPXW files trade on SPX), else `default`."""
    head = pd.read_csv(path, nrows=1)
    if "underlying" in head and len(head) and isinstance(head.underlying.iloc[0], str):
        return str(head.underlying.iloc[0])
    return default
