"""Which side initiated a print: its price against the NBBO at that moment (quote rule)."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray


class TradeSide(IntEnum):
    UNKNOWN = 0  # no usable NBBO (missing, crossed, stale) or a bad price
    BUY = 1  # at or above the ask, or in the upper part of the spread: a buyer paid up
    SELL = 2  # at or below the bid, or in the lower part: a seller hit the bid
    MID = 3  # around the mid (within the configured band): no side can be told


def classify_side(price: float, bid: float, ask: float, mid_band: float = 0.1) -> TradeSide:
    """The side of one print. A locked market (bid == ask) at that price is MID."""
    return TradeSide(int(classify_sides(price, bid, ask, mid_band)))


def classify_sides(price: ArrayLike, bid: ArrayLike, ask: ArrayLike,
                   mid_band: float = 0.1) -> NDArray[np.int8]:
    """`TradeSide` codes for arrays of prints (vectorized, for replays and back-fills)."""
    p = np.asarray(price, dtype=np.float64)
    b = np.asarray(bid, dtype=np.float64)
    a = np.asarray(ask, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        usable = (np.isfinite(p) & np.isfinite(b) & np.isfinite(a) & (p > 0) & (b >= 0)
                  & (a > 0) & (b <= a))
        spread = a - b
        position = np.where(spread > 0, (p - 0.5 * (a + b)) / np.where(spread > 0, spread, 1.0),
                            0.0)
        side = np.where(position > mid_band, TradeSide.BUY,
                        np.where(position < -mid_band, TradeSide.SELL, TradeSide.MID))
        side = np.where((p >= a) & (spread > 0), TradeSide.BUY, side)
        side = np.where((p <= b) & (spread > 0), TradeSide.SELL, side)
        side = np.where((spread == 0) & (p > a), TradeSide.BUY, side)
        side = np.where((spread == 0) & (p < b), TradeSide.SELL, side)
    return np.where(usable, side, TradeSide.UNKNOWN).astype(np.int8)
