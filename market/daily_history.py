"""Daily history kept as data arrives: what IV rank, IV percentile and 30-day volumes read.

At each session close `DailyRecorder` turns what `MarketState` saw into one `SessionRecord` per
underlying (the closing 30-day at-the-money IV, the option volume in all, of calls, of puts and
of each contract), folds it into the in-memory `DailyBook` and hands it to the store. At
start-up the book is loaded from the store (the last 252 sessions of IV, 30 of volume), so the
numbers survive restarts. Readers (`chain_from_state`, contract selection, strategies) ask the
book for the windows *before* the day they look at: today's partial session never counts,
and a backtest seeded with later days cannot see them (no look-ahead).

Definitions (decision 0340): the daily IV is `market.greeks.chain.atm_implied_vol` at 30
calendar days (strike nearest the underlying, call and put averaged, linear in total variance
between the expirations around 30 days) on the chain as of the session close; rank and
percentile are `market.daily_stats`'; a volume average is the mean over the underlying's last
30 recorded sessions, a session in which a contract did not trade counting as 0.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, Protocol

import numpy as np

from market.calendar import NEW_YORK, ExchangeCalendar, Session
from market.chain import OptionChain
from market.chain_from_state import chain_from_state
from market.daily_history_config import DailyHistoryConfig
from market.daily_stats import (
    DailyHistoryStore,
    DailyValue,
    RollingDaily,
    iv_percentile,
    iv_rank,
)
from market.greeks.chain import atm_implied_vol, with_greeks
from market.instruments import OptionRight, OptionSymbol, is_option_symbol
from market.state import MarketState

log = logging.getLogger(__name__)

IV_SERIES = "atm_iv_30d"
VOLUME_SERIES = "option_volume"
CALL_VOLUME_SERIES = "call_volume"
PUT_VOLUME_SERIES = "put_volume"
Side = Literal["all", "calls", "puts"]
_SIDE_SERIES: dict[Side, str] = {
    "all": VOLUME_SERIES,
    "calls": CALL_VOLUME_SERIES,
    "puts": PUT_VOLUME_SERIES,
}


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One underlying's values for one completed session."""

    underlying: str
    day: date
    atm_iv: float  # NaN when no expiration had an at-the-money IV
    call_volume: int
    put_volume: int
    contract_volumes: Mapping[str, int]  # contracts that traded (absent = 0)

    @property
    def option_volume(self) -> int:
        return self.call_volume + self.put_volume


class SessionHistoryStore(DailyHistoryStore, Protocol):
    """What the book and the recorder need of the store (implemented in `bot/store`)."""

    def load_daily(
        self, underlying: str, series: str, sessions: int, before: date | None = None
    ) -> Sequence[DailyValue]:
        """The last `sessions` values before `before` (all when None), oldest first."""
        ...

    def save_session(self, record: SessionRecord, source: str = "live") -> None:
        """Upsert a session: re-saving a day never adds to it (decision 0340)."""
        ...

    def load_contract_volumes(
        self, underlying: str, days: Sequence[date]
    ) -> dict[date, dict[str, int]]:
        """Each contract's volume on each of `days` (contracts that traded)."""
        ...

    def underlyings(self) -> list[str]:
        """Underlyings with any stored daily value."""
        ...


# -- computing a session ---------------------------------------------------------------------


def session_volumes(state: MarketState, underlying: str) -> tuple[int, int, dict[str, int]]:
    """(call volume, put volume, per-contract volume) of the session so far, from the prints
    `state` counted for the underlying's option contracts."""
    calls = puts = 0
    per_contract: dict[str, int] = {}
    for symbol, act in state.activity.items():
        und = act.underlying or state.underlying_of.get(symbol, "")
        volume = act.volume
        if und != underlying or symbol == underlying or volume <= 0 or not is_option_symbol(symbol):
            continue
        per_contract[symbol] = volume
        if OptionSymbol.parse(symbol).right is OptionRight.CALL:
            calls += volume
        else:
            puts += volume
    return calls, puts, per_contract


def closing_atm_iv(
    chain: OptionChain,
    calendar: ExchangeCalendar,
    rate: float,
    dividend_yield: float,
    target_days: float,
) -> float:
    """The chain's constant-maturity ATM IV from its mids (NaN when there is none)."""
    if len(chain) == 0 or not math.isfinite(chain.underlying_price):
        return math.nan
    with_iv, _ = with_greeks(chain, rate, dividend_yield, calendar)
    return two_sided_atm_iv(with_iv, calendar, target_days)


def two_sided_atm_iv(chain: OptionChain, calendar: ExchangeCalendar, target_days: float) -> float:
    """`atm_implied_vol` over the rows quoted on both sides. A zero bid is a valid one-sided
    market for a deep contract, but its mid is half the ask: at the money it would pull the
    IV far down (GOOG 2016-01-22 747.5 call, 0 x 20.10 at 12:58 on 2015-12-24, gave 10%)."""
    iv = chain.column("implied_volatility")
    masked = chain.with_columns(implied_volatility=np.where(chain.bid > 0, iv, np.nan))
    return atm_implied_vol(masked, calendar, target_days)


