"""Trend: ADX/DMI, Parabolic SAR, Supertrend, Ichimoku — streaming, in TA-Lib's arithmetic."""

from __future__ import annotations

from market.data import Bar
from market.indicators._base import NAN, RangeWindow, Streaming, check_period
from market.indicators.bands import ATR, true_range

TINY = 1e-8  # TA-Lib's TA_IS_ZERO threshold


class ADX(Streaming):
    """Wilder's ADX with +DI / -DI (the DMI). ``value`` is the ADX; ``plus_di``/``minus_di``
    are ready ``period`` bars earlier than it.

    While the smoothed true range is 0 (a frozen market) the DIs and ADX keep their last
    values, as TA-Lib does.
    """

    __slots__ = ("_dm_minus", "_dm_plus", "_prev_close", "_prev_high", "_prev_low",
                 "_sum_dx", "_tr", "minus_di", "period", "plus_di")
    name = "adx"

    def __init__(self, period: int = 14) -> None:
        super().__init__(2 * check_period("period", period))
        self.period = period
        self._prev_high = self._prev_low = self._prev_close = NAN
        self._dm_plus = self._dm_minus = self._tr = self._sum_dx = 0.0
        self.plus_di = self.minus_di = NAN

    def update(self, high: float, low: float, close: float) -> float:
        if (high + low + close) - (high + low + close):
            return self._reject()
        n = self.n = self.n + 1
        if n == 1:
            self._prev_high, self._prev_low, self._prev_close = high, low, close
            return NAN
        p = self.period
        diff_p = high - self._prev_high
        diff_m = self._prev_low - low
        tr = true_range(high, low, self._prev_close)
        self._prev_high, self._prev_low, self._prev_close = high, low, close
        if n > p:
            self._dm_plus -= self._dm_plus / p
            self._dm_minus -= self._dm_minus / p
            self._tr = self._tr - self._tr / p + tr
        else:
            self._tr += tr
        if diff_m > 0 and diff_p < diff_m:
            self._dm_minus += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            self._dm_plus += diff_p
        if n <= p:
            return NAN
        dx = self._dx()
        if n < 2 * p:
            if dx == dx:
                self._sum_dx += dx
            return NAN
        if n == 2 * p:
            self._sum_dx += dx if dx == dx else 0.0
            self.value = self._sum_dx / p
        elif dx == dx:
            self.value = (self.value * (p - 1) + dx) / p
        return self.value

    def _dx(self) -> float:
        """Update the DIs and return this bar's DX (NaN while the true range is 0)."""
        if -TINY < self._tr < TINY:
            return NAN
        minus_di = self.minus_di = 100.0 * (self._dm_minus / self._tr)
        plus_di = self.plus_di = 100.0 * (self._dm_plus / self._tr)
        total = minus_di + plus_di
        return NAN if -TINY < total < TINY else 100.0 * (abs(minus_di - plus_di) / total)

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close)

    def snapshot(self) -> dict[str, float]:
        return {"adx": self.value, "plus_di": self.plus_di, "minus_di": self.minus_di}


class ParabolicSAR(Streaming):
    """Wilder's Parabolic SAR; the value on a bar is the stop that applied during it.

    The first direction comes from the first two bars (short if the low fell more than the
    high rose), exactly as TA-Lib decides it.
    """

    __slots__ = ("_af", "_ep", "_prev_high", "_prev_low", "_sar", "acceleration", "is_long",
                 "maximum")
    name = "sar"

    def __init__(self, acceleration: float = 0.02, maximum: float = 0.2) -> None:
        if not 0 < acceleration <= maximum:
            raise ValueError(f"need 0 < acceleration ({acceleration}) <= maximum ({maximum})")
        super().__init__(2)
        self.acceleration, self.maximum = acceleration, maximum
        self._af = acceleration
        self._ep = self._sar = self._prev_high = self._prev_low = NAN
        self.is_long = True

    def update(self, high: float, low: float) -> float:
        if (high + low) - (high + low):
            return self._reject()
        n = self.n = self.n + 1
        prev_high, prev_low = self._prev_high, self._prev_low
        self._prev_high, self._prev_low = high, low
        if n == 1:
            return NAN
        if n == 2:
            down = prev_low - low
            self.is_long = not (down > 0 and high - prev_high < down)
            self._ep, self._sar = (high, prev_low) if self.is_long else (low, prev_high)
            prev_high, prev_low = high, low  # TA-Lib compares the 2nd bar with itself
        return self._step(high, low, prev_high, prev_low)

    def _step(self, high: float, low: float, prev_high: float, prev_low: float) -> float:
        sar, ep, af = self._sar, self._ep, self._af
        if self.is_long:
            if low <= sar:
                self.is_long = False
                sar = max(ep, prev_high, high)
                out = sar
                af, ep = self.acceleration, low
                sar = max(sar + af * (ep - sar), prev_high, high)
            else:
                out = sar
                if high > ep:
                    ep = high
                    af = min(af + self.acceleration, self.maximum)
                sar = min(sar + af * (ep - sar), prev_low, low)
        elif high >= sar:
            self.is_long = True
            sar = min(ep, prev_low, low)
            out = sar
            af, ep = self.acceleration, high
            sar = min(sar + af * (ep - sar), prev_low, low)
        else:
            out = sar
            if low < ep:
                ep = low
                af = min(af + self.acceleration, self.maximum)
            sar = max(sar + af * (ep - sar), prev_high, high)
        self._sar, self._ep, self._af = sar, ep, af
        self.value = out
        return out

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low)


