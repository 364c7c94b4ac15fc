"""The connectivity gate: no entries on a stale feed or during broker downtime; exits pass."""

from __future__ import annotations

import pytest

from risk.config import RiskConfig
from risk.decision import APPROVE, Reject
from risk.rules import build_rules
from risk.rules.connectivity import ConnectivityGate
from tests.risk.fakes import CALL, PUT, FakeContext, Held, buy, passes, sell


@pytest.mark.parametrize(("stale", "downtime", "down", "why"), [
    (True, False, False, "feed is stale"),
    (False, True, False, "planned downtime"),
    (False, False, True, "broker is disconnected"),
])
def test_entries_are_refused_and_exits_pass(stale: bool, downtime: bool, down: bool,
                                            why: str) -> None:
    ctx = FakeContext(held={CALL: Held(2)}, feed_stale=stale, broker_downtime=downtime,
                      broker_disconnected=down)
    decision = ConnectivityGate().check(buy(PUT), ctx)
    assert isinstance(decision, Reject) and why in decision.reason
    assert not passes(ConnectivityGate(), buy(PUT), ctx)
    assert passes(ConnectivityGate(), sell(CALL, 2), ctx)


def test_a_live_feed_and_an_up_broker_approve() -> None:
    assert ConnectivityGate().check(buy(PUT), FakeContext()) is APPROVE


def test_the_gate_is_in_the_default_rule_list() -> None:
    assert "connectivity" in [rule.name for rule in build_rules(RiskConfig())]