def session_record(
    state: MarketState,
    underlying: str,
    session: Session,
    calendar: ExchangeCalendar,
    rate: float,
    dividend_yield: float,
    max_quote_age: timedelta,
    target_days: float = 30.0,
) -> SessionRecord:
    """The values of `underlying` for `session`, from what `state` holds at its close."""
    chain = chain_from_state(state, underlying, session.close, max_quote_age)
    atm = closing_atm_iv(chain, calendar, rate, dividend_yield, target_days)
    calls, puts, per_contract = session_volumes(state, underlying)
    return SessionRecord(underlying, session.day, atm, calls, puts, per_contract)


def option_underlyings(state: MarketState) -> list[str]:
    """Underlyings whose option contracts were quoted or traded."""
    pairs = [
        *state.underlying_of.items(),
        *((sym, a.underlying) for sym, a in state.activity.items()),
    ]
    return sorted({und for sym, und in pairs if und and sym != und and is_option_symbol(sym)})


# -- the in-memory book ----------------------------------------------------------------------


@dataclass
class _Windows:
    iv: RollingDaily
    volume: dict[Side, RollingDaily]
    contracts: deque[tuple[date, dict[str, int]]]


@dataclass
class DailyBook:
    """The daily windows of every underlying, asked for the sessions before a given day."""

    config: DailyHistoryConfig = field(default_factory=DailyHistoryConfig)
    target_days: float = 30.0  # maturity of the daily ATM IV ([greeks] atm_iv_days)
    #: The underlying's ATM IV during the session, with the minute it was taken.
    current_iv: dict[str, tuple[datetime, float]] = field(default_factory=dict)
    _windows: dict[str, _Windows] = field(default_factory=dict)
    _averages: dict[tuple[str, date], tuple[int, dict[str, float]]] = field(default_factory=dict)

    def _of(self, underlying: str) -> _Windows:
        found = self._windows.get(underlying)
        if found is None:
            cfg = self.config
            found = self._windows[underlying] = _Windows(
                RollingDaily(cfg.iv_sessions),
                {side: RollingDaily(cfg.volume_sessions) for side in _SIDE_SERIES},
                deque(maxlen=cfg.volume_sessions),
            )
        return found

    # -- feeding --------------------------------------------------------------------------
    def record(self, rec: SessionRecord) -> None:
        """Fold a completed session in (a day already there is replaced)."""
        w = self._of(rec.underlying)
        if math.isfinite(rec.atm_iv):
            w.iv.record(rec.day, rec.atm_iv)
        values: dict[Side, int] = {
            "all": rec.option_volume,
            "calls": rec.call_volume,
            "puts": rec.put_volume,
        }
        for side, value in values.items():
            w.volume[side].record(rec.day, float(value))
        self._record_contracts(w, rec.day, dict(rec.contract_volumes))

    def _record_contracts(self, w: _Windows, day: date, volumes: dict[str, int]) -> None:
        if w.contracts and day < w.contracts[-1][0]:
            return
        if w.contracts and day == w.contracts[-1][0]:
            w.contracts.pop()
        w.contracts.append((day, volumes))
        self._averages.clear()

    def load_from(
        self,
        store: SessionHistoryStore,
        before: date | None = None,
        underlyings: Iterable[str] | None = None,
    ) -> int:
        """Fill from the store with the sessions before `before` (all when None); returns
        the number of underlyings loaded."""
        cfg = self.config
        names = list(underlyings) if underlyings is not None else store.underlyings()
        for und in names:
            w = self._of(und)
            for value in _before(store.load_daily(und, IV_SERIES, cfg.iv_sessions, before), before):
                w.iv.record(value.day, value.value)
            days: list[date] = []
            for side, series in _SIDE_SERIES.items():
                loaded = _before(store.load_daily(und, series, cfg.volume_sessions, before), before)
                for value in loaded:
                    w.volume[side].record(value.day, value.value)
                if side == "all":
                    days = [v.day for v in loaded]
            per_day = store.load_contract_volumes(und, days) if days else {}
            for day in days:
                self._record_contracts(w, day, per_day.get(day, {}))
        return len(names)

    # -- reading --------------------------------------------------------------------------
    def underlyings(self) -> list[str]:
        return sorted(self._windows)

    def iv_history(self, underlying: str, today: date) -> np.ndarray:
        w = self._windows.get(underlying)
        return np.empty(0) if w is None else w.iv.values(before=today)

    def iv_rank(self, underlying: str, current_iv: float, today: date) -> float:
        return iv_rank(current_iv, self.iv_history(underlying, today), self.config.min_iv_sessions)

    def iv_percentile(self, underlying: str, current_iv: float, today: date) -> float:
        return iv_percentile(
            current_iv, self.iv_history(underlying, today), self.config.min_iv_sessions
        )

    def volume_avg(self, underlying: str, today: date, side: Side = "all") -> tuple[float, int]:
        """(mean daily option volume of the side, sessions it covers) over the recorded
        sessions before `today`; the mean is NaN under `min_volume_sessions`."""
        w = self._windows.get(underlying)
        if w is None:
            return math.nan, 0
        values = w.volume[side].values(before=today)
        if values.size < self.config.min_volume_sessions or values.size == 0:
            return math.nan, int(values.size)
        return float(values.mean()), int(values.size)

    def contract_averages(self, underlying: str, today: date) -> tuple[int, dict[str, float]]:
        """(sessions, {contract: mean daily volume}) over the recorded sessions before
        `today`; contracts that never traded in them are absent (their mean is 0)."""
        key = (underlying, today)
        cached = self._averages.get(key)
        if cached is not None:
            return cached
        w = self._windows.get(underlying)
        sessions = [vols for day, vols in (w.contracts if w else ()) if day < today]
        totals: dict[str, float] = {}
        for vols in sessions:
            for symbol, volume in vols.items():
                totals[symbol] = totals.get(symbol, 0.0) + volume
        n = len(sessions)
        result = (n, {s: v / n for s, v in totals.items()} if n else {})
        self._averages[key] = result
        return result

    def contract_volume_avg(
        self, underlying: str, symbols: Sequence[str], today: date
    ) -> np.ndarray:
        """The 30-day average volume of each of `symbols` (NaN for all while the underlying
        has fewer than `min_volume_sessions` recorded sessions)."""
        n, averages = self.contract_averages(underlying, today)
        if n < self.config.min_volume_sessions or n == 0:
            return np.full(len(symbols), np.nan)
        return np.fromiter((averages.get(s, 0.0) for s in symbols), np.float64, len(symbols))


