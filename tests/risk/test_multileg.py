"""The combo risk gate: what a spread really risks, at the boundaries of each limit.

Golden numbers are worked by hand from the payoff at expiry (a vertical's max loss is its
debit, or its width less its credit; an iron condor's is its wider wing less the credit).
"""

from __future__ import annotations

from typing import Any

import pytest

from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import Intent, OrderType, Side
from risk.config import RiskConfig
from risk.context import ContractGreeks
from risk.decision import Resize
from risk.manager import RiskManager
from risk.rules import build_rules
from risk.rules.multileg import ComboEconomics, ComboGate, ComboVerdict, payoff_floor
from risk.state import TradingState
from tests.risk.fakes import CALL, PUT, FakeContext, Held

C755 = "GOOG151231C00755000"
C760 = "GOOG151231C00760000"
P740 = "GOOG151231P00740000"
BUY, SELL = Side.BUY, Side.SELL
DEBIT_CALLS = (Leg(CALL, BUY), Leg(C755, SELL))  # 750/755 call vertical, bought
CREDIT_PUTS = (Leg(PUT, SELL), Leg(P740, BUY))  # 745/740 put vertical, sold
CONDOR = (Leg(P740, BUY), Leg(PUT, SELL), Leg(C755, SELL), Leg(C760, BUY))
_ids = iter(range(1, 10**9))


def combo(legs: tuple[Leg, ...], quantity: int, limit: float | None,
          **kw: Any) -> MultiLegOrder:
    return MultiLegOrder(f"c-{next(_ids)}", legs, quantity,
                         OrderType.MARKET if limit is None else OrderType.LIMIT, limit, **kw)


def market() -> FakeContext:
    ctx = FakeContext()
    for symbol, bid, ask in ((CALL, 9.90, 10.10), (C755, 7.40, 7.60), (C760, 5.40, 5.60),
                             (PUT, 6.90, 7.10), (P740, 5.60, 5.80)):
        ctx.with_quote(symbol, bid, ask)
    return ctx


def check(order: MultiLegOrder, ctx: FakeContext | None = None, **config: Any) -> ComboVerdict:
    gate = ComboGate(RiskManager(build_rules(RiskConfig(**config))))
    return gate.check(order, ctx or market())


@pytest.mark.parametrize(("legs", "floor"), [
    (DEBIT_CALLS, 0.0),  # worst case: both calls expire worthless
    (CREDIT_PUTS, -5.0),  # underlying at 0: -745 + 740
    (CONDOR, -5.0),  # either wing
    ((Leg(CALL, BUY), Leg(PUT, BUY)), 0.0),  # a long strangle
    ((Leg(CALL, BUY), Leg(C755, SELL, ratio=2)), None),  # one call sold naked
])
def test_payoff_floor_at_expiry(legs: tuple[Leg, ...], floor: float | None) -> None:
    assert payoff_floor(legs) == floor


@pytest.mark.parametrize(("legs", "price", "max_loss"), [
    (DEBIT_CALLS, 2.50, 2.50), (CREDIT_PUTS, -1.20, 3.80), (CONDOR, -1.50, 3.50)])
def test_max_loss_is_debit_or_width_less_credit(legs: tuple[Leg, ...], price: float,
                                                 max_loss: float) -> None:
    econ = ComboEconomics.of(combo(legs, 1, price), market())
    assert econ is not None and econ.max_loss == pytest.approx(max_loss)


def test_max_loss_against_position_size_boundary_for_a_debit_spread() -> None:
    # 5% of 100,000 = 5,000; a 2.50 debit risks 250 a combo: 20 fit exactly.
    assert check(combo(DEBIT_CALLS, 20, 2.50)).approved
    verdict = check(combo(DEBIT_CALLS, 21, 2.50))
    assert verdict.approved and verdict.order.quantity == 20
    assert [r.rule for r in verdict.resizes] == ["max_position_size"]


def test_max_loss_of_a_credit_spread_is_its_width_less_the_credit() -> None:
    # 3.80 x 100 = 380 a combo: 13 fit in 5,000 (4,940), 14 do not (5,320).
    assert check(combo(CREDIT_PUTS, 13, -1.20)).order.quantity == 13
    verdict = check(combo(CREDIT_PUTS, 14, -1.20))
    assert verdict.order.quantity == 13 and verdict.resizes[0].rule == "max_position_size"


def test_contracts_per_order_count_every_leg() -> None:
    assert check(combo(CONDOR, 2, -1.50), max_contracts_per_order=8).order.quantity == 2
    verdict = check(combo(CONDOR, 3, -1.50), max_contracts_per_order=8)  # 12 contracts
    assert verdict.order.quantity == 2
    assert verdict.resizes[0] == Resize(2, "max_contracts_per_order",
                                        "3 combos x 4 contracts = 12 > max 8 per order")
    refused = check(combo(CONDOR, 1, -1.50), max_contracts_per_order=3)
    assert refused.rejection is not None and refused.rejection.rule == "max_contracts_per_order"


def test_contracts_per_underlying_count_every_leg_and_what_is_held() -> None:
    ctx = market()
    ctx.held["GOOG151231C00800000"] = Held(95)
    limits: dict[str, Any] = {"options": {"max_contracts_per_underlying": 100}}
    assert check(combo(DEBIT_CALLS, 2, 2.50), ctx, **limits).order.quantity == 2  # 99
    verdict = check(combo(DEBIT_CALLS, 3, 2.50), ctx, **limits)  # 101
    assert verdict.order.quantity == 2 and verdict.resizes[0].rule == "contracts_per_underlying"


