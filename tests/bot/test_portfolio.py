"""Positions and P&L from fills, checked against hand computations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.portfolio import Portfolio, Position
from brokers.orders import Fill, Side
from market.data import Quote

SYM = "XYZ251219C00100000"
T = datetime(2025, 12, 1, 15, tzinfo=UTC)


def fill(side: Side, qty: int, price: float, fee: float = 0.65) -> Fill:
    return Fill(f"f{side}{qty}{price}", "c", SYM, side, qty, price, T, fee * qty)


def test_round_trip_realized_pnl_after_fees() -> None:
    pos = Position(SYM)
    pos.apply(fill(Side.BUY, 2, 2.00))
    pos.apply(fill(Side.BUY, 2, 3.00))  # average 2.50
    assert pos.average_price == pytest.approx(2.50)
    pos.apply(fill(Side.SELL, 3, 3.10))  # +0.60 * 3 * 100 = 180
    assert pos.quantity == 1
    assert pos.average_price == pytest.approx(2.50)
    # 180 profit minus 7 contracts of fees at 0.65 so far (2 + 2 + 3)
    assert pos.realized_pnl == pytest.approx(180 - 0.65 * 7)
    pos.apply(fill(Side.SELL, 1, 2.00))  # -0.50 * 100 = -50
    assert pos.quantity == 0 and pos.average_price == 0.0
    assert pos.realized_pnl == pytest.approx(130 - 0.65 * 8)
    assert pos.fees == pytest.approx(0.65 * 8)


def test_equity_marks_at_mid_and_at_the_liquidation_side() -> None:
    pf = Portfolio(starting_cash=10_000)
    f = fill(Side.BUY, 2, 2.00, fee=0.5)
    pf.commit(f, pf.preview(f))
    quotes = {SYM: Quote(SYM, T, 2.10, 2.30)}
    assert pf.cash == pytest.approx(10_000 - 400 - 1.0)
    assert pf.equity(quotes, at_liquidation=False) == pytest.approx(9_599 + 2 * 220)
    assert pf.equity(quotes, at_liquidation=True) == pytest.approx(9_599 + 2 * 210)
    assert pf.unrealized_pnl(quotes, at_liquidation=True) == pytest.approx(20.0)


def test_short_position_is_marked_at_the_ask() -> None:
    pf = Portfolio(starting_cash=10_000)
    f = fill(Side.SELL, 1, 3.00, fee=0)
    pf.commit(f, pf.preview(f))
    quotes = {SYM: Quote(SYM, T, 2.80, 3.20)}
    assert pf.unrealized_pnl(quotes, at_liquidation=True) == pytest.approx(-20.0)
    assert pf.unrealized_pnl(quotes, at_liquidation=False) == pytest.approx(0.0)


def test_preview_does_not_change_the_portfolio() -> None:
    pf = Portfolio(starting_cash=1_000)
    pf.preview(fill(Side.BUY, 1, 1.0))
    assert pf.quantity(SYM) == 0 and pf.cash == 1_000
