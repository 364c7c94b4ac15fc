"""Volume patterns per closed bar, for strategies that act as bars close.

``BreakoutDetector`` and ``ClimaxDetector`` are the streaming forms of ``chart.breakouts`` and
``chart.volume_climax`` (equal to them bar for bar, tested): O(1) per bar, plain floats.
The pivot-based patterns (double tops, head and shoulders, flags, triangles) are batch only:
they are confirmed many bars after they start, so rerunning them on a trailing window when a
bar closes gives the same ``known_at`` answers.
"""

from __future__ import annotations

import math

from market.data import Bar
from market.indicators._base import RangeWindow, check_period


class _PriorMean:
    """Mean of the last ``size`` values before the current one."""

    __slots__ = ("buf", "count", "i", "size", "total")

    def __init__(self, size: int) -> None:
        self.size = size
        self.buf = [0.0] * size
        self.i = self.count = 0
        self.total = 0.0

    def mean(self) -> float:
        return self.total / self.size if self.count == self.size else math.nan

    def push(self, x: float) -> None:
        i = self.i
        self.total += x - self.buf[i]
        self.buf[i] = x
        self.i = i + 1 if i + 1 < self.size else 0
        if self.count < self.size:
            self.count += 1
            if self.count == self.size:  # start exact: no drift carried from the warm-up
                self.total = sum(self.buf)


class BreakoutDetector:
    """+1 when the close clears the prior ``lookback`` bars' highest high on volume at least
    ``volume_factor`` x their mean; -1 through the lowest low; else 0."""

    def __init__(self, lookback: int = 20, volume_factor: float = 1.5) -> None:
        self.lookback = check_period("lookback", lookback, 1)
        self.volume_factor = volume_factor
        self._range = RangeWindow(lookback)
        self._volume = _PriorMean(lookback)
        self._full = False

    def update(self, high: float, low: float, close: float, volume: float) -> int:
        if not math.isfinite(high + low + close + volume):
            return 0
        signal = 0
        if self._full and volume >= self.volume_factor * self._volume.mean():
            if close > self._range.highest:
                signal = 1
            elif close < self._range.lowest:
                signal = -1
        self._full = self._range.push(high, low)
        self._volume.push(volume)
        return signal

    def update_bar(self, bar: Bar) -> int:
        return self.update(bar.high, bar.low, bar.close, bar.volume)


class ClimaxDetector:
    """-1 on a buying climax (an up bar at a ``lookback`` high with volume and range far above
    the prior means), +1 on a selling climax (a down bar at a ``lookback`` low), else 0."""

    def __init__(self, lookback: int = 20, volume_factor: float = 3.0,
                 range_factor: float = 1.5) -> None:
        self.lookback = check_period("lookback", lookback, 1)
        self.volume_factor, self.range_factor = volume_factor, range_factor
        self._range = RangeWindow(lookback)  # includes the current bar
        self._volume = _PriorMean(lookback)
        self._spread = _PriorMean(lookback)

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        if not math.isfinite(open_ + high + low + close + volume):
            return 0
        full = self._range.push(high, low)
        rng = high - low
        big = (volume >= self.volume_factor * self._volume.mean()
               and rng >= self.range_factor * self._spread.mean())
        self._volume.push(volume)
        self._spread.push(rng)
        if not (full and big):
            return 0
        if close > open_ and high >= self._range.highest:
            return -1
        if close < open_ and low <= self._range.lowest:
            return 1
        return 0

    def update_bar(self, bar: Bar) -> int:
        return self.update(bar.open, bar.high, bar.low, bar.close, bar.volume)
