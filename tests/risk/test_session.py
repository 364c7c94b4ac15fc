"""Session timing: first/last minutes, outside the session, the 0DTE cutoff."""

from __future__ import annotations

from datetime import timedelta

from risk.decision import APPROVE, Reject
from risk.rules.session import SessionWindow, ZeroDteCutoff
from tests.risk.fakes import CALL, CALL_0DTE, SESSION, FakeContext, Held, buy, passes, sell

WINDOW = SessionWindow(timedelta(minutes=5), timedelta(minutes=15))


def at(offset: timedelta, **kw) -> FakeContext:
    return FakeContext(at=SESSION.open + offset, **kw)


def test_no_entries_in_the_first_minutes_boundary():
    decision = WINDOW.check(buy(), at(timedelta(minutes=4, seconds=59)))
    assert isinstance(decision, Reject) and "first 5 minutes" in decision.reason
    assert WINDOW.check(buy(), at(timedelta(minutes=5))) is APPROVE


def test_no_entries_in_the_last_minutes_boundary_on_an_early_close():
    close = SESSION.close - SESSION.open  # 13:00 close on Christmas Eve
    assert WINDOW.check(buy(), at(close - timedelta(minutes=15, seconds=1))) is APPROVE
    decision = WINDOW.check(buy(), at(close - timedelta(minutes=15)))
    assert isinstance(decision, Reject) and "13:00 close" in decision.reason


def test_outside_the_session_or_without_one():
    before = WINDOW.check(buy(), at(-timedelta(minutes=1)))
    assert isinstance(before, Reject) and "outside the regular session" in before.reason
    assert isinstance(WINDOW.check(buy(), FakeContext(today_session=None)), Reject)
    lenient = SessionWindow(timedelta(0), timedelta(0), require_session=False)
    assert lenient.check(buy(), FakeContext(today_session=None)) is APPROVE


def test_exits_are_allowed_at_any_time():
    ctx = at(timedelta(minutes=1), held={CALL: Held(1)})
    assert passes(WINDOW, sell(CALL, 1), ctx)


def test_zero_dte_cutoff_boundary():
    rule = ZeroDteCutoff(timedelta(minutes=60))
    cutoff = SESSION.close - timedelta(minutes=60)  # 12:00 New York
    assert rule.check(buy(CALL_0DTE), FakeContext(at=cutoff - timedelta(seconds=1))) is APPROVE
    decision = rule.check(buy(CALL_0DTE), FakeContext(at=cutoff))
    assert isinstance(decision, Reject) and "12:00" in decision.reason
    assert rule.check(buy(CALL), FakeContext(at=cutoff)) is APPROVE  # expires next week


def test_expired_contracts_are_refused_and_exits_pass():
    rule = ZeroDteCutoff(timedelta(minutes=60))
    expired = "GOOG151218C00750000"
    decision = rule.check(buy(expired), FakeContext())
    assert isinstance(decision, Reject) and "expired on 2015-12-18" in decision.reason
    late = FakeContext(at=SESSION.close - timedelta(minutes=1), held={CALL_0DTE: Held(1)})
    assert passes(rule, sell(CALL_0DTE, 1), late)
