"""Portfolio Greeks in dollars, checked against hand computations."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from risk.config import GreeksLimits
from risk.context import ContractGreeks
from risk.decision import APPROVE, Reject, Resize
from risk.exposure import Exposure
from risk.rules.greeks import GreeksLimit, dollar_greeks
from tests.risk.fakes import CALL, PUT, FakeContext, Held, buy, passes, sell, working

# A near-the-money GOOG call at S = 750: delta 0.5, gamma 0.01, vega 0.40, theta -0.80.
CALL_G = ContractGreeks(0.5, 0.01, 0.40, -0.80, 750.0)
PUT_G = ContractGreeks(-0.45, 0.01, 0.40, -0.70, 750.0)


def test_dollar_greeks_by_hand():
    d, g, v, t = dollar_greeks(CALL_G, 2, 100)
    assert d == pytest.approx(0.5 * 200 * 750)  # 75,000 share-equivalent dollars
    assert g == pytest.approx(0.01 * 200 * 750 * 750 / 100)  # 11,250 per 1% move
    assert v == pytest.approx(80.0)
    assert t == pytest.approx(-160.0)


def test_delta_limit_resizes_to_what_fits():
    rule = GreeksLimit(GreeksLimits(max_abs_delta_dollars=200_000))
    ctx = FakeContext(greek_table={CALL: CALL_G, PUT: PUT_G}, held={CALL: Held(2)})
    # held: 75,000; each call adds 37,500 → 3 more fit (187,500), the 4th would not.
    assert rule.check(buy(CALL, 3), ctx) is APPROVE
    decision = rule.check(buy(CALL, 5), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 3
    assert "delta" in decision.reason


def test_working_entries_count_as_exposure():
    rule = GreeksLimit(GreeksLimits(max_abs_delta_dollars=100_000))
    ctx = FakeContext(greek_table={CALL: CALL_G}, working=[working(buy(CALL, 2))])
    # 2 working = 75,000; one more call would make 112,500.
    decision = rule.check(buy(CALL, 2), ctx)
    assert isinstance(decision, Reject) and "75,000 → 150,000" in decision.reason


def test_theta_limit_is_one_sided():
    rule = GreeksLimit(GreeksLimits(max_theta_decay_dollars=400))
    ctx = FakeContext(greek_table={CALL: CALL_G})
    assert rule.check(buy(CALL, 5), ctx) is APPROVE  # -400 exactly
    decision = rule.check(buy(CALL, 6), ctx)
    assert isinstance(decision, Resize) and decision.quantity == 5


def test_an_entry_that_brings_delta_back_toward_zero_passes_even_over_the_limit():
    rule = GreeksLimit(GreeksLimits(max_abs_delta_dollars=50_000))
    ctx = FakeContext(greek_table={CALL: CALL_G, PUT: PUT_G}, held={CALL: Held(4)})
    assert rule.check(buy(PUT, 2), ctx) is APPROVE  # 150,000 → 82,500


def test_unknown_greeks_reject_by_default_and_can_be_ignored():
    strict = GreeksLimit(GreeksLimits(max_abs_vega_dollars=1_000))
    decision = strict.check(buy(CALL), FakeContext())
    assert isinstance(decision, Reject) and "unknown" in decision.reason
    held_unknown = FakeContext(greek_table={CALL: CALL_G}, held={PUT: Held(1)})
    assert isinstance(strict.check(buy(CALL), held_unknown), Reject)
    lenient = GreeksLimit(GreeksLimits(max_abs_vega_dollars=1_000, on_unknown="ignore"))
    assert lenient.check(buy(CALL), FakeContext()) is APPROVE


def test_exits_are_never_checked():
    rule = GreeksLimit(GreeksLimits(max_abs_delta_dollars=1))
    ctx = FakeContext(held={CALL: Held(4)})  # Greeks unknown, far over the limit
    assert passes(rule, sell(CALL, 4), ctx)


@dataclass
class EpochContext(FakeContext):
    """A context like the bot's: the exposure object is kept, and the Greeks source says when
    Greeks may have changed (its epoch)."""

    epoch: int = 0
    asked: list[str] = field(default_factory=list)
    kept: Exposure | None = None

    def exposure(self) -> Exposure:
        if self.kept is None:
            self.kept = Exposure.of(self)
        return self.kept

    def greeks(self, symbol: str) -> ContractGreeks | None:
        self.asked.append(symbol)
        return super().greeks(symbol)

    def greeks_epoch(self) -> int | None:
        return self.epoch


def test_portfolio_sums_are_kept_within_an_epoch_and_redone_when_it_moves():
    rule = GreeksLimit(GreeksLimits(max_abs_delta_dollars=200_000))
    ctx = EpochContext(greek_table={CALL: CALL_G, PUT: PUT_G}, held={CALL: Held(2)})
    assert rule.check(buy(PUT, 1), ctx) is APPROVE
    assert sorted(ctx.asked) == [CALL, PUT]  # the held call summed, the order's own put
    ctx.asked.clear()
    assert rule.check(buy(CALL, 3), ctx) is APPROVE  # 75,000 held + 112,500
    assert ctx.asked == []  # the held sum was kept, and the call's Greeks of this epoch
    assert rule.check(buy(PUT, 1), ctx) is APPROVE
    assert ctx.asked == []  # the put, the first order's own contract, was asked once
    # The source refreshes: delta 0.9 makes the held calls 135,000, one more 202,500.
    ctx.greek_table[CALL] = ContractGreeks(0.9, 0.01, 0.40, -0.80, 750.0)
    ctx.epoch += 1
    decision = rule.check(buy(CALL, 1), ctx)
    assert isinstance(decision, Reject) and "135,000 → 202,500" in decision.reason


def test_a_new_book_is_summed_again_within_the_same_epoch():
    rule = GreeksLimit(GreeksLimits(max_abs_delta_dollars=200_000))
    ctx = EpochContext(greek_table={CALL: CALL_G}, held={CALL: Held(2)})
    assert rule.check(buy(CALL, 3), ctx) is APPROVE
    ctx.held[CALL] = Held(5)  # filled meanwhile: the bot's view builds a new exposure
    ctx.kept = None
    ctx.asked.clear()
    decision = rule.check(buy(CALL, 1), ctx)
    assert isinstance(decision, Reject) and "187,500 → 225,000" in decision.reason
    assert ctx.asked == []  # the new book summed with the Greeks already asked this epoch
