"""Daily history: a session's values from MarketState, the book's windows, and the values on
the chain, checked against hand computations (the BSM prices come from scipy in this file)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import norm

from market.calendar import ExchangeCalendar
from market.chain_from_state import chain_from_state
from market.daily_history import (
    DailyBook,
    DailyHistoryConfig,
    DailyRecorder,
    SessionRecord,
    option_underlyings,
    session_record,
    session_volumes,
    with_iv_rank,
)
from market.daily_stats import DailyValue
from market.data import Quote, Trade
from market.greeks.chain import with_greeks
from market.state import MarketState

D1, D2, D3 = date(2015, 12, 21), date(2015, 12, 22), date(2015, 12, 23)
A, B, C = "GOOG160122C00750000", "GOOG160122P00750000", "GOOG160122C00760000"
SPOT, RATE, SIGMA = 750.0, 0.01, 0.25
CLOSE = datetime(2015, 12, 23, 21, 0, tzinfo=UTC)  # 16:00 New York
T = 30 / 365  # 2015-12-23 16:00 to 2016-01-22 16:00 New York, ACT/365


@pytest.fixture(scope="module")
def calendar() -> ExchangeCalendar:
    return ExchangeCalendar()


def bsm(call: bool, strike: float, sigma: float) -> float:
    d1 = (math.log(SPOT / strike) + (RATE + sigma**2 / 2) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    disc = math.exp(-RATE * T)
    if call:
        return float(SPOT * norm.cdf(d1) - strike * disc * norm.cdf(d2))
    return float(strike * disc * norm.cdf(-d2) - SPOT * norm.cdf(-d1))


def quoted_state() -> MarketState:
    """ATM call and put priced at 25% vol, a 760 call at 40%, the stock at 750 mid."""
    state = MarketState()
    ts = CLOSE - timedelta(minutes=1)
    state.on_quote(Quote("GOOG", ts, SPOT - 0.05, SPOT + 0.05, underlying="GOOG"))
    for symbol, call, strike, sigma in (
        (A, True, 750.0, SIGMA),
        (B, False, 750.0, SIGMA),
        (C, True, 760.0, 0.40),
    ):
        price = bsm(call, strike, sigma)
        state.on_quote(Quote(symbol, ts, price - 0.05, price + 0.05, underlying="GOOG"))
    return state


def test_session_volumes_split_calls_and_puts_per_underlying() -> None:
    state = MarketState()
    ts = CLOSE - timedelta(minutes=5)
    for symbol, size, und in (
        (A, 10, "GOOG"),
        (A, 5, "GOOG"),
        (B, 7, "GOOG"),
        ("SPY160122C00200000", 100, "SPY"),
        ("GOOG", 1000, "GOOG"),
    ):
        state.on_trade(Trade(symbol, ts, 1.0, size, underlying=und))  # never quoted
    calls, puts, per_contract = session_volumes(state, "GOOG")
    assert (calls, puts, per_contract) == (15, 7, {A: 15, B: 7})
    assert option_underlyings(state) == ["GOOG", "SPY"]


def test_closing_iv_is_the_atm_pair_at_thirty_days(calendar: ExchangeCalendar) -> None:
    state = quoted_state()
    state.on_trade(Trade(A, CLOSE - timedelta(minutes=2), 20.0, 12, underlying="GOOG"))
    session = calendar.session(D3)
    rec = session_record(state, "GOOG", session, calendar, RATE, 0.0, timedelta(minutes=15))
    assert rec.day == D3 and rec.underlying == "GOOG"
    assert rec.atm_iv == pytest.approx(SIGMA, abs=1e-8)  # the 760 call's 40% is not ATM
    assert (rec.call_volume, rec.put_volume, dict(rec.contract_volumes)) == (12, 0, {A: 12})


def test_closing_iv_leaves_out_quotes_stale_at_the_close(calendar: ExchangeCalendar) -> None:
    state = quoted_state()
    old = CLOSE - timedelta(hours=1)
    for symbol in (A, B):  # the ATM pair stopped quoting an hour before the close
        q = state.quotes[symbol]
        state.on_quote(Quote(symbol, old, q.bid, q.ask, underlying="GOOG"))
    rec = session_record(
        state, "GOOG", calendar.session(D3), calendar, RATE, 0.0, timedelta(minutes=15)
    )
    assert rec.atm_iv == pytest.approx(0.40, abs=1e-8)  # the only fresh quote left


def record(day: date, volumes: dict[str, int], iv: float = math.nan) -> SessionRecord:
    calls = sum(v for s, v in volumes.items() if s[10] == "C")
    return SessionRecord("GOOG", day, iv, calls, sum(volumes.values()) - calls, volumes)


def test_book_volume_averages_count_a_day_without_prints_as_zero() -> None:
    book = DailyBook(DailyHistoryConfig(min_volume_sessions=2))
    book.record(record(D1, {A: 30, B: 10}))
    book.record(record(D2, {A: 50, C: 20}))
    assert book.volume_avg("GOOG", D3) == (55.0, 2)  # (40 + 70) / 2
    assert book.volume_avg("GOOG", D3, "calls") == (50.0, 2)  # (30 + 70) / 2
    assert book.volume_avg("GOOG", D3, "puts") == (5.0, 2)
    averages = book.contract_volume_avg("GOOG", [A, B, C, "GOOG160122P00700000"], D3)
    assert averages.tolist() == [40.0, 5.0, 10.0, 0.0]


def test_book_never_counts_the_day_asked_about_or_later() -> None:
    book = DailyBook(DailyHistoryConfig(min_volume_sessions=2))
    book.record(record(D1, {A: 30}))
    book.record(record(D2, {A: 50}))
    avg, sessions = book.volume_avg("GOOG", D2)  # during D2: only D1 is complete
    assert math.isnan(avg) and sessions == 1
    assert np.isnan(book.contract_volume_avg("GOOG", [A], D2)).all()
    assert book.volume_avg("SPY", D3)[1] == 0


def test_book_replaces_a_day_and_keeps_only_its_window() -> None:
    book = DailyBook(DailyHistoryConfig(volume_sessions=2, min_volume_sessions=1))
    book.record(record(D1, {A: 10}))
    book.record(record(D2, {A: 20}))
    book.record(record(D2, {A: 30}))  # the same day again: replaced, not added
    book.record(record(D1, {A: 99}))  # older than the newest: refused
    assert book.volume_avg("GOOG", D3) == (20.0, 2)
    book.record(record(D3, {A: 50}))  # the window holds two sessions: D1 leaves
    assert book.volume_avg("GOOG", date(2015, 12, 24)) == (40.0, 2)
    assert book.contract_volume_avg("GOOG", [A], date(2015, 12, 24)).tolist() == [40.0]


def test_book_iv_rank_and_percentile_by_hand() -> None:
    book = DailyBook(DailyHistoryConfig(min_iv_sessions=3))
    for day, iv in ((D1, 0.20), (D2, 0.30)):
        book.record(record(day, {}, iv))
    assert math.isnan(book.iv_rank("GOOG", 0.28, D3))  # two sessions, three needed
    book.record(record(D3, {}, 0.25))
    later = date(2015, 12, 24)
    assert book.iv_rank("GOOG", 0.28, later) == pytest.approx(80.0)  # (0.28-0.20)/(0.30-0.20)
    assert book.iv_percentile("GOOG", 0.28, later) == pytest.approx(200 / 3)  # 2 of 3 below
    assert book.iv_rank("GOOG", 0.35, later) == pytest.approx(100.0)


def test_chain_carries_volume_average_and_iv_rank(calendar: ExchangeCalendar) -> None:
    state = quoted_state()
    book = DailyBook(DailyHistoryConfig(min_volume_sessions=2, min_iv_sessions=2))
    book.record(record(D1, {A: 30, B: 10}, 0.20))
    book.record(record(D2, {A: 50}, 0.30))
    state.daily = book
    chain = chain_from_state(state, "GOOG", CLOSE)
    assert [chain.get(s).volume_avg_30d for s in (A, B, C)] == [40.0, 5.0, 0.0]  # type: ignore[union-attr]
    ranked = with_iv_rank(with_greeks(chain, RATE, 0.0, calendar)[0], book, calendar)
    contract = ranked.get(A)
    assert contract is not None
    # today's ATM IV is 25%: rank 100 * (0.25 - 0.20) / (0.30 - 0.20) = 50, percentile 50
    assert contract.iv_rank == pytest.approx(50.0, abs=1e-6)
    assert contract.iv_percentile == pytest.approx(50.0)


def test_chain_without_history_has_no_values() -> None:
    state = quoted_state()
    state.daily = DailyBook()
    contract = chain_from_state(state, "GOOG", CLOSE).get(A)
    assert contract is not None and contract.volume_avg_30d is None


class FakeStore:
    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.saved: list[SessionRecord] = []

    def save_session(self, record: SessionRecord, source: str = "live") -> None:
        if self.fail:
            raise RuntimeError("disk full")
        self.saved.append(record)

    def load_daily(
        self, underlying: str, series: str, sessions: int, before: date | None = None
    ) -> Sequence[DailyValue]:
        return []

    def save_daily(self, underlying: str, series: str, value: DailyValue) -> None:
        raise AssertionError("not used")

    def load_contract_volumes(
        self, underlying: str, days: Sequence[date]
    ) -> dict[date, dict[str, int]]:
        return {}

    def underlyings(self) -> list[str]:
        return []


@pytest.mark.parametrize("fail", [False, True])
def test_recorder_folds_each_close_in_and_survives_a_store_failure(
    calendar: ExchangeCalendar, fail: bool
) -> None:
    state = quoted_state()
    state.on_trade(Trade(B, CLOSE - timedelta(minutes=3), 20.0, 8, underlying="GOOG"))
    book = DailyBook(DailyHistoryConfig(min_volume_sessions=1))
    store = FakeStore(fail)
    recorder = DailyRecorder(state, book, store, calendar, lambda und: (RATE, 0.0))
    (rec,) = recorder.on_session_close(calendar.session(D3))
    assert rec.put_volume == 8 and rec.atm_iv == pytest.approx(SIGMA, abs=1e-8)
    assert book.volume_avg("GOOG", date(2015, 12, 24), "puts") == (8.0, 1)
    assert (recorder.failures, len(store.saved)) == ((1, 0) if fail else (0, 1))


def test_config_refuses_a_minimum_larger_than_its_window() -> None:
    with pytest.raises(ValueError, match="min_volume_sessions must not exceed volume_sessions"):
        DailyHistoryConfig(min_volume_sessions=40)
    with pytest.raises(ValueError, match="min_iv_sessions must not exceed iv_sessions"):
        DailyHistoryConfig(iv_sessions=10)


def test_recorder_counts_prints_after_the_close_but_keeps_the_closing_iv(
    calendar: ExchangeCalendar,
) -> None:
    state = quoted_state()
    state.on_trade(Trade(A, CLOSE - timedelta(minutes=3), 20.0, 8, underlying="GOOG"))
    book = DailyBook(DailyHistoryConfig(min_volume_sessions=1, min_iv_sessions=1))
    store = FakeStore(fail=False)
    recorder = DailyRecorder(state, book, store, calendar, lambda und: (RATE, 0.0))
    state.before_reset.append(recorder.before_reset)
    recorder.on_session_close(calendar.session(D3))
    # the last minute's bar, released at the close, is handled after it; then after-hours
    # quotes move the stock, which must not change the closing IV
    state.on_trade(Trade(A, CLOSE, 20.0, 5, underlying="GOOG"))
    state.on_quote(Quote("GOOG", CLOSE + timedelta(hours=2), 799.95, 800.05, underlying="GOOG"))
    state.reset_session()
    assert [(r.call_volume, r.atm_iv) for r in store.saved] == [
        (8, pytest.approx(SIGMA, abs=1e-8)),
        (13, pytest.approx(SIGMA, abs=1e-8)),
    ]
    later = date(2015, 12, 24)
    assert book.volume_avg("GOOG", later, "calls") == (13.0, 1)
    assert book.iv_history("GOOG", later).tolist() == [pytest.approx(SIGMA, abs=1e-8)]
    assert recorder.before_reset() == []  # once per closed session


def test_closing_iv_ignores_a_one_sided_quote_at_the_money(calendar: ExchangeCalendar) -> None:
    state = quoted_state()
    ask = state.quotes[A].ask
    state.on_quote(Quote(A, CLOSE - timedelta(minutes=1), 0.0, ask + 5.0, underlying="GOOG"))
    rec = session_record(
        state, "GOOG", calendar.session(D3), calendar, RATE, 0.0, timedelta(minutes=15)
    )
    assert rec.atm_iv == pytest.approx(SIGMA, abs=1e-8)  # the put alone; the call's mid is junk


def test_the_current_iv_is_computed_once_a_minute(calendar: ExchangeCalendar) -> None:
    state = quoted_state()
    book = DailyBook(DailyHistoryConfig(min_iv_sessions=2))
    book.record(record(D1, {}, 0.20))
    book.record(record(D2, {}, 0.30))
    minute = CLOSE - timedelta(minutes=1)
    book.current_iv["GOOG"] = (minute, 0.22)  # as if taken earlier in this minute
    chain = with_greeks(
        chain_from_state(state, "GOOG", minute + timedelta(seconds=30)), RATE, 0.0, calendar
    )[0]
    assert with_iv_rank(chain, book, calendar).column("iv_rank")[0] == pytest.approx(20.0)
    later = with_greeks(chain_from_state(state, "GOOG", CLOSE), RATE, 0.0, calendar)[0]
    assert with_iv_rank(later, book, calendar).column("iv_rank")[0] == pytest.approx(50.0)
    assert book.current_iv["GOOG"] == (CLOSE, pytest.approx(SIGMA, abs=1e-8))
