"""The cost-of-liquidity section of the backtest report (JSON and HTML)."""

from __future__ import annotations

import math
from typing import Any

from backtest.report import _execution_table
from bot.execution_quality import assess, summarize

# A buy of 2 at 1.02 when the market was 1.00 x 1.10: crossing would have paid 1.10, so
# 0.08 x 100 = $8 per contract saved, 0.08 / 0.10 = 80% of the spread; vs the mid 1.05: +$3.
# The mid one minute later is 1.00: (1.00 - 1.02) x 100 = -$2 per contract.
FILLS: list[dict[str, Any]] = [
    {"fill_id": "f1", "client_order_id": "c2", "strategy": "scalping", "side": "buy",
     "quantity": 2, "price": 1.02, "mid_after_1m": 1.00, "mid_after_5m": None}]
ORDERS: dict[str, dict[str, Any]] = {
    "c1": {"replaces": None, "nbbo_bid": 1.00, "nbbo_ask": 1.10},
    "c2": {"replaces": "c1", "nbbo_bid": 1.20, "nbbo_ask": 1.30}}  # a replace: c1 decides


def test_the_table_shows_hand_computed_figures() -> None:
    quality = summarize(assess(FILLS, ORDERS))
    row = quality["scalping"]
    assert row["saved_vs_natural"] == 16.0 and row["avg_vs_natural_per_contract"] == 8.0
    assert row["avg_vs_mid_per_contract"] == 3.0 and row["avg_spread_captured"] == 0.8
    assert row["avg_markout_1m_per_contract"] == -2.0
    assert math.isnan(row["avg_markout_5m_per_contract"])
    page = _execution_table(quality)
    assert "<h2>Cost of liquidity</h2>" in page
    assert "<td>$16.00</td><td>$8.00</td><td>$3.00</td><td>80.0%</td><td>-$2.00</td>" in page
    assert page.endswith("<td>n/a</td></tr>\n</table>")  # no 5-minute mark-out yet, no NaN


def test_no_fills_no_section() -> None:
    assert _execution_table({}) == ""
