"""Momentum breakout's conditions on constructed bars, prints and quotes."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from market.calendar import ExchangeCalendar
from market.clock import SimClock
from market.daily_history import DailyBook, DailyHistoryConfig, SessionRecord
from market.data import Bar, Quote, Trade
from market.flow.tracker import FlowTracker
from market.indicators.config import IndicatorsConfig
from market.state import MarketState
from strategies.base import Signal
from strategies.momentum_breakout import MomentumBreakout, MomentumBreakoutConfig

OPEN = datetime(2015, 12, 24, 14, 30, tzinfo=UTC)
CAL = ExchangeCalendar()
FLAT = 40
BASE = 750.0


def _scenario(move: float = 0.031, window_volume: float = 3000, spike: float | None = None,
              market: MarketState | None = None, **cfg: Any) -> list[Signal]:
    """40 flat minutes at 750, then 5 minutes trending to 750 x (1 + move); returns the
    signals of the last bar. Option prints: 10 a minute per side, then 100 on the move's side.
    `spike` puts one earlier bar's high (or low) there, a level the move must break."""
    market = market or MarketState(calendar=CAL, indicators=IndicatorsConfig().build(CAL),
                                   flow=FlowTracker())
    config = MomentumBreakoutConfig(**{"window": 5, "min_session_bars": 10,
                                       "level_lookback": 10, "confirm_timeframe": None, **cfg})
    strategy = MomentumBreakout(config, market, SimClock(OPEN))
    end = BASE * (1 + move)
    strike = round(end / 5) * 5
    call, put = f"GOOG151231C00{strike * 1000:06.0f}", f"GOOG151231P00{strike * 1000:06.0f}"
    out: list[Signal] = []
    for i in range(FLAT + 5):
        ts = OPEN + timedelta(minutes=i + 1)
        price = BASE if i < FLAT else BASE + (end - BASE) * (i - FLAT + 1) / 5
        moving = i >= FLAT
        high, low = price + 0.05, price - 0.05
        if spike is not None and i == FLAT - 3:
            high, low = max(high, spike), min(low, spike)
        for sym, bullish in ((call, True), (put, False)):
            size = 100 if moving and bullish == (move > 0) else 10
            market.on_trade(Trade(sym, ts, 5.0, size, "GOOG"))
        market.on_quote(Quote("GOOG", ts, price - 0.05, price + 0.05))
        market.on_quote(Quote(call, ts, 8.4, 8.6, underlying="GOOG"))
        market.on_quote(Quote(put, ts, 8.4, 8.6, underlying="GOOG"))
        bar = Bar("GOOG", ts, price, high, low, price, window_volume if moving else 1000)
        market.on_bar(bar)
        out = strategy.on_bar(bar)
    return out


def test_bullish_break_buys_a_call_with_a_readable_reason() -> None:
    [signal] = _scenario()
    assert "C00" in signal.symbol and signal.underlying == "GOOG"
    for part in ("GOOG +3.10% in 5m", "stock volume 2.5x", "call volume", "MACD 1m crossed up",
                 "through resistance", "buy GOOG151231C"):
        assert part in signal.reason, part
    assert signal.target == round(8.6 * 1.5, 2) and signal.stop == round(8.6 * 0.8, 2)
    assert signal.time_stop == timedelta(hours=2)


def test_bearish_break_buys_a_put() -> None:
    [signal] = _scenario(move=-0.031)
    assert "P00" in signal.symbol and "through support" in signal.reason


def test_move_below_threshold_does_not_fire() -> None:
    assert _scenario(move=0.029) == []


def test_stock_volume_below_ratio_does_not_fire() -> None:
    assert _scenario(window_volume=1000) == []


def test_option_volume_ratio_is_required() -> None:
    assert _scenario(min_option_volume_ratio=100.0) == []


def test_no_break_of_the_earlier_high_does_not_fire() -> None:
    assert _scenario(spike=BASE * 1.05) == []


def test_higher_timeframe_rule_blocks_when_it_must_be_warm() -> None:
    assert _scenario(confirm_timeframe="15m", confirm_when_cold=False) == []


def test_no_macd_crossover_on_a_cold_timeframe_does_not_fire() -> None:
    assert _scenario(macd_timeframe="15m") == []  # a 15m MACD is not warm after 45 minutes


def _with_history(call_daily: float, sessions: int = 1, needed: int = 1) -> MarketState:
    """A market whose daily history holds `sessions` days of `call_daily` call volume (and
    as many puts) before 2015-12-24."""
    book = DailyBook(DailyHistoryConfig(min_volume_sessions=needed))
    for i in range(sessions):
        day = date(2015, 12, 23) - timedelta(days=sessions - i)
        book.record(SessionRecord("GOOG", day, math.nan, int(call_daily), int(call_daily), {}))
    return MarketState(calendar=CAL, indicators=IndicatorsConfig().build(CAL),
                       flow=FlowTracker(), daily=book)


def test_stored_thirty_day_average_is_the_option_baseline() -> None:
    # 3,900 calls a day = 10 a minute = 50 per 5-minute window; the window printed 500: 10x
    [signal] = _scenario(market=_with_history(3900.0))
    assert "call volume 10.0x 30-day avg (1 session stored)" in signal.reason


def test_a_busy_history_refuses_what_the_session_baseline_would_take() -> None:
    # 39,000 calls a day = 500 per 5-minute window: the window's 500 is 1x, below 3x
    assert _scenario(market=_with_history(39000.0)) == []
    assert _scenario(market=_with_history(39000.0, sessions=1, needed=2)) != []  # too short


def test_without_enough_history_the_reason_names_the_session_baseline() -> None:
    [signal] = _scenario(market=_with_history(39000.0, sessions=1, needed=30))
    assert "call volume 5.0x session avg (no 30-day avg: 1 of 30 sessions stored)" in (
        signal.reason)
    [plain] = _scenario()
    assert "call volume 5.0x session avg (no daily history)" in plain.reason
