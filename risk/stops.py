"""ATR-based stop distance, for sizing and brackets when a signal brings no stop of its own.

The ATR is Wilder's, computed by TA-Lib over the instrument's recent bars. The stop sits
`multiple` ATRs from the entry on the losing side; for a long option it never goes below a cent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import talib

from brokers.orders import Side
from market.data import Bar

MIN_PRICE = 0.01


def average_true_range(bars: Sequence[Bar], period: int) -> float | None:
    """Wilder's ATR of the last bar, or None with fewer than `period + 1` bars."""
    if len(bars) <= period:
        return None
    high = np.fromiter((b.high for b in bars), dtype=np.float64, count=len(bars))
    low = np.fromiter((b.low for b in bars), dtype=np.float64, count=len(bars))
    close = np.fromiter((b.close for b in bars), dtype=np.float64, count=len(bars))
    atr = talib.ATR(high, low, close, timeperiod=period)
    value = float(atr[-1])
    return value if np.isfinite(value) and value > 0 else None


def atr_stop(entry: float, atr: float, multiple: float, side: Side = Side.BUY) -> float:
    """The stop price `multiple` ATRs away from `entry`, against the position."""
    if atr <= 0 or multiple <= 0:
        raise ValueError(f"ATR ({atr}) and multiple ({multiple}) must be positive")
    if side is Side.BUY:
        return max(MIN_PRICE, round(entry - multiple * atr, 2))
    return round(entry + multiple * atr, 2)


def stop_for_entry(entry: float, bars: Sequence[Bar] | None, period: int,
                   multiple: float) -> float | None:
    """The ATR stop for a long entry at `entry` from the contract's own recent bars, or None
    when there are too few bars (sizing then treats the whole premium as at risk)."""
    if not bars:
        return None
    atr = average_true_range(bars, period)
    return None if atr is None else atr_stop(entry, atr, multiple)
