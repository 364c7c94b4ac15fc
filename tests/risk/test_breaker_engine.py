"""The breaker inside the running engine: quotes of a held contract move equity; the state
latches REDUCING exactly when the loss reaches the line, HALTs and flattens at the second."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wiring import build_bot
from brokers.orders import Intent, OrderStatus, Side
from market.clock import SimClock
from risk.state import TradingState
from tests.conftest import make_settings
from tests.risk.scenario import CALL, START, liven, quote


def holding_bot(**risk):
    clock = SimClock(START)
    bot = build_bot(make_settings(strategies={}, risk=risk), clock, run_tag="b")
    liven(bot, clock, CALL)
    entry = bot.orders.submit(bot.orders.new_request(CALL, Side.BUY, 5, intent=Intent.OPEN,
                                                     limit_price=10.00))
    assert entry.status is OrderStatus.FILLED
    return bot, clock


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.05, 14.0), min_size=1, max_size=12))
def test_engine_latches_reducing_iff_equity_loss_reaches_the_line(bids):
    bot, clock = holding_bot()
    start = bot.control.start_of_day_equity
    crossed = False
    for i, bid in enumerate(bids):
        bid = round(bid, 2)
        quote(bot, clock, CALL, bid, round(bid + 0.10, 2), at=START + timedelta(seconds=i + 1))
        equity = bot.portfolio.equity(bot.market.quotes, at_liquidation=True)
        crossed = crossed or start - equity >= 0.03 * start
        assert (bot.control.state is TradingState.REDUCING) == crossed
    bot.close()


def test_second_threshold_halts_and_flattens():
    bot, clock = holding_bot(halt_daily_loss_pct=0.04)
    quote(bot, clock, CALL, 3.00, 3.10, at=START + timedelta(seconds=5))  # about -3.5%
    assert bot.control.state is TradingState.REDUCING
    quote(bot, clock, CALL, 1.00, 1.10, at=START + timedelta(seconds=10))  # about -4.5%
    assert bot.control.state is TradingState.HALTED
    exits = [o for o in bot.orders.orders.values() if o.request.intent is Intent.CLOSE]
    assert exits and exits[0].request.reason.startswith("breaker:")
    quote(bot, clock, CALL, 1.00, 1.10, at=START + timedelta(seconds=15))
    assert bot.portfolio.quantity(CALL) == 0
    bot.close()
