"""Moving averages: SMA, EMA, WMA, DEMA, TEMA, streaming, with TA-Lib's seeding and arithmetic.

Each one repeats TA-Lib's operations in the same order (running sums added before dividing,
the EMA seeded with the simple mean of its first ``period`` inputs), so the streaming value
equals ``talib.<NAME>`` to rounding, not just approximately.
"""

from __future__ import annotations

from market.indicators._base import NAN, Streaming, check_period


class SMA(Streaming):
    """Simple moving average of the last ``period`` inputs."""

    __slots__ = ("_buf", "_i", "_sum", "period")
    name = "sma"

    def __init__(self, period: int = 20) -> None:
        super().__init__(check_period("period", period))
        self.period = period
        self._buf = [0.0] * (period - 1)  # the last period-1 inputs: the next one to drop first
        self._i = 0
        self._sum = 0.0

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        n = self.n = self.n + 1
        buf, i = self._buf, self._i
        total = self._sum + x
        if n >= self.period:
            value = self.value = total / self.period
            total -= buf[i]
        else:
            value = NAN
        self._sum = total
        buf[i] = x
        self._i = i + 1 if i + 2 < self.period else 0
        return value


class EMA(Streaming):
    """Exponential moving average, k = 2/(period+1), seeded with the SMA of the first inputs."""

    __slots__ = ("_k", "_seed", "period")
    name = "ema"

    def __init__(self, period: int = 20) -> None:
        super().__init__(check_period("period", period, 1))
        self.period = period
        self._k = 2.0 / (period + 1)
        self._seed = 0.0

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        n = self.n = self.n + 1
        if n > self.period:
            value = self.value = (x - self.value) * self._k + self.value
            return value
        self._seed += x
        if n == self.period:
            self.value = self._seed / self.period
            return self.value
        return NAN

    def seed(self, value: float, count: int) -> None:
        """Start from a known average (used by MACD, whose fast EMA TA-Lib seeds late)."""
        self.value = value
        self.n = max(count, self.period)


class WMA(Streaming):
    """Linearly weighted moving average (weights 1..period, newest heaviest)."""

    __slots__ = ("_buf", "_div", "_i", "_sub", "_trail", "_wsum", "period")
    name = "wma"

    def __init__(self, period: int = 20) -> None:
        super().__init__(check_period("period", period))
        self.period = period
        self._div = float(period * (period + 1) // 2)
        self._buf = [0.0] * (period - 1)
        self._i = 0
        self._sub = 0.0  # plain sum of the window
        self._wsum = 0.0  # weighted sum of the window
        self._trail = 0.0  # the value leaving the window at the next update

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        n = self.n = self.n + 1
        p = self.period
        buf, i = self._buf, self._i
        if n < p:
            self._sub += x
            self._wsum += x * n
            buf[i] = x
            self._i = i + 1 if i + 2 < p else 0
            return NAN
        self._sub += x
        self._sub -= self._trail
        self._wsum += x * p
        self._trail = buf[i]
        buf[i] = x
        self._i = i + 1 if i + 2 < p else 0
        value = self.value = self._wsum / self._div
        self._wsum -= self._sub
        return value


class DEMA(Streaming):
    """Double EMA: 2*EMA - EMA(EMA); lag-reduced."""

    __slots__ = ("_e1", "_e2", "period")
    name = "dema"

    def __init__(self, period: int = 20) -> None:
        super().__init__(2 * check_period("period", period) - 1)
        self.period = period
        self._e1 = EMA(period)
        self._e2 = EMA(period)

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        self.n += 1
        e1 = self._e1.update(x)
        if e1 != e1:
            return NAN
        e2 = self._e2.update(e1)
        if e2 != e2:
            return NAN
        value = self.value = 2.0 * e1 - e2
        return value


class TEMA(Streaming):
    """Triple EMA: 3*EMA - 3*EMA(EMA) + EMA(EMA(EMA))."""

    __slots__ = ("_e1", "_e2", "_e3", "period")
    name = "tema"

    def __init__(self, period: int = 20) -> None:
        super().__init__(3 * check_period("period", period) - 2)
        self.period = period
        self._e1, self._e2, self._e3 = EMA(period), EMA(period), EMA(period)

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        self.n += 1
        e1 = self._e1.update(x)
        if e1 != e1:
            return NAN
        e2 = self._e2.update(e1)
        if e2 != e2:
            return NAN
        e3 = self._e3.update(e2)
        if e3 != e3:
            return NAN
        value = self.value = 3.0 * e1 - 3.0 * e2 + e3
        return value
