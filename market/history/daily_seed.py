"""Seed the bot's daily history (`market.daily_history`) from the Parquet history store.

A new deployment has no IV window and no 30-day volumes; a subscriber's history store has
years of them. For each stored (day, underlying): the contracts' day volumes from
`options_day` (calls, puts, per contract) and the closing 30-day ATM IV from `greeks_daily`
(the IV of each contract's day close, `market.history.derived`), through the same
`atm_implied_vol` the daemon uses at each close, on a chain whose quotes are the day closes.
Records go to the store with source "history"; seeding again changes nothing (the upsert
never adds a day to itself).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from market.calendar import ExchangeCalendar
from market.chain import OptionChain
from market.daily_history import SessionHistoryStore, SessionRecord
from market.greeks.chain import atm_implied_vol
from market.history.store import HistoryStore


@dataclass(slots=True)
class SeedReport:
    sessions: int = 0  # (day, underlying) records saved
    with_iv: int = 0  # of which with a closing ATM IV
    skipped: list[tuple[date, str, str]] = field(default_factory=list)  # (day, und, why)


def stored_days(
    store: HistoryStore, underlying: str, first: date | None = None, last: date | None = None
) -> list[date]:
    """Days with an `options_day` partition for `underlying`, within [first, last]."""
    return sorted(
        {
            p.day
            for p in store.partitions("options_day")
            if p.day is not None
            and p.underlying == underlying
            and (first is None or p.day >= first)
            and (last is None or p.day <= last)
        }
    )


def _np(column: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(column, np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def closing_iv_from_greeks(
    greeks: pa.Table,
    underlying: str,
    day: date,
    calendar: ExchangeCalendar,
    target_days: float = 30.0,
) -> float:
    """The constant-maturity ATM IV of a `greeks_daily` partition (NaN when none)."""
    if greeks.num_rows == 0:
        return math.nan
    close = _np(greeks.column("close"))
    spot = _np(greeks.column("underlying_close"))
    chain = OptionChain.build(
        underlying,
        calendar.session(day).close,
        greeks.column("symbol").to_pylist(),
        bid=close,
        ask=close,
        underlying_price=float(spot[0]),
        row_underlying_price=spot,
        expiration=greeks.column("expiration").to_numpy(zero_copy_only=False),
        strike=_np(greeks.column("strike")),
        is_call=pc.equal(greeks.column("right"), "C").to_numpy(zero_copy_only=False),
        implied_volatility=_np(greeks.column("iv")),
    )
    return atm_implied_vol(chain, calendar, target_days)


def session_from_history(
    store: HistoryStore,
    underlying: str,
    day: date,
    calendar: ExchangeCalendar,
    target_days: float = 30.0,
) -> SessionRecord | None:
    """One stored day of one underlying as a `SessionRecord` (None without `options_day`)."""
    options = store.read("options_day", day, underlying, ["symbol", "right", "volume"])
    if options is None:
        return None
    volume = np.nan_to_num(_np(options.column("volume")))
    is_call = pc.equal(options.column("right"), "C").to_numpy(zero_copy_only=False)
    symbols = options.column("symbol").to_pylist()
    per_contract = {s: int(v) for s, v in zip(symbols, volume.tolist(), strict=True) if v > 0}
    greeks = store.read("greeks_daily", day, underlying)
    atm = (
        math.nan
        if greeks is None
        else closing_iv_from_greeks(greeks, underlying, day, calendar, target_days)
    )
    return SessionRecord(
        underlying, day, atm, int(volume[is_call].sum()), int(volume[~is_call].sum()), per_contract
    )


def history_sessions(
    store: HistoryStore,
    underlyings: Sequence[str],
    first: date | None = None,
    last: date | None = None,
    calendar: ExchangeCalendar | None = None,
    target_days: float = 30.0,
) -> Iterator[SessionRecord]:
    """Every stored session of `underlyings` in [first, last], oldest first per underlying."""
    calendar = calendar or ExchangeCalendar()
    for und in (u.upper() for u in underlyings):
        for day in stored_days(store, und, first, last):
            if not calendar.is_session(day):
                continue
            rec = session_from_history(store, und, day, calendar, target_days)
            if rec is not None:
                yield rec


def seed(
    history: HistoryStore,
    target: SessionHistoryStore,
    underlyings: Sequence[str],
    first: date | None = None,
    last: date | None = None,
    calendar: ExchangeCalendar | None = None,
    target_days: float = 30.0,
) -> SeedReport:
    """Save every stored session of `underlyings` in [first, last] into `target`."""
    report = SeedReport()
    for und in (u.upper() for u in underlyings):
        if not stored_days(history, und, first, last):
            report.skipped.append((first or date.min, und, "no options_day stored"))
    for rec in history_sessions(history, underlyings, first, last, calendar, target_days):
        target.save_session(rec, source="history")
        report.sessions += 1
        if math.isfinite(rec.atm_iv):
            report.with_iv += 1
        else:
            report.skipped.append(
                (
                    rec.day,
                    rec.underlying,
                    "no closing ATM IV (run the derived history: greeks_daily)",
                )
            )
    return report
