"""Core limits: sanity, trading state, daily loss, contracts per order, concurrency, size."""

from __future__ import annotations

import math

import pytest

from brokers.orders import Intent, OrderType
from risk.decision import APPROVE, Reject, Resize
from risk.rules.limits import (
    DailyLossGuard,
    MaxConcurrentTrades,
    MaxContractsPerOrder,
    MaxPositionSize,
    OrderSanity,
    TradingStateGate,
)
from risk.state import TradingState
from tests.risk.fakes import CALL, PUT, FakeContext, Held, buy, passes, sell, working


@pytest.mark.parametrize(("request_", "why"), [
    (buy(quantity=0), "quantity 0"),
    (buy(quantity=-3), "quantity -3"),
    (buy(price=math.nan), "not a positive number"),
    (buy(price=math.inf), "not a positive number"),
    (buy(price=0.0), "not a positive number"),
    (buy(price=None), "without a price"),
    (buy(symbol=""), "without a symbol"),
])
def test_sanity_rejects_malformed_orders(request_, why):
    decision = OrderSanity().check(request_, FakeContext())
    assert isinstance(decision, Reject) and why in decision.reason


def test_sanity_allows_priced_limit_and_unpriced_market_orders():
    ctx = FakeContext()
    assert OrderSanity().check(buy(price=0.01), ctx) is APPROVE
    assert OrderSanity().check(buy(price=None, order_type=OrderType.MARKET), ctx) is APPROVE


@pytest.mark.parametrize("state", [TradingState.REDUCING, TradingState.HALTED])
def test_state_gate_denies_entries_but_allows_exits(state):
    ctx = FakeContext(trading_state=state, held={CALL: Held(3)})
    entry = TradingStateGate().check(buy(PUT), ctx)
    assert isinstance(entry, Reject) and state.value in entry.reason
    adding = TradingStateGate().check(buy(CALL), ctx)
    assert isinstance(adding, Reject)
    assert TradingStateGate().check(sell(CALL, 3), ctx) is APPROVE
    assert TradingStateGate().check(sell(CALL, 1), ctx) is APPROVE


def test_state_gate_an_exit_larger_than_the_position_is_not_an_exit():
    ctx = FakeContext(trading_state=TradingState.HALTED, held={CALL: Held(3)})
    assert isinstance(TradingStateGate().check(sell(CALL, 4), ctx), Reject)


def test_state_gate_counts_exits_already_working():
    first = sell(CALL, 2)
    ctx = FakeContext(trading_state=TradingState.REDUCING, held={CALL: Held(3)},
                      working=[working(first)])
    assert TradingStateGate().check(sell(CALL, 1), ctx) is APPROVE  # 2 + 1 = 3 held
    assert isinstance(TradingStateGate().check(sell(CALL, 2), ctx), Reject)  # would flip


def test_state_gate_short_position_is_reduced_by_a_buy():
    ctx = FakeContext(trading_state=TradingState.HALTED, held={CALL: Held(-2)})
    assert TradingStateGate().check(buy(CALL, 2, intent=Intent.CLOSE), ctx) is APPROVE


def test_state_gate_paused_denies_entries_only():
    ctx = FakeContext(entries_paused=True, held={CALL: Held(1)})
    decision = TradingStateGate().check(buy(PUT), ctx)
    assert isinstance(decision, Reject) and "paused" in decision.reason
    assert TradingStateGate().check(sell(CALL, 1), ctx) is APPROVE


def test_state_gate_close_without_position_is_refused():
    decision = TradingStateGate().check(sell(CALL, 1), FakeContext())
    assert isinstance(decision, Reject) and "no position" in decision.reason


def test_daily_loss_guard_boundary():
    rule = DailyLossGuard(0.03)
    just_inside = FakeContext(equity=97_000.01)
    at_line = FakeContext(equity=97_000.0)
    assert rule.check(buy(), just_inside) is APPROVE
    decision = rule.check(buy(), at_line)
    assert isinstance(decision, Reject) and "3.00%" in decision.reason


def test_daily_loss_guard_lets_exits_through():
    ctx = FakeContext(equity=90_000.0, held={CALL: Held(1)})
    assert passes(DailyLossGuard(0.03), sell(CALL, 1), ctx)


def test_contracts_per_order_resizes_entries_at_the_limit():
    rule = MaxContractsPerOrder(10)
    assert rule.check(buy(quantity=10), FakeContext()) is APPROVE
    decision = rule.check(buy(quantity=11), FakeContext())
    assert isinstance(decision, Resize) and decision.quantity == 10


def test_contracts_per_order_never_shrinks_an_exit():
    ctx = FakeContext(held={CALL: Held(60)})
    assert passes(MaxContractsPerOrder(10), sell(CALL, 60), ctx)


def test_concurrent_trades_boundary_and_adding_to_a_held_position():
    rule = MaxConcurrentTrades(3)
    two = FakeContext(held={"A": Held(1), "B": Held(1)})
    assert rule.check(buy(CALL), two) is APPROVE
    three = FakeContext(held={"A": Held(1), "B": Held(1)}, working=[working(buy(PUT))])
    decision = rule.check(buy(CALL), three)
    assert isinstance(decision, Reject) and "3 trades" in decision.reason
    three.held[CALL] = Held(1)
    assert rule.check(buy(CALL), three) is APPROVE  # adding is not a new trade


def test_position_size_resizes_to_five_percent_of_equity():
    rule = MaxPositionSize(0.05)
    ctx = FakeContext()
    # 5% of 100k = 5,000 = 25 contracts at 2.00.
    assert rule.check(buy(quantity=25, price=2.0), ctx) is APPROVE
    decision = rule.check(buy(quantity=26, price=2.0), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 25


def test_position_size_counts_the_position_already_held_and_working():
    ctx = FakeContext(held={CALL: Held(10, average_price=2.0)},
                      working=[working(buy(CALL, 5, price=2.0))])
    decision = MaxPositionSize(0.05).check(buy(CALL, 20, price=2.0), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 10  # 2,000 + 1,000 used


def test_position_size_uses_the_ask_for_a_market_order_and_rejects_unpriced():
    ctx = FakeContext().with_quote(CALL, 3.9, 4.0)
    decision = MaxPositionSize(0.05).check(
        buy(quantity=20, price=None, order_type=OrderType.MARKET), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 12  # 5,000 // 400
    unpriced = MaxPositionSize(0.05).check(
        buy(PUT, price=None, order_type=OrderType.MARKET), ctx)
    assert isinstance(unpriced, Reject) and "no price" in unpriced.reason