class Supertrend(Streaming):
    """Supertrend: ATR bands around the bar midpoint that only ratchet toward price.

    ``value`` is the active band (the trailing stop); ``direction`` is +1 (up) or -1 (down).
    The first ready bar starts in the up direction.
    """

    __slots__ = ("_atr", "_lower", "_prev_close", "_upper", "direction", "multiplier")
    name = "supertrend"

    def __init__(self, period: int = 10, multiplier: float = 3.0) -> None:
        super().__init__(check_period("period", period, 1) + 1)
        if not multiplier > 0:
            raise ValueError(f"multiplier must be > 0, got {multiplier}")
        self._atr = ATR(period)
        self.multiplier = multiplier
        self._upper = self._lower = self._prev_close = NAN
        self.direction = 0

    def update(self, high: float, low: float, close: float) -> float:
        if (high + low + close) - (high + low + close):
            return self._reject()
        self.n += 1
        atr = self._atr.update(high, low, close)
        prev_close, self._prev_close = self._prev_close, close
        if atr != atr:
            return NAN
        mid = (high + low) / 2.0
        upper, lower = mid + self.multiplier * atr, mid - self.multiplier * atr
        if self.direction == 0:
            self.direction = 1
        else:
            if not (upper < self._upper or prev_close > self._upper):
                upper = self._upper
            if not (lower > self._lower or prev_close < self._lower):
                lower = self._lower
            if self.direction > 0 and close < lower:
                self.direction = -1
            elif self.direction < 0 and close > upper:
                self.direction = 1
        self._upper, self._lower = upper, lower
        value = self.value = lower if self.direction > 0 else upper
        return value

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low, bar.close)

    def snapshot(self) -> dict[str, float]:
        return {"supertrend": self.value, "direction": float(self.direction)}


class Ichimoku(Streaming):
    """Ichimoku Kinko Hyo lines as known at this bar.

    ``tenkan``, ``kijun``, ``senkou_a`` and ``senkou_b`` are computed now (the two spans are
    drawn ``displacement`` bars ahead); ``cloud_a``/``cloud_b`` are the spans drawn AT this
    bar, i.e. computed ``displacement`` bars ago. The chikou span is just the close drawn
    backwards; reading it "at" a past bar would be look-ahead, so it is not offered.
    ``value`` is the kijun (the base line).
    """

    __slots__ = ("_a_hist", "_b_hist", "_hi", "_kijun", "_senkou", "_tenkan", "cloud_a",
                 "cloud_b", "displacement", "kijun", "senkou_a", "senkou_b", "tenkan")
    name = "ichimoku"

    def __init__(self, tenkan: int = 9, kijun: int = 26, senkou: int = 52,
                 displacement: int = 26) -> None:
        super().__init__(max(check_period("tenkan", tenkan, 1), check_period("kijun", kijun, 1)))
        self._tenkan, self._kijun = RangeWindow(tenkan), RangeWindow(kijun)
        self._senkou = RangeWindow(check_period("senkou", senkou, 1))
        self.displacement = check_period("displacement", displacement, 1)
        self._a_hist = [NAN] * self.displacement
        self._b_hist = [NAN] * self.displacement
        self._hi = 0
        self.tenkan = self.kijun = self.senkou_a = self.senkou_b = NAN
        self.cloud_a = self.cloud_b = NAN

    def update(self, high: float, low: float) -> float:
        if (high + low) - (high + low):
            return self._reject()
        self.n += 1
        w = self._tenkan
        t = self.tenkan = (w.highest + w.lowest) / 2.0 if w.push(high, low) else NAN
        w = self._kijun
        k = self.kijun = (w.highest + w.lowest) / 2.0 if w.push(high, low) else NAN
        self.senkou_a = (t + k) / 2.0
        w = self._senkou
        self.senkou_b = (w.highest + w.lowest) / 2.0 if w.push(high, low) else NAN
        i = self._hi
        self.cloud_a, self.cloud_b = self._a_hist[i], self._b_hist[i]
        self._a_hist[i], self._b_hist[i] = self.senkou_a, self.senkou_b
        self._hi = i + 1 if i + 1 < self.displacement else 0
        self.value = k
        return k

    def update_bar(self, bar: Bar) -> float:
        return self.update(bar.high, bar.low)

    def snapshot(self) -> dict[str, float]:
        return {"tenkan": self.tenkan, "kijun": self.kijun, "senkou_a": self.senkou_a,
                "senkou_b": self.senkou_b, "cloud_a": self.cloud_a, "cloud_b": self.cloud_b}
