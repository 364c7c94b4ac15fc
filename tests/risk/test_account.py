"""Account rules: buying power, pattern day trader, losing-streak cooldown."""

from __future__ import annotations

from datetime import timedelta

from risk.context import LossStreak
from risk.decision import APPROVE, Reject, Resize
from risk.rules.account import BuyingPower, LosingStreakCooldown, PatternDayTrader
from tests.risk.fakes import CALL, NOON, PUT, FakeContext, Held, buy, passes, sell, working


def test_buying_power_counts_working_entries():
    ctx = FakeContext(buying_power=3_000.0, working=[working(buy(PUT, 5, price=2.0))])
    assert BuyingPower().check(buy(quantity=10, price=2.0), ctx) is APPROVE  # 1,000 + 2,000
    decision = BuyingPower().check(buy(quantity=11, price=2.0), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 10
    ctx.buying_power = 1_100.0
    assert isinstance(BuyingPower().check(buy(quantity=1, price=2.0), ctx), Reject)


def test_buying_power_does_not_gate_exits():
    ctx = FakeContext(buying_power=0.0, held={CALL: Held(1)})
    assert passes(BuyingPower(), sell(CALL, 1), ctx)


def test_pdt_below_threshold_stops_entries_after_three_day_trades():
    rule = PatternDayTrader(25_000.0, 3, 5)
    small = FakeContext(equity=24_999.0, day_trades=2)
    assert rule.check(buy(), small) is APPROVE
    small.day_trades = 3
    decision = rule.check(buy(), small)
    assert isinstance(decision, Reject) and "3 day trades in the last 5" in decision.reason


def test_pdt_does_not_apply_at_or_above_threshold_or_to_exits():
    rule = PatternDayTrader(25_000.0, 3, 5)
    assert rule.check(buy(), FakeContext(equity=25_000.0, day_trades=10)) is APPROVE
    ctx = FakeContext(equity=10_000.0, day_trades=10, held={CALL: Held(1)})
    assert passes(rule, sell(CALL, 1), ctx)


def test_losing_streak_cooldown_boundary():
    rule = LosingStreakCooldown(3, timedelta(minutes=30))
    last = NOON - timedelta(minutes=29)
    assert rule.check(buy(), FakeContext(streak=LossStreak(2, last))) is APPROVE
    decision = rule.check(buy(), FakeContext(streak=LossStreak(3, last)))
    assert isinstance(decision, Reject) and "3 losing trades" in decision.reason
    done = LossStreak(3, NOON - timedelta(minutes=30))
    assert rule.check(buy(), FakeContext(streak=done)) is APPROVE


def test_losing_streak_never_blocks_an_exit():
    ctx = FakeContext(streak=LossStreak(9, NOON), held={CALL: Held(1)})
    assert passes(LosingStreakCooldown(3, timedelta(hours=1)), sell(CALL, 1), ctx)
