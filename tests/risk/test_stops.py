"""ATR stops: Wilder's ATR (via TA-Lib) checked against a hand computation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from brokers.orders import Side
from market.data import Bar
from risk.stops import atr_stop, average_true_range

T0 = datetime(2015, 12, 24, 15, 0, tzinfo=UTC)
HLC = [(10.0, 9.0, 9.5), (10.5, 9.5, 10.0), (11.5, 10.0, 11.0), (11.2, 10.6, 10.8),
       (12.0, 10.9, 11.9)]
BARS = [Bar("X", T0 + timedelta(minutes=i), c, h, lo, c, 100) for i, (h, lo, c) in
        enumerate(HLC)]


def test_wilder_atr_by_hand():
    # True ranges from bar 1: 1.0, 1.5, 0.6, 1.2. The first ATR(3) is their simple mean
    # (1.0 + 1.5 + 0.6) / 3; then Wilder: (1.0333… × 2 + 1.2) / 3.
    first = (1.0 + 1.5 + 0.6) / 3
    assert average_true_range(BARS[:4], 3) == pytest.approx(first)
    assert average_true_range(BARS, 3) == pytest.approx((first * 2 + 1.2) / 3)


def test_atr_needs_period_plus_one_bars():
    assert average_true_range(BARS[:3], 3) is None


def test_atr_stop_two_atrs_below_a_long_entry_floored_at_a_cent():
    assert atr_stop(5.00, 0.40, 2.0) == pytest.approx(4.20)
    assert atr_stop(0.50, 0.40, 2.0) == pytest.approx(0.01)
    assert atr_stop(5.00, 0.40, 2.0, Side.SELL) == pytest.approx(5.80)
    with pytest.raises(ValueError, match="positive"):
        atr_stop(5.0, 0.0, 2.0)


def test_stop_for_entry_uses_the_bars_or_gives_none():
    from risk.stops import stop_for_entry

    atr = ((1.0 + 1.5 + 0.6) / 3 * 2 + 1.2) / 3
    assert stop_for_entry(12.0, BARS, 3, 2.0) == pytest.approx(round(12.0 - 2 * atr, 2))
    assert stop_for_entry(12.0, BARS[:2], 3, 2.0) is None
    assert stop_for_entry(12.0, None, 3, 2.0) is None
