"""Momentum: RSI (Wilder), Cutler's RSI, MACD, ROC and momentum — streaming, in TA-Lib's
arithmetic. (The window oscillators live in ``oscillators.py``.)

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

from market.indicators._base import NAN, Streaming, check_period
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
            window = self._closes[len(self._closes) - self.fast + 1 :]
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

    def snapshot(self) -> dict[str, float]:
        return {"macd": self.macd, "signal": self.signal, "hist": self.hist}


class _Lagged(Streaming):
    """Base of the indicators that compare the input with the one ``period`` bars ago."""

    __slots__ = ("_buf", "_i", "period")

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
        value = self.value = self._compare(x, old)
        return value

    def _compare(self, x: float, old: float) -> float:
        raise NotImplementedError


class ROC(_Lagged):
    """Rate of change in percent over ``period`` bars: (x / x[-period] - 1) x 100."""

    __slots__ = ()
    name = "roc"

    def _compare(self, x: float, old: float) -> float:
        return (x / old - 1.0) * 100.0 if old != 0.0 else NAN


class Momentum(_Lagged):
    """Momentum: x - x[-period]."""

    __slots__ = ()
    name = "mom"

    def _compare(self, x: float, old: float) -> float:
        return x - old
