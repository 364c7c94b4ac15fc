"""Order pace: the throttle per second/minute and the duplicate guard, through the manager
(which tells them about approved orders only)."""

from __future__ import annotations

from datetime import timedelta

from brokers.orders import Order, OrderStatus
from risk.decision import APPROVE, Reject
from risk.manager import RiskManager
from risk.rules.flow import PRUNE_EVERY, DuplicateOrderGuard, OrderRateThrottle
from risk.rules.limits import OrderSanity
from tests.risk.fakes import CALL, NOON, PUT, FakeContext, Held, buy, passes, sell


def symbols(n: int) -> list[str]:
    return [f"GOOG151231C00{700 + i:03d}000" for i in range(n)]


def test_throttle_per_second_boundary():
    manager = RiskManager([OrderRateThrottle(per_second=3, per_minute=None)])
    ctx = FakeContext()
    for sym in symbols(3):
        assert manager.check(buy(sym), ctx).approved
    verdict = manager.check(buy(PUT), ctx)
    assert verdict.rejection is not None and "3 orders in the last second" in (
        verdict.rejection.reason
    )
    ctx.at = NOON + timedelta(seconds=1)  # the first three fall out of the window
    assert manager.check(buy(PUT), ctx).approved


def test_throttle_per_minute_boundary():
    manager = RiskManager([OrderRateThrottle(per_second=None, per_minute=5)])
    ctx = FakeContext()
    for i, sym in enumerate(symbols(5)):
        ctx.at = NOON + timedelta(seconds=10 * i)
        assert manager.check(buy(sym), ctx).approved
    ctx.at = NOON + timedelta(seconds=59)
    assert not manager.check(buy(PUT), ctx).approved
    ctx.at = NOON + timedelta(seconds=60)
    assert manager.check(buy(PUT), ctx).approved


def test_throttle_counts_exits_but_never_refuses_them():
    manager = RiskManager([OrderRateThrottle(per_second=1, per_minute=None)])
    ctx = FakeContext(held={CALL: Held(2)})
    assert manager.check(buy(PUT), ctx).approved
    assert manager.check(sell(CALL, 2), ctx).approved
    assert not manager.check(buy("GOOG151231C00700000"), ctx).approved


def test_denied_orders_do_not_count_against_the_throttle():
    manager = RiskManager([OrderSanity(), OrderRateThrottle(per_second=1, per_minute=None)])
    ctx = FakeContext()
    assert not manager.check(buy(quantity=0), ctx).approved
    assert manager.check(buy(), ctx).approved


def test_duplicate_guard_same_contract_and_side_within_window():
    manager = RiskManager([DuplicateOrderGuard(timedelta(seconds=10))])
    ctx = FakeContext(held={PUT: Held(1)})
    assert manager.check(buy(CALL), ctx).approved
    ctx.at = NOON + timedelta(seconds=9)
    verdict = manager.check(buy(CALL), ctx)
    assert isinstance(verdict.rejection, Reject) and "already sent 9.0s ago" in (
        verdict.rejection.reason
    )
    assert manager.check(buy(PUT), ctx).approved  # another contract is no duplicate
    ctx.at = NOON + timedelta(seconds=10)
    assert manager.check(buy(CALL), ctx).approved


def test_duplicate_guard_other_side_is_not_a_duplicate():
    guard = DuplicateOrderGuard(timedelta(seconds=10))
    guard.on_approved(buy(CALL), NOON)
    ctx = FakeContext(held={CALL: Held(1)})
    assert passes(guard, sell(CALL, 1), ctx)
    assert isinstance(guard.check(buy(CALL), ctx), Reject)


def test_a_repricing_step_is_not_a_duplicate():
    from dataclasses import replace

    guard = DuplicateOrderGuard(timedelta(seconds=10))
    first = buy(CALL)
    guard.on_approved(first, NOON)
    step = replace(buy(CALL), replaces=first.client_order_id)
    assert guard.check(step, FakeContext()) is APPROVE
    assert isinstance(guard.check(buy(CALL), FakeContext()), Reject)


def test_remember_replays_approved_orders_of_the_window_into_both_rules():
    """What a restart rebuilds from the store: approved orders of the last minute count, a
    denied order and one older than the window do not."""
    throttle = OrderRateThrottle(per_second=None, per_minute=2)
    guard = DuplicateOrderGuard(timedelta(seconds=30))
    manager = RiskManager([guard, throttle])
    assert manager.memory == timedelta(minutes=1)  # the longer of the two windows
    a, b, c, d = symbols(4)
    stored = [
        Order(buy(a), NOON - timedelta(seconds=10), OrderStatus.FILLED),
        Order(buy(b), NOON - timedelta(seconds=40), OrderStatus.CANCELLED),
        Order(buy(c), NOON - timedelta(seconds=5), OrderStatus.DENIED),
        Order(buy(d), NOON - timedelta(seconds=61), OrderStatus.FILLED),
    ]
    assert manager.remember(stored, NOON) == 2
    ctx = FakeContext()
    verdict = manager.check(buy(a), ctx)  # sent 10 s ago: a duplicate
    assert verdict.rejection is not None and verdict.rejection.rule == "duplicate_order"
    assert manager.check(buy(b), ctx).rejection == Reject(
        "order_rate", "2 orders in the last minute, max 2"
    )  # b's 40 s is outside the guard's window, inside the throttle's
    ctx.at = NOON + timedelta(seconds=21)  # b (40 s before noon) has left the minute
    assert manager.check(buy(c), ctx).approved  # the denied order never counted


def test_remember_without_rules_that_remember_is_a_no_op():
    manager = RiskManager([OrderSanity()])
    assert manager.memory is None
    assert manager.remember([Order(buy(CALL), NOON, OrderStatus.FILLED)], NOON) == 0


def test_throttle_stays_exact_and_bounded_when_approvals_prune_lazily():
    rule = OrderRateThrottle(per_second=None, per_minute=40)
    manager = RiskManager([rule])
    ctx = FakeContext()
    for i in range(600):  # one approval a second for ten minutes: 60 in any minute > 40
        ctx.at = NOON + timedelta(seconds=i)
        verdict = manager.check(buy(symbols(1)[0]), ctx)
        # Approved while fewer than 40 approvals fall in the last minute: exactly the first
        # 40 seconds of each 60 (approvals at i-59..i-1 are in the window).
        assert verdict.approved == (i % 60 < 40), i
        assert len(rule._sent) <= 40 + PRUNE_EVERY  # a window plus one pruning interval