def test_premium_per_trade_is_the_net_debit() -> None:
    limits: dict[str, Any] = {"options": {"max_premium_per_trade": 500.0}}
    assert check(combo(DEBIT_CALLS, 2, 2.50), **limits).order.quantity == 2  # exactly 500
    assert check(combo(DEBIT_CALLS, 3, 2.50), **limits).order.quantity == 2
    # A credit pays no premium: the per-trade premium cap does not shrink it.
    assert check(combo(CREDIT_PUTS, 10, -1.20), **limits).order.quantity == 10


def test_naked_short_combos_are_refused_unless_allowed() -> None:
    naked = (Leg(CALL, BUY), Leg(C755, SELL, ratio=2))
    verdict = check(combo(naked, 1, 0.50))
    assert verdict.rejection is not None and verdict.rejection.rule == "no_short_options"
    assert "sells more calls than it buys" in verdict.rejection.reason
    assert check(combo(naked, 1, 0.50), options={"allow_short_options": True}).approved
    assert check(combo(CREDIT_PUTS, 1, -1.20)).approved  # covered: a defined-risk spread


def test_liquidity_is_checked_on_every_leg() -> None:
    ctx = market().with_quote(C755, 7.00, 8.00)  # the short leg's spread: 1.00 > 0.50
    verdict = check(combo(DEBIT_CALLS, 1, 2.50), ctx)
    assert verdict.rejection is not None and verdict.rejection.rule == "spread"
    assert verdict.rejection.reason.startswith("leg 2: spread 1.00")
    ctx.volumes[C755] = 0
    ctx.with_quote(C755, 7.40, 7.60, volume=3)
    thin = check(combo(DEBIT_CALLS, 1, 2.50), ctx)
    assert thin.rejection is not None and thin.rejection.rule == "volume"


def test_portfolio_greeks_add_every_leg() -> None:
    ctx = market()
    ctx.greek_table[CALL] = ContractGreeks(0.50, 0.01, 0.40, -0.30, 750.0)
    ctx.greek_table[C755] = ContractGreeks(0.40, 0.01, 0.38, -0.28, 750.0)
    limits = {"greeks": {"max_abs_delta_dollars": 20_000.0}}
    # One long call alone: 0.50 x 100 x 750 = 37,500 $ delta, over the limit. The vertical
    # nets 0.10 x 100 x 750 = 7,500 a combo: two fit (15,000), three do not (22,500).
    assert check(combo(DEBIT_CALLS, 2, 2.50), ctx, **limits).order.quantity == 2
    verdict = check(combo(DEBIT_CALLS, 3, 2.50), ctx, **limits)
    assert verdict.order.quantity == 2 and verdict.resizes[0].rule == "greeks"
    del ctx.greek_table[C755]
    unknown = check(combo(DEBIT_CALLS, 1, 2.50), ctx, **limits)
    assert unknown.rejection is not None and C755 in unknown.rejection.reason


def test_closing_a_spread_passes_every_entry_limit() -> None:
    ctx = market()
    ctx.held.update({CALL: Held(2), C755: Held(-2)})
    ctx.trading_state, ctx.entries_paused = TradingState.REDUCING, True
    ctx.feed_stale = True
    ctx.with_quote(C755, 7.00, 8.00, volume=0, oi=0)  # a bad market never traps an exit
    close = (Leg(CALL, SELL, intent=Intent.CLOSE), Leg(C755, BUY, intent=Intent.CLOSE))
    assert check(combo(close, 2, None), ctx, max_contracts_per_order=1).approved
    reopen = check(combo(DEBIT_CALLS, 1, 2.50), ctx)
    assert reopen.rejection is not None and reopen.rejection.rule == "trading_state"


def test_a_closing_leg_with_nothing_to_close_is_refused() -> None:
    close = (Leg(CALL, SELL, intent=Intent.CLOSE), Leg(C755, BUY, intent=Intent.CLOSE))
    verdict = check(combo(close, 1, -2.40))
    assert verdict.rejection is not None and verdict.rejection.rule == "multileg"
    assert "no position to reduce" in verdict.rejection.reason


def test_account_rules_see_the_combo_once_and_remember_it() -> None:
    gate = ComboGate(RiskManager(build_rules(RiskConfig())))
    ctx = market()
    first = combo(DEBIT_CALLS, 1, 2.50)
    assert gate.check(first, ctx).approved
    again = gate.check(combo(DEBIT_CALLS, 1, 2.50), ctx)
    assert again.rejection is not None and again.rejection.rule == "duplicate_order"
    step = combo(DEBIT_CALLS, 1, 2.55, replaces=first.client_order_id)
    assert gate.check(step, ctx).approved  # a net-price step of the same combo
    ctx.at = ctx.at.replace(hour=21)  # after the close (16:00 New York)
    late = gate.check(combo(CREDIT_PUTS, 1, -1.20), ctx)
    assert late.rejection is not None and late.rejection.rule == "session_window"


def test_a_market_combo_without_quotes_on_every_leg_cannot_be_priced() -> None:
    ctx = market()
    del ctx.quotes[C755]
    verdict = check(combo(DEBIT_CALLS, 1, None), ctx)
    assert verdict.rejection is not None and "cannot price" in verdict.rejection.reason
