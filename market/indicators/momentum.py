"""Momentum oscillators: RSI (Wilder), Cutler's RSI, MACD, Stochastic, StochRSI, Williams %R,
CCI, MFI, ROC and momentum — streaming, in TA-Lib's arithmetic.

Where TA-Lib prints a number that misleads on a degenerate window we print a neutral one
instead, and say so here (decision record 0142):
- RSI / Cutler RSI with no movement at all in the window: 50, not TA-Lib's 0 ("oversold").
- Stochastic %K / StochRSI %K / Williams %R when the window's high equals its low: 50 / -50,
  not TA-Lib's 0 (which reads as "at the low" / "at the high"). For StochRSI an RSI range
  below 1e-8 is float noise and counts as flat (TA-Lib prints 0 or 100 at random there).
- MFI with no money flow at all: 50 (a typical-price change within 1e-8 counts as none, as in
  TA-Lib 0.6+); TA-Lib prints 0 whenever the flow sum is below 1.0, which
  is every window of a cheap option (price 0.05 x 10 contracts), so we only treat exact 0 as flat.
- ROC against a zero price: NaN (undefined), not 0.
"""

from __future__ import annotations

from itertools import repeat
from operator import sub

from market.data import Bar
from market.indicators._base import NAN, RangeWindow, Streaming, check_period
from market.indicators.moving import EMA, SMA

TINY = 1e-8  # TA-Lib's TA_IS_ZERO threshold


class RSI(Streaming):
    """Wilder's RSI: average gain and loss smoothed with alpha = 1/period."""

    __slots__ = ("_gain", "_loss", "_prev", "period")
    name = "rsi"

    def __init__(self, period: int = 14) -> None:
        super().__init__(check_period("period", period) + 1)
        self.period = period
        self._prev = NAN
        self._gain = 0.0
        self._loss = 0.0

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        n = self.n = self.n + 1
        if n == 1:
            self._prev = x
            return NAN
        d = x - self._prev
        self._prev = x
        p = self.period
        if n <= p:
            if d < 0:
                self._loss -= d
            else:
                self._gain += d
            return NAN
        if n == p + 1:
            if d < 0:
                self._loss -= d
            else:
                self._gain += d
            gain = self._gain = self._gain / p
            loss = self._loss = self._loss / p
        else:
            gain = self._gain * (p - 1)
            loss = self._loss * (p - 1)
            if d < 0:
                loss -= d
            else:
                gain += d
            gain = self._gain = gain / p
            loss = self._loss = loss / p
        total = gain + loss
        value = self.value = 100.0 * (gain / total) if total > TINY else 50.0
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.close)


class CutlerRSI(Streaming):
    """The simple-mean RSI variant (plain averages of the last ``period`` gains and losses).

    Named apart on purpose: it is not the standard RSI and differs from it by several points.
    """

    __slots__ = ("_gains", "_losses", "_prev", "period")
    name = "rsi_cutler"

    def __init__(self, period: int = 14) -> None:
        super().__init__(check_period("period", period) + 1)
        self.period = period
        self._prev = NAN
        self._gains = SMA(period)
        self._losses = SMA(period)

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        self.n += 1
        if self.n == 1:
            self._prev = x
            return NAN
        d = x - self._prev
        self._prev = x
        gain = self._gains.update(d if d > 0 else 0.0)
        loss = self._losses.update(-d if d < 0 else 0.0)
        if gain != gain:
            return NAN
        total = gain + loss
        value = self.value = 100.0 * (gain / total) if total > TINY else 50.0
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.close)


class MACD(Streaming):
    """MACD line (fast EMA - slow EMA), signal (EMA of the line) and histogram.

    TA-Lib seeds the fast EMA late, with the mean of the ``fast`` closes ending where the slow
    EMA starts; we do the same, so the numbers match from the first one on.
    """

    __slots__ = (
        "_closes",
        "_fast",
        "_signal",
        "_slow",
        "fast",
        "hist",
        "macd",
        "signal",
        "slow",
    )
    name = "macd"

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        check_period("fast", fast)
        check_period("signal", signal, 1)
        if check_period("slow", slow) <= fast:
            raise ValueError(f"slow ({slow}) must be longer than fast ({fast})")
        super().__init__(slow + signal - 1)
        self.fast, self.slow = fast, slow
        self._fast, self._slow, self._signal = EMA(fast), EMA(slow), EMA(signal)
        self._closes: list[float] = []  # only during warm-up
        self.macd = self.signal = self.hist = NAN

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        self.n += 1
        slow = self._slow.update(x)
        if slow != slow:
            self._closes.append(x)
            return NAN
        if self._closes:
            window = self._closes[len(self._closes) - self.fast + 1:]
            total = 0.0
            for c in window:
                total += c
            self._fast.seed((total + x) / self.fast, self.fast)
            self._closes = []
            fast = self._fast.value
        else:
            fast = self._fast.update(x)
        line = fast - slow
        sig = self._signal.update(line)
        if sig != sig:  # like TA-Lib, no line before the signal exists
            return NAN
        self.macd = line
        self.signal = sig
        self.hist = line - sig
        self.value = line
        return line

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.close)

    def snapshot(self) -> dict[str, float]:
        return {"macd": self.macd, "signal": self.signal, "hist": self.hist}


class Stochastic(Streaming):
    """Slow stochastic: %K = SMA(fast %K, slowk), %D = SMA(%K, slowd)."""

    __slots__ = ("_d", "_k", "_range", "d", "k")
    name = "stoch"

    def __init__(self, fastk: int = 14, slowk: int = 3, slowd: int = 3) -> None:
        check_period("fastk", fastk, 1)
        super().__init__(fastk + check_period("slowk", slowk, 1)
                         + check_period("slowd", slowd, 1) - 2)
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
        super().__init__(check_period("period", period) + check_period("fastk", fastk, 1)
                         + check_period("fastd", fastd, 1) - 1)
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

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.close)

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


class ROC(Streaming):
    """Rate of change in percent over ``period`` bars: (x / x[-period] - 1) x 100."""

    __slots__ = ("_buf", "_i", "period")
    name = "roc"

    def __init__(self, period: int = 10) -> None:
        super().__init__(check_period("period", period, 1) + 1)
        self.period = period
        self._buf = [0.0] * period
        self._i = 0

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        n = self.n = self.n + 1
        i = self._i
        old = self._buf[i]
        self._buf[i] = x
        self._i = i + 1 if i + 1 < self.period else 0
        if n <= self.period:
            return NAN
        value = self.value = (x / old - 1.0) * 100.0 if old != 0.0 else NAN
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.close)


class Momentum(Streaming):
    """Momentum: x - x[-period]."""

    __slots__ = ("_buf", "_i", "period")
    name = "mom"

    def __init__(self, period: int = 10) -> None:
        super().__init__(check_period("period", period, 1) + 1)
        self.period = period
        self._buf = [0.0] * period
        self._i = 0

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        n = self.n = self.n + 1
        i = self._i
        old = self._buf[i]
        self._buf[i] = x
        self._i = i + 1 if i + 1 < self.period else 0
        if n <= self.period:
            return NAN
        value = self.value = x - old
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.close)
