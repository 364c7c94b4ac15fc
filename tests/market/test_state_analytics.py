"""MarketState feeds its analytics: 1m bars to the indicators, option prints to the flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import talib

from market.calendar import ExchangeCalendar
from market.data import Bar, Quote, Trade
from market.flow.tracker import FlowTracker
from market.indicators.config import IndicatorsConfig
from market.state import MarketState

OPEN = datetime(2015, 12, 23, 14, 30, tzinfo=UTC)


def test_one_minute_bars_feed_the_indicators_and_return_closed_bars() -> None:
    state = MarketState(indicators=IndicatorsConfig().build(ExchangeCalendar()))
    closes = 750 + np.sin(np.arange(30) / 3.0) * 5
    closed: list[Bar] = []
    for i, c in enumerate(closes):
        closed += state.on_bar(Bar("GOOG", OPEN + timedelta(minutes=i + 1), c, c + 1, c - 1, c,
                                   1000))
    assert state.indicators is not None
    expected = talib.RSI(closes, 14)[-1]
    assert abs(state.indicators.value("GOOG", "1m", "rsi14") - expected) < 1e-9
    assert [b.timeframe for b in closed].count("5m") == 6  # 30 minutes from the open
    assert state.on_bar(Bar("GOOG", OPEN, 1, 1, 1, 1, 1, timeframe="5m")) == []


def test_option_prints_feed_the_flow_with_their_quote_and_reset_clears_it() -> None:
    state = MarketState(flow=FlowTracker())
    sym = "GOOG151231C00750000"
    state.on_quote(Quote(sym, OPEN, 9.9, 10.1, underlying="GOOG"))
    state.on_trade(Trade(sym, OPEN, 10.1, 150, "GOOG"))  # at the ask: bought, and a block
    state.on_trade(Trade("GOOG", OPEN, 750.0, 100, "GOOG"))  # the stock's own print: not flow
    assert state.flow is not None
    flow = state.flow.underlying("GOOG")
    assert flow.call_volume == 150 and flow.bullish_premium == 10.1 * 150 * 100
    assert len(state.flow.events) == 1
    state.reset_session()
    assert state.flow.underlying("GOOG").call_volume == 0
