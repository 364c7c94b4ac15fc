"""The manager: first rejection wins, resizes chain, stateful rules hear only approvals."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pytest

from brokers.orders import OrderRequest
from risk.decision import APPROVE, Decision, Reject, Resize
from risk.manager import RiskManager
from tests.risk.fakes import FakeContext, buy


@dataclass
class Say:
    name: str
    decision: Decision
    seen: list[int] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)

    def check(self, request: OrderRequest, ctx: FakeContext) -> Decision:
        self.seen.append(request.quantity)
        return self.decision


@dataclass
class Remembers(Say):
    def on_approved(self, request: OrderRequest, now: datetime) -> None:
        self.approved.append(request.client_order_id)


def test_first_rejection_wins_and_later_rules_are_not_asked():
    later = Say("later", APPROVE)
    manager = RiskManager([Say("a", APPROVE), Say("b", Reject("b", "no")), later])
    verdict = manager.check(buy(quantity=5), FakeContext())
    assert not verdict.approved and verdict.rejection == Reject("b", "no")
    assert later.seen == []


def test_resizes_shrink_the_order_for_the_rules_after_them():
    after = Say("after", APPROVE)
    manager = RiskManager([Say("a", Resize(7, "a", "cap 7")), Say("b", Resize(9, "b", "cap 9")),
                           Say("c", Resize(3, "c", "cap 3")), after])
    verdict = manager.check(buy(quantity=10), FakeContext())
    assert verdict.approved and verdict.request.quantity == 3
    assert [r.rule for r in verdict.resizes] == ["a", "c"]  # 9 did not shrink a 7
    assert after.seen == [3]


def test_resize_to_zero_is_a_rejection_by_that_rule():
    manager = RiskManager([Say("cap", Resize(0, "cap", "nothing fits"))])
    verdict = manager.check(buy(quantity=2), FakeContext())
    assert verdict.rejection == Reject("cap", "nothing fits")


def test_stateful_rules_hear_only_approved_orders():
    memory = Remembers("memory", APPROVE)
    gate = Say("gate", APPROVE)
    manager = RiskManager([memory, gate])
    ok = buy()
    manager.check(ok, FakeContext())
    gate.decision = Reject("gate", "closed")
    manager.check(buy(), FakeContext())
    assert memory.approved == [ok.client_order_id]


def test_duplicate_rule_names_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        RiskManager([Say("x", APPROVE), Say("x", APPROVE)])


def test_every_rule_but_the_gate_sanity_and_throttle_is_entry_only():
    from risk.config import RiskConfig
    from risk.rules import build_rules

    config = RiskConfig.model_validate({"options": {"max_premium_per_trade": 1.0},
                                        "greeks": {"max_abs_delta_dollars": 1.0}})
    not_entry_only = {r.name for r in build_rules(config) if not getattr(r, "entry_only", False)}
    assert not_entry_only == {"order_sanity", "trading_state", "order_rate"}


def test_an_exit_passes_the_whole_rule_list_in_the_worst_market():
    from datetime import timedelta

    from risk.config import RiskConfig
    from risk.context import LossStreak
    from risk.rules import build_rules
    from risk.state import TradingState
    from tests.risk.fakes import CALL, NOON, Held, sell

    config = RiskConfig.model_validate({"options": {"max_premium_per_trade": 1.0},
                                        "greeks": {"max_abs_delta_dollars": 1.0}})
    ctx = FakeContext(trading_state=TradingState.HALTED, equity=10_000.0, buying_power=0.0,
                      held={CALL: Held(500, average_price=40.0)}, premium_today=1e9,
                      day_trades=99, streak=LossStreak(9, NOON), today_session=None)
    ctx.with_quote(CALL, 0.05, 9.0, ts=NOON - timedelta(hours=2), volume=0, oi=0)
    verdict = RiskManager(build_rules(config)).check(sell(CALL, 500), ctx)
    assert verdict.approved and verdict.request.quantity == 500
    flip = RiskManager(build_rules(config)).check(sell(CALL, 501), ctx)
    assert flip.rejection is not None and flip.rejection.rule == "trading_state"
