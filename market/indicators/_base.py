"""What every streaming indicator shares: the warm-up count, the rejected-input count, the API.

Streaming indicators are plain-Python objects with ``__slots__`` and float state, one ``update``
per bar in O(1) (or a C-level scan of a short fixed window). They take scalars, not numpy values:
a numpy scalar operation costs more than the whole update.

Contract (tested for every indicator):
- ``update(...)`` returns the primary line, NaN until ``ready``; extra lines are attributes.
- ``update_bar(bar)`` feeds the fields that indicator needs from a ``market.data.Bar``.
- A non-finite input is rejected: the state is left untouched, ``rejected`` is incremented and
  the call returns NaN. The next good input continues as if the bad bar never arrived, which is
  exactly what the batch functions do with a NaN row (see ``batch.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from market.data import Bar

NAN = float("nan")


class Streaming:
    """Base of the streaming indicators (not used on the hot path: subclasses inline their code)."""

    __slots__ = ("n", "rejected", "value", "warmup")

    name: str = "indicator"
    #: One bar in, the primary value out (NaN while not ready); arguments differ per class.
    update: Callable[..., float]

    def __init__(self, warmup: int) -> None:
        self.n = 0  # accepted updates
        self.rejected = 0  # non-finite inputs dropped
        self.value = NAN  # primary output, NaN until ready
        self.warmup = warmup  # accepted updates needed before the first value

    @property
    def ready(self) -> bool:
        """True once enough bars arrived for the value to equal the batch (TA-Lib) value."""
        return self.n >= self.warmup

    @property
    def not_ready_reason(self) -> str | None:
        if self.n >= self.warmup:
            return None
        return f"warming up: {self.n}/{self.warmup} bars"

    def _reject(self) -> float:
        self.rejected += 1
        return NAN

    def update_bar(self, bar: Bar) -> float:
        """Feed one bar; close-only indicators use this, the others override it."""
        return self.update(bar.close)

    def snapshot(self) -> dict[str, Any]:
        """All output lines by name (for dashboards and tests)."""
        return {"value": self.value}


def check_period(name: str, period: int, minimum: int = 2) -> int:
    """Periods are validated once at construction, with a message naming the parameter."""
    if not isinstance(period, int) or isinstance(period, bool) or period < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {period!r}")
    return period


class RangeWindow:
    """Highest and lowest of the last ``size`` (high, low) pairs, amortized O(1).

    The extreme is kept as a float and only rescanned (a C-level ``max`` over ``size`` floats)
    when the value leaving the window was the extreme: about once per ``size`` updates.
    """

    __slots__ = ("count", "highest", "highs", "i", "lowest", "lows", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self.highs = [0.0] * size
        self.lows = [0.0] * size
        self.i = 0  # next write position = the oldest entry once full
        self.count = 0
        self.highest = -math.inf
        self.lowest = math.inf

    def push(self, high: float, low: float) -> bool:
        """Add a pair; True once the window is full (the extremes are then valid)."""
        i = self.i
        old_high, old_low = self.highs[i], self.lows[i]
        self.highs[i] = high
        self.lows[i] = low
        self.i = i + 1 if i + 1 < self.size else 0
        if self.count < self.size:
            self.count += 1
            if high > self.highest:
                self.highest = high
            if low < self.lowest:
                self.lowest = low
            return self.count == self.size
        if high >= self.highest:
            self.highest = high
        elif old_high == self.highest:
            self.highest = max(self.highs)
        if low <= self.lowest:
            self.lowest = low
        elif old_low == self.lowest:
            self.lowest = min(self.lows)
        return True

    def ordered(self) -> tuple[list[float], list[float]]:
        """(highs, lows) oldest first (for the rare callers that need the order)."""
        i = self.i
        return self.highs[i:] + self.highs[:i], self.lows[i:] + self.lows[:i]
