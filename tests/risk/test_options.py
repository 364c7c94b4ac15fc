"""Options exposure: premium per trade/day, contracts per underlying, expiry, short options."""

from __future__ import annotations

from risk.decision import APPROVE, Reject, Resize
from risk.rules.options import (
    ContractsPerUnderlying,
    NoShortOptions,
    PremiumPerDay,
    PremiumPerTrade,
    SameExpiryExposure,
)
from tests.risk.fakes import CALL, CALL_0DTE, PUT, FakeContext, Held, buy, passes, sell, working


def test_premium_per_trade_boundary_and_resize():
    rule = PremiumPerTrade(1_000.0)
    assert rule.check(buy(quantity=5, price=2.0), FakeContext()) is APPROVE  # exactly 1,000
    decision = rule.check(buy(quantity=6, price=2.0), FakeContext())
    assert isinstance(decision, Resize) and decision.quantity == 5
    too_dear = rule.check(buy(quantity=1, price=10.01), FakeContext())
    assert isinstance(too_dear, Reject) and "per trade" in too_dear.reason


def test_premium_per_day_counts_filled_and_working_premium():
    rule = PremiumPerDay(0.10)  # 10,000 of the 100,000 opening equity
    ctx = FakeContext(premium_today=8_000.0, working=[working(buy(PUT, 5, price=2.0))])
    assert rule.check(buy(quantity=5, price=2.0), ctx) is APPROVE  # 8,000 + 1,000 + 1,000
    decision = rule.check(buy(quantity=6, price=2.0), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 5
    ctx.premium_today = 9_000.0
    assert isinstance(rule.check(buy(quantity=1, price=2.0), ctx), Reject)


def test_premium_per_day_uses_opening_equity_not_current():
    ctx = FakeContext(equity=50_000.0, start_of_day_equity=100_000.0)
    assert PremiumPerDay(0.10).check(buy(quantity=50, price=2.0), ctx) is APPROVE


def test_contracts_per_underlying_counts_all_contracts_of_the_underlying():
    rule = ContractsPerUnderlying(20)
    ctx = FakeContext(held={PUT: Held(8), "AAPL151231C00100000": Held(50, underlying="AAPL")},
                      working=[working(buy(CALL_0DTE, 5), filled=2)])
    assert rule.check(buy(CALL, 9), ctx) is APPROVE  # 8 + 3 remaining + 9 = 20
    decision = rule.check(buy(CALL, 12), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 9
    ctx.held[PUT] = Held(17)
    assert isinstance(rule.check(buy(CALL, 1), ctx), Reject)


def test_same_expiry_exposure_sums_premium_of_one_expiration_day():
    rule = SameExpiryExposure(0.10)  # 10,000 of equity
    ctx = FakeContext(held={PUT: Held(20, average_price=3.0),  # 6,000, same 2015-12-31 expiry
                            CALL_0DTE: Held(30, average_price=3.0)})  # other expiry
    assert rule.check(buy(CALL, 20, price=2.0), ctx) is APPROVE  # 6,000 + 4,000
    decision = rule.check(buy(CALL, 21, price=2.0), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 20
    assert "2015-12-31" in decision.reason


def test_no_short_options_refuses_sell_to_open_but_not_an_exit():
    ctx = FakeContext(held={CALL: Held(2)})
    decision = NoShortOptions().check(sell(PUT, 1), ctx)
    assert isinstance(decision, Reject) and "short option" in decision.reason
    assert passes(NoShortOptions(), sell(CALL, 2), ctx)
    assert NoShortOptions().check(buy(PUT), ctx) is APPROVE


def test_exits_pass_every_options_rule():
    ctx = FakeContext(premium_today=1e9, held={CALL: Held(500, average_price=50.0)})
    exit_order = sell(CALL, 500)
    for rule in (PremiumPerTrade(1.0), PremiumPerDay(0.01), ContractsPerUnderlying(1),
                 SameExpiryExposure(0.01)):
        assert passes(rule, exit_order, ctx), rule.name
