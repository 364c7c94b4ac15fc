"""Volatility and channels: true range, ATR (Wilder), Bollinger, Keltner, Donchian — streaming."""

from __future__ import annotations

from market.data import Bar
from market.indicators._base import NAN, RangeWindow, Streaming, check_period
from market.indicators.moving import EMA

TINY = 1e-8  # TA-Lib treats a smaller variance as 0 (float noise of a flat window)


def true_range(high: float, low: float, prev_close: float) -> float:
    """The bar's range extended to the previous close (gaps count as range)."""
    tr = high - low
    up = abs(prev_close - high)
    if up > tr:
        tr = up
    down = abs(prev_close - low)
    return down if down > tr else tr


class ATR(Streaming):
    """Average True Range, Wilder's smoothing; the first value is the mean of ``period`` ranges.

    The first bar has no previous close, so it only seeds the close (as TA-Lib does).
    """

    __slots__ = ("_prev_close", "_sum", "period")
    name = "atr"

    def __init__(self, period: int = 14) -> None:
        super().__init__(check_period("period", period, 1) + 1)
        self.period = period
        self._prev_close = NAN
        self._sum = 0.0

    def update(self, high: float, low: float, close: float) -> float:
        if (high + low + close) - (high + low + close):
            return self._reject()
        n = self.n = self.n + 1
        prev, self._prev_close = self._prev_close, close
        if n == 1:
            return NAN
        tr = high - low  # true range, inlined: this is the hot path of ATR, Keltner, Supertrend
        if prev - high > tr or high - prev > tr:
            tr = abs(prev - high)
        if prev - low > tr or low - prev > tr:
            tr = abs(prev - low)
        p = self.period
        if n <= p:
            self._sum += tr
            return NAN
        if n == p + 1:
            value = self.value = (self._sum + tr) / p
            return value
        value = self.value = (self.value * (p - 1) + tr) / p
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close)


class Bollinger(Streaming):
    """Bollinger Bands: SMA ± k population standard deviations (TA-Lib's running sums)."""

    __slots__ = (
        "_buf",
        "_i",
        "_sq",
        "_sum",
        "k_dn",
        "k_up",
        "lower",
        "middle",
        "period",
        "stddev",
        "upper",
    )
    name = "bbands"

    def __init__(self, period: int = 20, k_up: float = 2.0, k_dn: float = 2.0) -> None:
        super().__init__(check_period("period", period))
        self.period, self.k_up, self.k_dn = period, k_up, k_dn
        self._buf = [0.0] * (period - 1)
        self._i = 0
        self._sum = self._sq = 0.0
        self.upper = self.middle = self.lower = self.stddev = NAN

    def update(self, x: float) -> float:
        if x - x:
            return self._reject()
        n = self.n = self.n + 1
        p = self.period
        buf, i = self._buf, self._i
        total = self._sum + x
        sq = self._sq + x * x
        if n >= p:
            old = buf[i]
            mid = total / p
            var = sq / p - mid * mid
            total -= old
            sq -= old * old
            sd = self.stddev = var**0.5 if var >= TINY else 0.0  # TA-Lib: below 1e-8 is noise
            self.middle = mid
            self.upper = mid + self.k_up * sd
            self.lower = mid - self.k_dn * sd
            self.value = mid
        self._sum, self._sq = total, sq
        buf[i] = x
        self._i = i + 1 if i + 2 < p else 0
        return self.value if n >= p else NAN

    @property
    def percent_b(self) -> float:
        """Where the last close sits between the bands (0 = lower, 1 = upper)."""
        width = self.upper - self.lower
        last = self._buf[self._i - 1]
        return (last - self.lower) / width if width > 0 else NAN

    def snapshot(self) -> dict[str, float]:
        return {"upper": self.upper, "middle": self.middle, "lower": self.lower}


class Keltner(Streaming):
    """Keltner Channels: EMA(close) ± multiplier x ATR (Raschke's modern form)."""

    __slots__ = ("_atr", "_ema", "lower", "middle", "multiplier", "upper")
    name = "keltner"

    def __init__(self, period: int = 20, atr_period: int = 10, multiplier: float = 2.0) -> None:
        super().__init__(
            max(check_period("period", period, 1), check_period("atr_period", atr_period, 1) + 1)
        )
        self._ema, self._atr = EMA(period), ATR(atr_period)
        self.multiplier = multiplier
        self.upper = self.middle = self.lower = NAN

    def update(self, high: float, low: float, close: float) -> float:
        if (high + low + close) - (high + low + close):
            return self._reject()
        self.n += 1
        mid = self._ema.update(close)
        band = self._atr.update(high, low, close) * self.multiplier
        if mid != mid or band != band:
            return NAN
        self.middle, self.upper, self.lower = mid, mid + band, mid - band
        self.value = mid
        return mid

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close)

    def snapshot(self) -> dict[str, float]:
        return {"upper": self.upper, "middle": self.middle, "lower": self.lower}


class Donchian(Streaming):
    """Donchian Channels: highest high and lowest low of the last ``period`` bars (this one too)."""

    __slots__ = ("_range", "lower", "middle", "period", "upper")
    name = "donchian"

    def __init__(self, period: int = 20) -> None:
        super().__init__(check_period("period", period, 1))
        self.period = period
        self._range = RangeWindow(period)
        self.upper = self.middle = self.lower = NAN

    def update(self, high: float, low: float) -> float:
        if (high + low) - (high + low):
            return self._reject()
        self.n += 1
        rng = self._range
        if not rng.push(high, low):
            return NAN
        up, lo = self.upper, self.lower = rng.highest, rng.lowest
        mid = self.middle = self.value = (up + lo) / 2.0
        return mid

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low)

    def snapshot(self) -> dict[str, float]:
        return {"upper": self.upper, "middle": self.middle, "lower": self.lower}
