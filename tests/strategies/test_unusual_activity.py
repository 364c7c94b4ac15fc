"""Unusual activity's conditions on constructed option prints: direction comes from the flow."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from market.calendar import ExchangeCalendar
from market.clock import SimClock
from market.daily_history import DailyBook, SessionRecord
from market.data import Bar, Quote, Trade
from market.flow.classify import TradeSide
from market.flow.events import BlockTrade
from market.flow.tracker import FlowTracker
from market.instruments import OptionRight
from market.state import MarketState
from strategies.base import Signal
from strategies.unusual_activity import (
    UnusualActivity,
    UnusualActivityConfig,
    block_direction,
    pc_lean,
    put_call_ratio,
)

T0 = datetime(2015, 12, 24, 15, 0, tzinfo=UTC)
CAL = ExchangeCalendar()
CALL, PUT = "GOOG151231C00750000", "GOOG151231P00750000"


def _scenario(
    blocks: int = 3,
    size: int = 400,
    right: str = "C",
    at: str = "ask",
    open_interest: int = 200,
    **cfg: Any,
) -> list[Signal]:
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
    for part in (
        "GOOG bullish flow: 3 blocks",
        "directional premium $+1,212,000",
        "volume 6.0x open interest 200",
        "put/call 0.05",
    ):
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


@pytest.mark.parametrize(
    ("right", "side", "expected"),
    [
        (OptionRight.CALL, TradeSide.BUY, 1),
        (OptionRight.CALL, TradeSide.SELL, -1),
        (OptionRight.PUT, TradeSide.BUY, -1),
        (OptionRight.PUT, TradeSide.SELL, 1),
        (OptionRight.CALL, TradeSide.UNKNOWN, 1),
        (OptionRight.PUT, TradeSide.UNKNOWN, -1),
    ],
)
def test_block_direction(right: OptionRight, side: TradeSide, expected: int) -> None:
    block = BlockTrade("X", "GOOG", T0, 1.0, 100, 10_000.0, side)
    assert block_direction(block, right) == expected


PRICE = {"ask": 10.1, "bid": 9.9, "mid": 10.0}


def _prints(
    prints: list[tuple[str, str, int]],
    open_interest: int = 200,
    daily: DailyBook | None = None,
    strategy: UnusualActivity | None = None,
    **cfg: Any,
) -> list[Signal]:
    """Each (contract, where it printed, size) in its own minute, quoted 9.90 x 10.10 just
    before; then one bar of the underlying (through `strategy` when given)."""
    market = MarketState(calendar=CAL, flow=FlowTracker(), daily=daily)
    if strategy is None:
        strategy = UnusualActivity(UnusualActivityConfig(**cfg), market, SimClock(T0))
    else:
        strategy.market = market
    market.open_interest.update({CALL: open_interest, PUT: open_interest})
    market.on_quote(Quote("GOOG", T0, 749.9, 750.1))
    for i, (sym, at, size) in enumerate(prints):
        ts = T0 + timedelta(minutes=i)
        market.on_quote(Quote(sym, ts, 9.9, 10.1, underlying="GOOG"))
        market.on_trade(Trade(sym, ts, PRICE[at], size, "GOOG"))
    end = T0 + timedelta(minutes=len(prints))
    market.on_quote(Quote("GOOG", end, 749.9, 750.1))
    for sym in (CALL, PUT):
        market.on_quote(Quote(sym, end, 9.9, 10.1, underlying="GOOG"))
    return strategy.on_bar(Bar("GOOG", end, 750, 750, 750, 750, 1000))


def _small(sym: str, total: int) -> list[tuple[str, str, int]]:
    """`total` contracts in prints of 20 at the mid: volume, never a block (put them
    before the blocks: the flow window is 30 minutes)."""
    return [(sym, "mid", 20)] * (total // 20)


BOUGHT_CALLS = [(CALL, "ask", 400)] * 3  # +$1,212,000 bullish, 1,200 calls
BOUGHT_PUTS = [(PUT, "ask", 400)] * 3  # -$1,212,000 bearish, 1,200 puts


def test_put_call_lean_boundary_for_bullish_flow() -> None:
    # lean = (1.0 - puts/1,200) / 1.0 must be >= 0.5: 600 puts is exactly on the line.
    rule: dict[str, Any] = {"pc_baseline": 1.0, "min_pc_deviation": 0.5}
    [signal] = _prints(_small(PUT, 600) + BOUGHT_CALLS, **rule)
    assert signal.symbol == CALL
    assert "put/call 0.50 vs 1 (lean +50%, >= +50%)" in signal.reason
    assert _prints(_small(PUT, 620) + BOUGHT_CALLS, **rule) == []  # 0.517: lean 48%


def test_put_call_lean_boundary_for_bearish_flow() -> None:
    # lean = (1,200/calls - 1.0) / 1.0 must be >= 0.5: 800 calls is exactly on the line.
    rule: dict[str, Any] = {"pc_baseline": 1.0, "min_pc_deviation": 0.5}
    [signal] = _prints(_small(CALL, 800) + BOUGHT_PUTS, **rule)
    assert signal.symbol == PUT and "bearish flow" in signal.reason
    assert "put/call 1.50 vs 1 (lean +50%, >= +50%)" in signal.reason
    assert _prints(_small(CALL, 820) + BOUGHT_PUTS, **rule) == []  # 1.463: lean 46%


def test_puts_without_calls_are_a_fully_bearish_ratio_not_a_missing_one() -> None:
    [signal] = _prints(BOUGHT_PUTS, min_pc_deviation=5.0)
    assert signal.symbol == PUT and "put/call inf" in signal.reason


def test_sold_puts_are_bullish_and_buy_a_call() -> None:
    # Puts sold at the bid are bullish flow; the put-heavy tape (pc 20) leans bearish, so the
    # put/call rule refuses it at the default and lets it through when relaxed.
    flow = _small(CALL, 60) + [(PUT, "bid", 400)] * 3
    assert _prints(flow) == []
    [signal] = _prints(flow, min_pc_deviation=-30.0)
    assert signal.symbol == CALL and "bullish flow" in signal.reason


def test_balanced_flow_has_no_direction() -> None:
    # A call block bought and a put block bought at the same premium: net $0. With no
    # premium floor this must not default to either side.
    flow = [(CALL, "ask", 400), (PUT, "ask", 400)]
    assert _prints(flow, open_interest=50, min_blocks=2, min_net_premium=0) == []
    # One more contract on the put block tips it: -$1,010, bearish.
    [signal] = _prints(
        [(CALL, "ask", 400), (PUT, "ask", 401)], open_interest=50, min_blocks=2, min_net_premium=0
    )
    assert signal.symbol == PUT and "premium $-1,010" in signal.reason


@pytest.mark.parametrize(
    ("puts", "calls", "expected"), [(600, 1200, 0.5), (5, 0, float("inf")), (0, 7, 0.0)]
)
def test_put_call_ratio(puts: int, calls: int, expected: float) -> None:
    assert put_call_ratio(puts, calls) == expected


def test_put_call_ratio_without_volume_is_unknown_and_refused() -> None:
    assert math.isnan(put_call_ratio(0, 0))
    assert math.isnan(pc_lean(math.nan, 0.7, 1))


@pytest.mark.parametrize(
    ("pc", "direction", "expected"),
    [
        (0.35, 1, 0.5),
        (0.35, -1, -0.5),
        (1.05, -1, 0.5),
        (1.05, 1, -0.5),
        (0.7, 1, 0.0),
        (float("inf"), -1, float("inf")),
        (float("inf"), 1, float("-inf")),
    ],
)
def test_pc_lean(pc: float, direction: int, expected: float) -> None:
    assert pc_lean(pc, 0.7, direction) == pytest.approx(expected)


def _history(call_volume_per_day: int, sessions: int = 30) -> DailyBook:
    """`sessions` completed sessions before T0 in which the 750 call traded the same amount."""
    book = DailyBook()
    for k in range(sessions, 0, -1):
        day = T0.date() - timedelta(days=k)
        book.record(
            SessionRecord(
                "GOOG", day, math.nan, call_volume_per_day, 0, {CALL: call_volume_per_day}
            )
        )
    return book


def test_the_thirty_day_average_is_the_baseline_when_stored() -> None:
    # 1,200 calls today: 12x a 100-a-day average fires; 4x a 300-a-day average does not,
    # although 6x the open interest (200) would have.
    [signal] = _prints(BOUGHT_CALLS, daily=_history(100))
    assert "volume 12.0x 30-day average 100 (>= 5x)" in signal.reason
    assert _prints(BOUGHT_CALLS, daily=_history(300)) == []


def test_open_interest_is_the_baseline_while_the_history_is_short() -> None:
    [signal] = _prints(BOUGHT_CALLS, daily=_history(300, sessions=29))
    assert "volume 6.0x open interest 200" in signal.reason


def test_the_funnel_counts_where_each_candidate_stopped() -> None:
    strategy = UnusualActivity(UnusualActivityConfig(), MarketState(), SimClock(T0))
    assert _prints([(CALL, "ask", 400)] * 2, strategy=strategy) == []  # stops at blocks
    # Put/call 1,000 / 1,200 = 0.83 leans bearish against bullish flow: stops at put_call.
    assert _prints(_small(PUT, 1000) + BOUGHT_CALLS, strategy=strategy) == []
    assert len(_prints(BOUGHT_CALLS, strategy=strategy)) == 1
    assert strategy.funnel.counts == {
        "bars": 3,
        "blocks": 2,
        "premium": 2,
        "cooldown": 2,
        "volume_ratio": 2,
        "put_call": 1,
        "trend": 1,
        "contract": 1,
        "signal": 1,
    }
    assert strategy.funnel.summary() == (
        "bars 3 > blocks 2 > premium 2 > cooldown 2 > volume_ratio 2 > put_call 1 > trend 1 > "
        "contract 1 > signal 1"
    )
