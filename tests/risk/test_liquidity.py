"""Market quality: stale quotes, spread (absolute and % of mid), volume, open interest."""

from __future__ import annotations

from datetime import timedelta

from risk.decision import APPROVE, Reject
from risk.rules.liquidity import MaxSpread, MinOpenInterest, MinVolume, StaleQuote
from tests.risk.fakes import CALL, NOON, FakeContext, Held, buy, passes, sell


def test_stale_quote_boundary_and_missing_quote():
    rule = StaleQuote(30.0)
    fresh = FakeContext().with_quote(CALL, 1.9, 2.0, ts=NOON - timedelta(seconds=30))
    assert rule.check(buy(), fresh) is APPROVE
    stale = FakeContext().with_quote(CALL, 1.9, 2.0, ts=NOON - timedelta(seconds=31))
    decision = rule.check(buy(), stale)
    assert isinstance(decision, Reject) and "31s old" in decision.reason
    assert isinstance(rule.check(buy(), FakeContext()), Reject)


def test_spread_absolute_boundary():
    rule = MaxSpread(0.50, None)
    assert rule.check(buy(), FakeContext().with_quote(CALL, 9.50, 10.00)) is APPROVE
    decision = rule.check(buy(), FakeContext().with_quote(CALL, 9.49, 10.00))
    assert isinstance(decision, Reject) and "0.51" in decision.reason


def test_spread_percent_of_mid_boundary():
    rule = MaxSpread(None, 0.10)
    assert rule.check(buy(), FakeContext().with_quote(CALL, 0.95, 1.05)) is APPROVE  # 10%
    decision = rule.check(buy(), FakeContext().with_quote(CALL, 0.94, 1.05))
    assert isinstance(decision, Reject) and "of mid" in decision.reason


def test_spread_one_sided_market_is_refused():
    decision = MaxSpread(1.0, 1.0).check(buy(), FakeContext().with_quote(CALL, 0.0, 0.05))
    assert isinstance(decision, Reject) and "two-sided" in decision.reason


def test_volume_boundary():
    rule = MinVolume(10)
    assert rule.check(buy(), FakeContext().with_quote(CALL, 1, 1.1, volume=10)) is APPROVE
    decision = rule.check(buy(), FakeContext().with_quote(CALL, 1, 1.1, volume=9))
    assert isinstance(decision, Reject) and "traded 9" in decision.reason


def test_open_interest_boundary_and_unknown():
    rule = MinOpenInterest(100)
    assert rule.check(buy(), FakeContext().with_quote(CALL, 1, 1.1, oi=100)) is APPROVE
    assert isinstance(rule.check(buy(), FakeContext().with_quote(CALL, 1, 1.1, oi=99)), Reject)
    assert rule.check(buy(), FakeContext()) is APPROVE  # unknown: documented default
    strict = MinOpenInterest(100, reject_unknown=True)
    assert isinstance(strict.check(buy(), FakeContext()), Reject)


def test_exits_never_wait_for_a_good_market():
    ctx = FakeContext(held={CALL: Held(2)}).with_quote(
        CALL, 0.05, 3.0, ts=NOON - timedelta(hours=1), volume=0, oi=0)
    for rule in (StaleQuote(1.0), MaxSpread(0.01, 0.01), MinVolume(100), MinOpenInterest(100)):
        assert passes(rule, sell(CALL, 2), ctx), rule.name
