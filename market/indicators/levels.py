"""Support and resistance from local extrema (pivots), streaming and batch with one rule set.

A pivot high is a bar whose high is the highest of the ``left`` bars before it and the ``right``
bars after it (strictly above the left ones, so a flat top counts once). It is only *known*
``right`` bars later, so a level appears then and never earlier: no look-ahead. Pivots within
``tolerance`` (relative) of an existing level merge into it (its price becomes the mean of its
pivots, its ``touches`` grow); the book keeps the ``max_levels`` most recently touched levels.
Support is the highest level at or below the close, resistance the lowest level above it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from market.data import Bar
from market.indicators._base import NAN, RangeWindow, Streaming, check_period

FloatArray = NDArray[np.float64]


@dataclass(slots=True)
class Level:
    """One price level: where pivots clustered, how often, and when last."""

    price: float
    touches: int
    last_bar: int
    total: float  # sum of the pivot prices (price = total / touches)


class LevelBook:
    """The clustered levels; shared by the streaming and the batch form so they agree."""

    __slots__ = ("_prices", "levels", "max_levels", "tolerance")

    def __init__(self, tolerance: float, max_levels: int) -> None:
        if not 0 <= tolerance < 1:
            raise ValueError(f"tolerance is a fraction of price in [0, 1), got {tolerance}")
        self.tolerance = tolerance
        self.max_levels = check_period("max_levels", max_levels, 1)
        self.levels: list[Level] = []
        self._prices: list[float] = []  # sorted level prices, rebuilt when a level changes

    def add(self, price: float, bar: int) -> None:
        best: Level | None = None
        for level in self.levels:
            if abs(level.price - price) <= self.tolerance * level.price and (
                    best is None or abs(level.price - price) < abs(best.price - price)):
                best = level
        if best is None:
            self.levels.append(Level(price, 1, bar, price))
            if len(self.levels) > self.max_levels:
                self.levels.remove(min(self.levels, key=lambda lv: lv.last_bar))
        else:
            best.touches += 1
            best.total += price
            best.price = best.total / best.touches
            best.last_bar = bar
        self._prices = sorted(level.price for level in self.levels)

    def nearest(self, close: float) -> tuple[float, float]:
        """(support, resistance) around ``close``; NaN where there is none."""
        prices = self._prices
        k = bisect_right(prices, close)
        return (prices[k - 1] if k else NAN), (prices[k] if k < len(prices) else NAN)


class SupportResistance(Streaming):
    """Nearest support below and resistance above the close, from confirmed pivots."""

    __slots__ = ("_book", "_window", "left", "resistance", "right", "support")
    name = "levels"

    def __init__(self, left: int = 5, right: int = 5, tolerance: float = 0.002,
                 max_levels: int = 12) -> None:
        super().__init__(check_period("left", left, 1) + check_period("right", right, 1) + 1)
        self.left, self.right = left, right
        self._book = LevelBook(tolerance, max_levels)
        self._window = RangeWindow(left + right + 1)
        self.support = self.resistance = NAN

    @property
    def levels(self) -> list[Level]:
        return list(self._book.levels)

    def update(self, high: float, low: float, close: float) -> float:
        if (high + low + close) - (high + low + close):
            return self._reject()
        self.n += 1
        win = self._window
        if win.push(high, low):
            centre = (win.i + self.left) % win.size  # win.i is the oldest entry
            h, lo = win.highs[centre], win.lows[centre]
            # Only a window extreme can be a pivot: the full check runs rarely.
            if h == win.highest or lo == win.lowest:
                self._check_pivots()
        self.support, self.resistance = self._book.nearest(close)
        self.value = self.support
        return self.support

    def _check_pivots(self) -> None:
        highs, lows = self._window.ordered()
        c = self.left
        bar = self.n - 1 - self.right
        h = highs[c]
        if h > max(highs[:c]) and h >= max(highs[c + 1:]):
            self._book.add(h, bar)
        lo = lows[c]
        if lo < min(lows[:c]) and lo <= min(lows[c + 1:]):
            self._book.add(lo, bar)

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close)

    def snapshot(self) -> dict[str, float]:
        return {"support": self.support, "resistance": self.resistance}


def pivots(high: FloatArray, low: FloatArray, left: int, right: int
           ) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Boolean masks of pivot highs and pivot lows (at the pivot bar, not when confirmed)."""
    n = len(high)
    is_high = np.zeros(n, dtype=bool)
    is_low = np.zeros(n, dtype=bool)
    if n < left + right + 1:
        return is_high, is_low
    win = np.lib.stride_tricks.sliding_window_view
    hw, lw = win(high, left + right + 1), win(low, left + right + 1)
    centre_h, centre_l = hw[:, left], lw[:, left]
    is_high[left:n - right] = (centre_h > hw[:, :left].max(axis=1)) & (
        centre_h >= hw[:, left + 1:].max(axis=1))
    is_low[left:n - right] = (centre_l < lw[:, :left].min(axis=1)) & (
        centre_l <= lw[:, left + 1:].min(axis=1))
    return is_high, is_low


def support_resistance(high: FloatArray, low: FloatArray, close: FloatArray, left: int = 5,
                       right: int = 5, tolerance: float = 0.002, max_levels: int = 12,
                       chunk: int = 65_536) -> tuple[FloatArray, FloatArray]:
    """Batch form of ``SupportResistance``: (support, resistance) as known at each bar.

    The book changes only when a pivot is confirmed (``right`` bars after it). One Python pass
    over the pivots records the sorted level prices in effect from each confirmation on (a
    row of at most ``max_levels``); each bar then takes its row and the nearest levels around
    its close with numpy, ``chunk`` bars at a time to bound memory.
    """
    is_high, is_low = pivots(high, low, left, right)
    book = LevelBook(tolerance, max_levels)
    events = np.flatnonzero(is_high | is_low)
    table = np.full((len(events), max_levels), np.nan)
    for k, bar in enumerate(events.tolist()):
        if is_high[bar]:
            book.add(float(high[bar]), bar)
        if is_low[bar]:
            book.add(float(low[bar]), bar)
        table[k, :len(book._prices)] = book._prices
    n = len(close)
    support, resistance = np.full(n, np.nan), np.full(n, np.nan)
    row = np.searchsorted(events + right, np.arange(n), side="right") - 1  # -1: no level yet
    for a in range(0, n, chunk):
        rows, c = row[a:a + chunk], close[a:a + chunk]
        known = rows >= 0
        if not known.any():
            continue
        levels, cc = table[rows[known]], c[known][:, None]
        with np.errstate(invalid="ignore"):
            below = np.where(levels <= cc, levels, -np.inf).max(axis=1)
            above = np.where(levels > cc, levels, np.inf).min(axis=1)
        support[a:a + chunk][known] = np.where(np.isfinite(below), below, np.nan)
        resistance[a:a + chunk][known] = np.where(np.isfinite(above), above, np.nan)
    return support, resistance
