"""TA-Lib's 61 candlestick recognizers, exposed uniformly: name, direction, strength.

TA-Lib answers each recognizer with an integer per bar: 0 (none), ±100 (the pattern, bullish
or bearish) or ±200 (a pattern that also got its confirmation, e.g. Hikkake). We turn that into
``CandleSignal(name, direction, strength)`` with strength 1 or 2, and run it in batch over
arrays or on each closed bar (``CandleScanner``), with identical results (tested): the
recognizers only look back a fixed number of bars, so a window that long suffices.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import talib
from numpy.typing import NDArray
from talib.abstract import Function  # type: ignore[attr-defined]

from market.data import Bar

FloatArray = NDArray[np.float64]

#: TA-Lib function name ("CDLENGULFING") -> our short name ("engulfing").
PATTERNS: dict[str, str] = {
    fn: fn[3:].lower() for fn in talib.get_function_groups()["Pattern Recognition"]
}
LABELS: dict[str, str] = {
    PATTERNS[fn]: Function(fn).info["display_name"] for fn in PATTERNS
}
_FUNCTIONS = {short: getattr(talib, fn) for fn, short in PATTERNS.items()}
_LOOKBACK = {short: Function(fn).lookback for fn, short in PATTERNS.items()}


@dataclass(frozen=True, slots=True)
class CandleSignal:
    """One recognized pattern on one bar."""

    name: str  # short name, e.g. "engulfing"
    direction: int  # +1 bullish, -1 bearish
    strength: int  # 1 = the pattern, 2 = the pattern and its confirmation

    @property
    def label(self) -> str:
        return LABELS[self.name]


def _select(names: Iterable[str] | None) -> list[str]:
    if names is None:
        return list(_FUNCTIONS)
    chosen = list(names)
    unknown = [n for n in chosen if n not in _FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown candlestick pattern(s) {unknown}; known: {sorted(_FUNCTIONS)}")
    return chosen


def recognize(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
              names: Iterable[str] | None = None) -> dict[str, NDArray[np.int32]]:
    """Batch: TA-Lib's raw output (0, ±100, ±200) per pattern over whole arrays."""
    o, h, lo, c = (np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close))
    return {n: _FUNCTIONS[n](o, h, lo, c).astype(np.int32) for n in _select(names)}


def to_signal(name: str, raw: int) -> CandleSignal | None:
    if raw == 0:
        return None
    return CandleSignal(name, 1 if raw > 0 else -1, 2 if abs(raw) >= 200 else 1)


def signals(raw: dict[str, NDArray[np.int32]], index: int) -> list[CandleSignal]:
    """The signals of one bar out of ``recognize``'s output, strongest first."""
    found = [s for n, col in raw.items() if (s := to_signal(n, int(col[index]))) is not None]
    return sorted(found, key=lambda s: (-s.strength, s.name))


class CandleScanner:
    """Recognizes patterns on each closed bar of one symbol, from a trailing window."""

    def __init__(self, names: Iterable[str] | None = None) -> None:
        self.names = _select(names)
        self.window = max(_LOOKBACK[n] for n in self.names) + 1
        self._bars: deque[tuple[float, float, float, float]] = deque(maxlen=self.window)

    def update_bar(self, bar: Bar) -> list[CandleSignal]:
        """Add a closed bar; the patterns that complete on it (strongest first)."""
        self._bars.append((bar.open, bar.high, bar.low, bar.close))
        return self.update_window()

    def update_window(self) -> list[CandleSignal]:
        rows = np.array(self._bars, dtype=np.float64)
        if not np.isfinite(rows).all():  # a bad bar in the window: no pattern, never a guess
            return []
        o, h, lo, c = (np.ascontiguousarray(rows[:, k]) for k in range(4))
        n = len(c)
        found = []
        for name in self.names:
            if n <= _LOOKBACK[name]:
                continue
            signal = to_signal(name, int(_FUNCTIONS[name](o, h, lo, c)[-1]))
            if signal is not None:
                found.append(signal)
        return sorted(found, key=lambda s: (-s.strength, s.name))
