"""Oscillators over a window: Stochastic, StochRSI, Williams %R, CCI, MFI — streaming, in
TA-Lib's arithmetic, with the neutral values on degenerate windows listed in ``momentum.py``
(decision record 0142)."""

from __future__ import annotations

from itertools import repeat
from operator import sub

from market.data import Bar
from market.indicators._base import NAN, RangeWindow, Streaming, check_period
from market.indicators.momentum import RSI, TINY
from market.indicators.moving import SMA


class Stochastic(Streaming):
    """Slow stochastic: %K = SMA(fast %K, slowk), %D = SMA(%K, slowd)."""

    __slots__ = ("_d", "_k", "_range", "d", "k")
    name = "stoch"

    def __init__(self, fastk: int = 14, slowk: int = 3, slowd: int = 3) -> None:
        check_period("fastk", fastk, 1)
        super().__init__(
            fastk + check_period("slowk", slowk, 1) + check_period("slowd", slowd, 1) - 2
        )
        self._range = RangeWindow(fastk)
        self._k, self._d = (SMA(slowk) if slowk > 1 else None), (SMA(slowd) if slowd > 1 else None)
        self.k = self.d = NAN

    def update(self, high: float, low: float, close: float) -> float:
        if (high + low + close) - (high + low + close):
            return self._reject()
        self.n += 1
        rng = self._range
        if not rng.push(high, low):
            return NAN
        hh, ll = rng.highest, rng.lowest
        fast_k = (close - ll) / ((hh - ll) / 100.0) if hh != ll else 50.0
        k = self._k.update(fast_k) if self._k is not None else fast_k
        if k != k:
            return NAN
        d = self._d.update(k) if self._d is not None else k
        if d != d:
            return NAN
        self.k, self.d = k, d
        self.value = k
        return k

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close)

    def snapshot(self) -> dict[str, float]:
        return {"k": self.k, "d": self.d}


class StochRSI(Streaming):
    """Fast stochastic of RSI: %K over ``fastk`` RSI values, %D = SMA(%K, fastd)."""

    __slots__ = ("_d", "_rsi", "_win", "d", "k")
    name = "stochrsi"

    def __init__(self, period: int = 14, fastk: int = 5, fastd: int = 3) -> None:
        super().__init__(
            check_period("period", period)
            + check_period("fastk", fastk, 1)
            + check_period("fastd", fastd, 1)
            - 1
        )
        self._rsi = RSI(period)
        self._win = RangeWindow(fastk)
        self._d = SMA(fastd) if fastd > 1 else None
        self.k = self.d = NAN

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        self.n += 1
        r = self._rsi.update(x)
        if r != r:
            return NAN
        win = self._win
        if not win.push(r, r):
            return NAN
        hi, lo = win.highest, win.lowest
        # RSI is computed, not quoted: a range within float noise is a flat range.
        k = (r - lo) / ((hi - lo) / 100.0) if hi - lo > TINY else 50.0
        d = self._d.update(k) if self._d is not None else k
        if d != d:
            return NAN
        self.k, self.d = k, d
        self.value = k
        return k

    def snapshot(self) -> dict[str, float]:
        return {"k": self.k, "d": self.d}


class WilliamsR(Streaming):
    """Williams %R: where the close sits in the window's range, 0 (top) to -100 (bottom)."""

    __slots__ = ("_range",)
    name = "willr"

    def __init__(self, period: int = 14) -> None:
        super().__init__(check_period("period", period))
        self._range = RangeWindow(period)

    def update(self, high: float, low: float, close: float) -> float:
        if (high + low + close) - (high + low + close):
            return self._reject()
        self.n += 1
        rng = self._range
        if not rng.push(high, low):
            return NAN
        hh, ll = rng.highest, rng.lowest
        value = self.value = (hh - close) / ((hh - ll) / -100.0) if hh != ll else -50.0
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close)


class CCI(Streaming):
    """Commodity Channel Index: (TP - SMA(TP)) / (0.015 x mean absolute deviation).

    The mean deviation is taken about the current mean, so each update scans the window
    (``period`` floats; no exact O(1) form exists). 0 when the window is flat, as TA-Lib.
    """

    __slots__ = ("_buf", "_i", "period")
    name = "cci"

    def __init__(self, period: int = 20) -> None:
        super().__init__(check_period("period", period))
        self.period = period
        self._buf: list[float] = []
        self._i = 0

    def update(self, high: float, low: float, close: float) -> float:
        tp = (high + low + close) / 3.0
        if tp - tp:
            return self._reject()
        self.n += 1
        buf, p = self._buf, self.period
        if len(buf) < p:
            buf.append(tp)
            if len(buf) < p:
                return NAN
        else:
            i = self._i
            buf[i] = tp
            self._i = i + 1 if i + 1 < p else 0
        mean = sum(buf) / p
        dev = sum(map(abs, map(sub, buf, repeat(mean, p))))  # C-level loop
        diff = tp - mean
        value = self.value = diff / (0.015 * (dev / p)) if diff != 0.0 and dev != 0.0 else 0.0
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close)


class MFI(Streaming):
    """Money Flow Index: RSI of typical price x volume over ``period`` bars."""

    __slots__ = ("_i", "_negs", "_poss", "_prev", "period")
    name = "mfi"

    def __init__(self, period: int = 14) -> None:
        super().__init__(check_period("period", period) + 1)
        self.period = period
        self._prev = NAN
        self._poss = [0.0] * period
        self._negs = [0.0] * period
        self._i = 0

    def update(self, high: float, low: float, close: float, volume: float) -> float:
        tp = (high + low + close) / 3.0
        if (tp + volume) - (tp + volume):
            return self._reject()
        n = self.n = self.n + 1
        if n == 1:
            self._prev = tp
            return NAN
        d = tp - self._prev
        self._prev = tp
        flow = tp * volume
        i = self._i
        if d < -TINY:  # TA-Lib ignores float noise in the typical price
            self._negs[i], self._poss[i] = flow, 0.0
        elif d > TINY:
            self._poss[i], self._negs[i] = flow, 0.0
        else:
            self._poss[i] = self._negs[i] = 0.0
        self._i = i + 1 if i + 1 < self.period else 0
        if n <= self.period:
            return NAN
        # Summed afresh (C-level, `period` floats): a running sum drifts to +-1e-13 on a flat
        # window, which would print 0 or 100 where there was no flow at all.
        pos, neg = sum(self._poss), sum(self._negs)
        total = pos + neg
        value = self.value = 100.0 * (pos / total) if total > 0.0 else 50.0
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close, bar.volume)
