"""Scalping's conditions one at a time on constructed quotes (boundaries included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from market.calendar import ExchangeCalendar
from market.clock import SimClock
from market.data import Bar, Quote, Trade
from market.indicators.config import IndicatorsConfig
from market.state import MarketState
from strategies.base import Signal
from strategies.scalping import Scalping, ScalpingConfig

T0 = datetime(2015, 12, 24, 15, 0, tzinfo=UTC)
CALL = "GOOG151231C00750000"
PUT = "GOOG151231P00750000"
CAL = ExchangeCalendar()


def _setup(**cfg: object) -> tuple[Scalping, MarketState]:
    market = MarketState(calendar=CAL)
    market.on_quote(Quote("GOOG", T0, 749.9, 750.1))
    for sym in (CALL, PUT):
        market.on_trade(Trade(sym, T0, 10.0, 100, "GOOG"))
    return Scalping(ScalpingConfig(**cfg), market, SimClock(T0)), market  # type: ignore[arg-type]


def _run(
    strategy: Scalping, symbol: str, start: float, end: float, spread: float = 0.20
) -> list[Signal]:
    strategy.on_quote(Quote(symbol, T0, start - spread / 2, start + spread / 2, underlying="GOOG"))
    return list(
        strategy.on_quote(
            Quote(
                symbol,
                T0 + timedelta(minutes=3),
                end - spread / 2,
                end + spread / 2,
                underlying="GOOG",
            )
        )
    )


def test_fires_at_exactly_the_momentum_threshold_and_not_below() -> None:
    strategy, _ = _setup()
    assert len(_run(strategy, CALL, 10.0, 10.30)) == 1  # +3.0%
    strategy, _ = _setup()
    assert _run(strategy, CALL, 10.0, 10.29) == []  # +2.9%


def test_put_premium_rising_gives_a_put_entry_with_exits() -> None:
    strategy, _ = _setup()
    [signal] = _run(strategy, PUT, 10.0, 10.50)
    assert signal.symbol == PUT and "put mid +5.0%" in signal.reason
    assert signal.target == pytest.approx(round(10.60 * 1.15, 2))
    assert signal.stop == pytest.approx(round(10.60 - 0.53, 2))


def test_spread_wider_than_the_limit_blocks() -> None:
    strategy, _ = _setup(max_spread=0.30)
    assert len(_run(strategy, CALL, 10.0, 10.5, spread=0.30)) == 1
    strategy, _ = _setup(max_spread=0.30)
    assert _run(strategy, CALL, 10.0, 10.5, spread=0.32) == []


def test_volume_below_minimum_blocks() -> None:
    strategy, _ = _setup(min_volume=100)
    assert len(_run(strategy, CALL, 10.0, 10.5)) == 1
    strategy, _ = _setup(min_volume=101)
    assert _run(strategy, CALL, 10.0, 10.5) == []


def test_delta_outside_band_blocks() -> None:
    # An at-the-money call has delta near 0.5: a band above it refuses it.
    strategy, _ = _setup(min_abs_delta=0.6, max_abs_delta=0.9)
    assert _run(strategy, CALL, 10.0, 10.5) == []


def test_rsi_band_blocks_calls_when_overbought_but_not_puts() -> None:
    strategy, market = _setup()
    market.indicators = IndicatorsConfig().build(CAL)
    open_ = datetime(2015, 12, 24, 14, 30, tzinfo=UTC)
    for i in range(20):  # 20 rising minutes: RSI 14 = 100
        market.on_bar(
            Bar("GOOG", open_ + timedelta(minutes=i + 1), 700 + i, 701 + i, 700 + i, 701 + i, 1000)
        )
    assert market.indicators.value("GOOG", "1m", "rsi14") > 70
    assert _run(strategy, CALL, 10.0, 10.5) == []
    assert len(_run(strategy, PUT, 10.0, 10.5)) == 1


def test_confidence_grows_with_momentum() -> None:
    weak, _ = _setup()
    strong, _ = _setup()
    [a] = _run(weak, CALL, 10.0, 10.31)
    [b] = _run(strong, CALL, 10.0, 11.0)
    assert 0 <= a.confidence < b.confidence <= 1


def test_cooldown_suppresses_a_repeat() -> None:
    strategy, _ = _setup()
    assert len(_run(strategy, CALL, 10.0, 10.5)) == 1
    later = Quote(CALL, T0 + timedelta(minutes=4), 10.9, 11.1, underlying="GOOG")
    assert strategy.on_quote(later) == []


def test_higher_timeframe_trend_must_agree() -> None:
    """Two falling hours: the 5m EMA 9 is below the EMA 21, so a call is refused and a put
    (RSI band opened, the fall makes RSI low) passes."""
    strategy, market = _setup(put_rsi_band=(0.0, 100.0))
    market.indicators = IndicatorsConfig().build(CAL)
    open_ = datetime(2015, 12, 24, 14, 30, tzinfo=UTC)
    for i in range(120):
        price = 800 - i * 0.4
        market.on_bar(
            Bar(
                "GOOG",
                open_ + timedelta(minutes=i + 1),
                price,
                price + 0.1,
                price - 0.5,
                price - 0.4,
                1000,
            )
        )
    ind = market.indicators
    assert ind.value("GOOG", "5m", "ema9") < ind.value("GOOG", "5m", "ema21")
    assert _run(strategy, CALL, 10.0, 10.5) == []
    [signal] = _run(strategy, PUT, 10.0, 10.5)
    assert "5m EMA9<EMA21" in signal.reason
    strategy, market = _setup(confirm_timeframe=None, call_rsi_band=(0.0, 100.0))
    market.indicators = ind
    assert len(_run(strategy, CALL, 10.0, 10.5)) == 1  # the rule switched off


def test_the_funnel_counts_where_each_quote_stopped() -> None:
    strategy, _ = _setup(min_volume=150)  # 100 contracts traded: every mover stops at volume
    _run(strategy, CALL, 10.0, 10.5, spread=0.80)  # both quotes too wide
    _run(strategy, PUT, 10.0, 10.1)  # +1%: no momentum
    _run(strategy, CALL, 10.0, 10.5)  # +5%, then too little volume
    assert strategy.funnel.counts == {
        "quotes": 6,
        "spread": 4,
        "momentum": 1,
        "cooldown": 1,
        "volume": 0,
        "moneyness": 0,
        "delta": 0,
        "rsi": 0,
        "trend": 0,
        "signal": 0,
    }
