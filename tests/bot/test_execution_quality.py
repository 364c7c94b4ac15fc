"""Cost of liquidity against hand-computed values, and mark-outs recorded by the engine."""

from __future__ import annotations

from typing import Any

import pytest

from bot.execution_quality import assess, from_store, summarize
from tests.bot.test_execution import enter, make_bot, tick


def row(cid: str, side: str, price: float, qty: int = 1, m1: float | None = None,
        strategy: str = "s") -> dict[str, Any]:
    return {"fill_id": f"f-{cid}", "client_order_id": cid, "side": side, "price": price,
            "quantity": qty, "strategy": strategy, "mid_after_1m": m1, "mid_after_5m": None}


ORDERS: dict[str, dict[str, Any]] = {
    "root": {"replaces": None, "nbbo_bid": 2.00, "nbbo_ask": 2.10},
    "step": {"replaces": "root", "nbbo_bid": 2.02, "nbbo_ask": 2.12},  # market moved later
    "sell": {"replaces": None, "nbbo_bid": 2.00, "nbbo_ask": 2.10},
}


def test_improvement_is_measured_against_the_decision_time_market() -> None:
    # Bought at 2.06 on the second step of a chain that started at NBBO 2.00 x 2.10:
    # 0.04 better than the 2.10 ask = $4 per contract, 0.01 worse than the mid = -$1,
    # 40% of the spread saved; the mid 1 minute later was 2.08: +$2 per contract.
    (q,) = assess([row("step", "buy", 2.06, m1=2.08)], ORDERS)
    assert q.natural == 2.10 and q.mid == pytest.approx(2.05)
    assert q.vs_natural == pytest.approx(4.0)
    assert q.vs_mid == pytest.approx(-1.0)
    assert q.spread_captured == pytest.approx(0.4)
    assert q.markout_1m == pytest.approx(2.0)


def test_crossing_the_spread_captures_nothing() -> None:
    (q,) = assess([row("sell", "sell", 2.00, m1=1.95)], ORDERS)
    assert q.vs_natural == 0 and q.spread_captured == 0
    assert q.vs_mid == pytest.approx(-5.0)
    assert q.markout_1m == pytest.approx(5.0)  # sold, then the mid fell: good for the seller


def test_summary_weights_by_contracts() -> None:
    items = assess([row("root", "buy", 2.10, qty=3), row("step", "buy", 2.05, qty=1)], ORDERS)
    s = summarize(items)["s"]
    assert s["contracts"] == 4 and s["fills"] == 2
    assert s["saved_vs_natural"] == pytest.approx(5.0)  # 0 x 3 + $5 x 1
    assert s["avg_vs_natural_per_contract"] == pytest.approx(1.25)


def test_engine_records_the_nbbo_and_the_markouts_of_a_fill() -> None:
    bot, clock, _ = make_bot()
    tick(bot, clock, 0)
    enter(bot, quantity=2)
    tick(bot, clock, 4, bid=1.98, ask=2.05)  # fills at 2.05, the mid at order time
    tick(bot, clock, 70, bid=2.10, ask=2.20)  # mid 2.15 at +1 minute
    tick(bot, clock, 310, bid=2.00, ask=2.10)  # mid 2.05 at +5 minutes
    (q,) = from_store(bot.store)
    assert q.price == 2.05 and q.natural == 2.10
    assert q.spread_captured == pytest.approx(0.5)
    assert q.markout_1m == pytest.approx(10.0) and q.markout_5m == pytest.approx(0.0)
