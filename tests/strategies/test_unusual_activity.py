"""Unusual activity's conditions on constructed option prints: direction comes from the flow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from market.calendar import ExchangeCalendar
from market.clock import SimClock
from market.data import Bar, Quote, Trade
from market.flow.classify import TradeSide
from market.flow.events import BlockTrade
from market.flow.tracker import FlowTracker
from market.instruments import OptionRight
from market.state import MarketState
from strategies.base import Signal
from strategies.unusual_activity import UnusualActivity, UnusualActivityConfig, block_direction

T0 = datetime(2015, 12, 24, 15, 0, tzinfo=UTC)
CAL = ExchangeCalendar()
CALL, PUT = "GOOG151231C00750000", "GOOG151231P00750000"


def _scenario(blocks: int = 3, size: int = 400, right: str = "C", at: str = "ask",
              open_interest: int = 200, **cfg: Any) -> list[Signal]:
    """`blocks` prints of `size` contracts on the 750 call or put at the ask (or bid), 60 small
    prints on the other side, then one bar of the underlying."""
    market = MarketState(calendar=CAL, flow=FlowTracker())
    strategy = UnusualActivity(UnusualActivityConfig(**cfg), market, SimClock(T0))
    lead, other = (CALL, PUT) if right == "C" else (PUT, CALL)
    market.open_interest[lead] = open_interest
    market.on_quote(Quote("GOOG", T0, 749.9, 750.1))
    for i in range(blocks):
        ts = T0 + timedelta(minutes=i)
        market.on_quote(Quote(lead, ts, 9.9, 10.1, underlying="GOOG"))
        market.on_quote(Quote(other, ts, 9.9, 10.1, underlying="GOOG"))
        price = 10.1 if at == "ask" else 9.9
        market.on_trade(Trade(lead, ts, price, size, "GOOG"))
        market.on_trade(Trade(other, ts, 10.0, 20, "GOOG"))
    end = T0 + timedelta(minutes=blocks)
    market.on_quote(Quote("GOOG", end, 749.9, 750.1))
    for sym in (CALL, PUT):
        market.on_quote(Quote(sym, end, 9.9, 10.1, underlying="GOOG"))
    return strategy.on_bar(Bar("GOOG", end, 750, 750, 750, 750, 1000))


def test_bought_call_blocks_buy_a_call() -> None:
    [signal] = _scenario()
    assert signal.symbol == CALL
    for part in ("GOOG bullish flow: 3 blocks", "directional premium $+1,212,000",
                 "volume 6.0x open interest 200", "put/call 0.05"):
        assert part in signal.reason, part


def test_bought_put_blocks_buy_a_put() -> None:
    [signal] = _scenario(right="P")
    assert signal.symbol == PUT and "bearish flow" in signal.reason


def test_sold_call_blocks_are_bearish_not_bullish() -> None:
    # Calls sold at the bid: bearish flow; put/call still leans bullish (few puts), so the
    # put/call deviation rule refuses it unless it is relaxed.
    assert _scenario(at="bid") == []
    [signal] = _scenario(at="bid", min_pc_deviation=-10.0)
    assert signal.symbol == PUT and "bearish flow" in signal.reason


def test_two_blocks_are_not_enough() -> None:
    assert _scenario(blocks=2, size=700) == []


def test_premium_below_the_minimum_does_not_fire() -> None:
    assert _scenario(size=330, open_interest=150) == []  # 3 x 330 x 10.1 x 100 = $999,900
    assert len(_scenario(size=331, open_interest=150)) == 1


def test_volume_versus_open_interest_below_ratio_does_not_fire() -> None:
    assert _scenario(open_interest=300) == []  # 1,200 / 300 = 4x < 5x


def test_unknown_baseline_refuses_unless_allowed() -> None:
    assert _scenario(open_interest=0) == []
    assert len(_scenario(open_interest=0, require_baseline=False)) == 1


@pytest.mark.parametrize(("right", "side", "expected"), [
    (OptionRight.CALL, TradeSide.BUY, 1), (OptionRight.CALL, TradeSide.SELL, -1),
    (OptionRight.PUT, TradeSide.BUY, -1), (OptionRight.PUT, TradeSide.SELL, 1),
    (OptionRight.CALL, TradeSide.UNKNOWN, 1), (OptionRight.PUT, TradeSide.UNKNOWN, -1),
])
def test_block_direction(right: OptionRight, side: TradeSide, expected: int) -> None:
    block = BlockTrade("X", "GOOG", T0, 1.0, 100, 10_000.0, side)
    assert block_direction(block, right) == expected