def _before(values: Sequence[DailyValue], before: date | None) -> list[DailyValue]:
    return [v for v in values if before is None or v.day < before]


def with_iv_rank(chain: OptionChain, book: DailyBook, calendar: ExchangeCalendar) -> OptionChain:
    """The chain (which carries `implied_volatility`) with its underlying's IV rank and
    percentile on every row: today's ATM IV from this chain against the stored window."""
    if len(chain) == 0:
        return chain
    today = chain.as_of.astimezone(NEW_YORK).date()
    minute = chain.as_of.replace(second=0, microsecond=0)
    cached = book.current_iv.get(chain.underlying)
    if cached is not None and cached[0] == minute:  # ~5 ms a chain: once a minute is enough
        current = cached[1]
    else:
        current = two_sided_atm_iv(chain, calendar, book.target_days)
        book.current_iv[chain.underlying] = (minute, current)
    rank = book.iv_rank(chain.underlying, current, today)
    percentile = book.iv_percentile(chain.underlying, current, today)
    if math.isnan(rank) and math.isnan(percentile):
        return chain
    n = len(chain)
    return chain.with_columns(iv_rank=np.full(n, rank), iv_percentile=np.full(n, percentile))


# -- the session-close hook ------------------------------------------------------------------

RateSource = Callable[[str], tuple[float, float]]  # underlying -> (rate, dividend yield)


@dataclass
class DailyRecorder:
    """At each session close: compute every underlying's record, fold it into the book, store
    it. A store failure is logged and counted, never raised into the engine. Hook
    `on_session_close` to the engine and `before_reset` to `MarketState.before_reset`."""

    market: MarketState
    book: DailyBook
    store: SessionHistoryStore | None
    calendar: ExchangeCalendar
    rates: RateSource
    failures: int = 0
    recorded: list[SessionRecord] = field(default_factory=list)
    _closed: Session | None = None

    def on_session_close(self, session: Session) -> list[SessionRecord]:
        """Record `session` now, and its volumes again when its totals are reset."""
        self._closed = session
        records = [self._make(und, session) for und in option_underlyings(self.market)]
        return self._keep(records)

    def before_reset(self) -> list[SessionRecord]:
        """Record the closed session's volumes once more, final: the engine handles the close
        at the first event stamped at it, before that event's prints (the last minute's bar)
        are counted. The IV stays the one taken at the close (later quotes are after hours).
        Saving a day again replaces it, never adds to it."""
        session, self._closed = self._closed, None
        if session is None:
            return []
        at_close = {r.underlying: r for r in self.recorded if r.day == session.day}
        records = []
        for und in option_underlyings(self.market):
            calls, puts, per_contract = session_volumes(self.market, und)
            closed = at_close.get(und)
            atm = closed.atm_iv if closed is not None else math.nan
            records.append(SessionRecord(und, session.day, atm, calls, puts, per_contract))
        return self._keep(records)

    def _make(self, und: str, session: Session) -> SessionRecord:
        rate, dividend_yield = self.rates(und)
        return session_record(
            self.market,
            und,
            session,
            self.calendar,
            rate,
            dividend_yield,
            self.book.config.max_quote_age,
            self.book.target_days,
        )

    def _keep(self, records: list[SessionRecord]) -> list[SessionRecord]:
        """Fold into the book and save; a store failure is logged and counted."""
        for rec in records:
            self.book.record(rec)
            if self.store is None:
                continue
            try:
                self.store.save_session(rec)
            except Exception:
                self.failures += 1
                log.exception("daily history of %s on %s not stored", rec.underlying, rec.day)
        self.recorded = records
        return records
