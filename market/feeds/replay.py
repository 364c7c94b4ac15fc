"""Replay of recorded real market data, released in time order.

The shipped files hold minute bars stamped at the start of each minute; a minute's values are
released at its end, so nothing is visible before it could have been known (no look-ahead).
Within one release time the order is: underlying bar, underlying quote, option trades, option
quotes — the same order every run, so replays are deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from market.data import Bar, Quote, Trade

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

        found = cls(underlying, day, pick("quotes"), pick("trades"), pick("open_interest"),
                    pick("1min"))
        if found.quotes is None and found.underlying_minute is None:
            raise FileNotFoundError(f"no replay data for {underlying} on {day} in {folder}")
        return found


@dataclass
class ReplayFeed:
    """Reads recorded days and yields their events in release-time order."""

    days: list[ReplayDay]
    regular_hours_only: bool = True
    open_interest: dict[str, int] = field(default_factory=dict)

    def events(self) -> Iterator[Event]:
        streams: list[Iterator[tuple[datetime, int, int, Event]]] = []
        for day in self.days:
            streams.extend(self._day_streams(day))
        for _ts, _rank, _seq, event in heapq.merge(*streams):
            yield event

    def _day_streams(self, day: ReplayDay) -> list[Iterator[tuple[datetime, int, int, Event]]]:
        out: list[Iterator[tuple[datetime, int, int, Event]]] = []
        if day.open_interest is not None:
            oi = pd.read_csv(day.open_interest, usecols=["occ_symbol", "open_interest"])
            self.open_interest.update(
                zip(oi.occ_symbol.tolist(), oi.open_interest.astype(int).tolist(), strict=True)
            )
        if day.underlying_minute is not None:
            out.append(self._underlying(day))
        if day.trades is not None:
            out.append(self._option_trades(day))
        if day.quotes is not None:
            out.append(self._option_quotes(day))
        return out

    @staticmethod
    def _release_times(column: pd.Series) -> list[datetime]:
        """Minute-start stamps to release datetimes (UTC), converting each distinct minute once."""
        codes, uniques = pd.factorize(column)
        released = [
            (pd.Timestamp(u).tz_convert("UTC") + ONE_MINUTE).to_pydatetime() for u in uniques
        ]
        return [released[c] for c in codes]

    def _underlying(self, day: ReplayDay) -> Iterator[tuple[datetime, int, int, Event]]:
        assert day.underlying_minute is not None
        df = pd.read_csv(day.underlying_minute)
        if self.regular_hours_only:
            df = df[df.regular_hours.astype(str) == "True"]
        df = df.reset_index(drop=True)
        times = self._release_times(df.timestamp)
        cols = [df[c].to_numpy(dtype=float) for c in (
            "open", "high", "low", "close", "volume", "bid_close", "ask_close", "bid_size",
            "ask_size")]
        sym = day.underlying
        for i, ts in enumerate(times):
            o, h, lo, c, v, b, a, bs, as_ = (col[i] for col in cols)
            if np.isfinite(c):
                yield ts, 0, i, Bar(sym, ts, o, h, lo, c, 0.0 if np.isnan(v) else v)
            if np.isfinite(b) and np.isfinite(a):
                yield ts, 1, i, Quote(sym, ts, b, a, int(bs), int(as_), sym)

    def _option_trades(self, day: ReplayDay) -> Iterator[tuple[datetime, int, int, Event]]:
        assert day.trades is not None
        df = pd.read_csv(day.trades, usecols=["timestamp", "occ_symbol", "close", "volume"])
        times = self._release_times(df.timestamp)
        syms = df.occ_symbol.tolist()
        prices = df.close.to_numpy(dtype=float).tolist()
        sizes = df.volume.to_numpy(dtype=np.int64).tolist()
        und = day.underlying
        for i, ts in enumerate(times):
            yield ts, 2, i, Trade(syms[i], ts, prices[i], sizes[i], und)

    def _option_quotes(self, day: ReplayDay) -> Iterator[tuple[datetime, int, int, Event]]:
        assert day.quotes is not None
        df = pd.read_csv(
            day.quotes,
            usecols=["timestamp", "occ_symbol", "bid_close", "bid_size", "ask_close", "ask_size"],
        )
        times = self._release_times(df.timestamp)
        syms = df.occ_symbol.tolist()
        # An empty bid means nobody bids: a real state for deep contracts, quoted as 0.
        bids = df.bid_close.fillna(0.0).to_numpy(dtype=float).tolist()
        # An empty ask is a one-sided market: quoted as 0 so it is dropped as "no_ask".
        asks = df.ask_close.fillna(0.0).to_numpy(dtype=float).tolist()
        bsz = df.bid_size.fillna(0).to_numpy(dtype=np.int64).tolist()
        asz = df.ask_size.fillna(0).to_numpy(dtype=np.int64).tolist()
        und = day.underlying
        for i, ts in enumerate(times):
            yield ts, 3, i, Quote(syms[i], ts, bids[i], asks[i], bsz[i], asz[i], und)
