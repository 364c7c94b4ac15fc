"""Vectorized streaming indicators: state as arrays of shape (n_series,), one bar per call.

Each class has two paths. While any series is warming up (or after a restart) the general
path handles per-series phases with ``np.where``. Once every series is warm it switches to a
fast path of a few in-place array operations, which is what a running chain pays per bar.
The numbers equal the scalar classes and TA-Lib per series (tests/market/test_indicators_chain).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from market.indicators._base import check_period

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
NAN = np.nan
TINY = 1e-8


def zeros(size: int) -> FloatArray:
    return np.zeros(size)


class Vec:
    """Base: per-series update counts, restart, the warm flag that selects the fast path."""

    warmup: int = 1

    def __init__(self, size: int) -> None:
        self.size = size
        self.n: IntArray = np.zeros(size, dtype=np.int64)
        self.warm = False  # every series is warm: the fast path applies

    def restart(self, cols: BoolArray) -> None:
        """Clear the state of the series in ``cols``; they warm up again."""
        self.warm = False
        self.n[cols] = 0
        for child in self.children():
            child.restart(cols)
        for name in self.state():
            arr = getattr(self, name)
            if arr.ndim == 2:
                arr[:, cols] = 0.0
            else:
                arr[cols] = 0.0

    def children(self) -> Iterable[Vec]:
        return ()

    def state(self) -> Iterable[str]:
        return ()

    def ready(self) -> BoolArray:
        return self.n >= self.warmup

    def _check_warm(self) -> None:
        self.warm = bool((self.n >= self.warmup).all())


class Ring:
    """The last ``period`` rows, one shared write position (all series advance together)."""

    def __init__(self, period: int, size: int) -> None:
        self.buf = np.zeros((period, size))
        self.i = 0
        self.period = period

    def push(self, x: FloatArray) -> FloatArray:
        """Store x; return the row it replaced (the value ``period`` updates ago)."""
        old = self.buf[self.i].copy()
        self.buf[self.i] = x
        self.i = (self.i + 1) % self.period
        return old


def feed(vec: Vec, live: BoolArray | None, *inputs: FloatArray) -> FloatArray:
    """Advance a cascaded indicator only in the series whose input exists yet (a cascade warms
    in stages); the others stay cleared until their input appears. ``live=None``: all live."""
    if live is None or live.all():
        return vec.update(*inputs)  # type: ignore[attr-defined,no-any-return]
    out = vec.update(*(np.where(live, x, 0.0) for x in inputs))  # type: ignore[attr-defined]
    vec.restart(~live)
    return np.where(live, out, NAN)


class VSMA(Vec):
    def __init__(self, size: int, period: int = 20) -> None:
        super().__init__(size)
        self.period = self.warmup = check_period("period", period)
        self.ring = Ring(period, size)
        self.buf = self.ring.buf
        self.sum = zeros(size)

    def state(self) -> Iterable[str]:
        return ("sum", "buf")

    def update(self, x: FloatArray) -> FloatArray:
        self.sum += x
        self.sum -= self.ring.push(x)
        if self.warm:
            return self.sum / self.period
        self.n += 1
        self._check_warm()
        return np.where(self.n >= self.period, self.sum / self.period, NAN)


class VEMA(Vec):
    def __init__(self, size: int, period: int = 20) -> None:
        super().__init__(size)
        self.period = self.warmup = check_period("period", period, 1)
        self.k = 2.0 / (period + 1)
        self.value = zeros(size)
        self.seed = zeros(size)

    def state(self) -> Iterable[str]:
        return ("value", "seed")

    def update(self, x: FloatArray) -> FloatArray:
        if self.warm:
            step = x - self.value
            step *= self.k
            self.value += step
            return self.value.copy()
        n = self.n = self.n + 1
        p = self.period
        self.seed += np.where(n <= p, x, 0.0)
        smoothed = (x - self.value) * self.k + self.value
        self.value = np.where(n > p, smoothed, np.where(n == p, self.seed / p, 0.0))
        self._check_warm()
        return np.where(n >= p, self.value, NAN)


class VWMA(Vec):
    """Weighted MA in O(1): the weighted sum drops the previous window's plain sum."""

    def __init__(self, size: int, period: int = 20) -> None:
        super().__init__(size)
        self.period = self.warmup = check_period("period", period)
        self.ring = Ring(period, size)
        self.buf = self.ring.buf
        self.sum = zeros(size)
        self.wsum = zeros(size)
        self.div = period * (period + 1) / 2.0

    def state(self) -> Iterable[str]:
        return ("buf", "sum", "wsum")

    def update(self, x: FloatArray) -> FloatArray:
        self.wsum -= self.sum
        self.wsum += self.period * x
        self.sum += x
        self.sum -= self.ring.push(x)
        if self.warm:
            return self.wsum / self.div
        self.n += 1
        self._check_warm()
        return np.where(self.n >= self.period, self.wsum / self.div, NAN)


class VDEMA(Vec):
    """DEMA, or TEMA with ``triple=True``."""

    def __init__(self, size: int, period: int = 20, triple: bool = False) -> None:
        super().__init__(size)
        self.triple = triple
        self.e = [VEMA(size, period) for _ in range(3 if triple else 2)]
        self.warmup = len(self.e) * (period - 1) + 1

    def children(self) -> Iterable[Vec]:
        return self.e

    def update(self, x: FloatArray) -> FloatArray:
        if not self.warm:
            self.n += 1
            self._check_warm()
        e1 = self.e[0].update(x)
        e2 = feed(self.e[1], None if self.e[0].warm else self.e[0].ready(), e1)
        if not self.triple:
            return 2.0 * e1 - e2
        e3 = feed(self.e[2], None if self.e[1].warm else self.e[1].ready(), e2)
        return 3.0 * e1 - 3.0 * e2 + e3


class VRSI(Vec):
    """Wilder's RSI (``cutler=True``: the simple-mean variant)."""

    def __init__(self, size: int, period: int = 14, cutler: bool = False) -> None:
        super().__init__(size)
        self.period = check_period("period", period)
        self.warmup = period + 1
        self.prev = zeros(size)
        self.gain = zeros(size)
        self.loss = zeros(size)
        self.g: VSMA | None = VSMA(size, period) if cutler else None
        self.l: VSMA | None = VSMA(size, period) if cutler else None

    def state(self) -> Iterable[str]:
        return ("prev", "gain", "loss")

    def children(self) -> Iterable[Vec]:
        return [c for c in (self.g, self.l) if c is not None]

    def update(self, x: FloatArray) -> FloatArray:
        d = x - self.prev
        self.prev = x.copy()
        p = self.period
        if not self.warm:
            self.n += 1
            d[self.n == 1] = 0.0
        up, down = np.maximum(d, 0.0), np.maximum(-d, 0.0)
        if self.g is not None and self.l is not None:
            live = None if self.warm else self.n > 1  # the first bar has no change
            gain, loss = feed(self.g, live, up), feed(self.l, live, down)
        elif self.warm:
            gain, loss = self.gain, self.loss
            gain *= p - 1
            gain += up
            gain /= p
            loss *= p - 1
            loss += down
            loss /= p
        else:
            n = self.n
            warming = n <= p + 1
            gain = np.where(warming, self.gain + up, (self.gain * (p - 1) + up) / p)
            loss = np.where(warming, self.loss + down, (self.loss * (p - 1) + down) / p)
            first = n == p + 1
            self.gain = gain = np.where(first, gain / p, gain)
            self.loss = loss = np.where(first, loss / p, loss)
        total = gain + loss
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(total > TINY, 100.0 * (gain / total), 50.0)
        if self.warm:
            return value
        self._check_warm()
        return np.where(self.n > p, value, NAN)


class VMACD(Vec):
    """MACD with TA-Lib's late-seeded fast EMA; returns (macd, signal, hist)."""

    def __init__(self, size: int, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        super().__init__(size)
        self.fast, self.slow = check_period("fast", fast), check_period("slow", slow)
        self.warmup = slow + signal - 1
        self.slow_ema = VEMA(size, slow)
        self.fast_sma = VSMA(size, fast)  # seeds the fast EMA; idle once all are warm
        self.fast_ema = VEMA(size, fast)
        self.signal = VEMA(size, signal)

    def children(self) -> Iterable[Vec]:
        return (self.slow_ema, self.fast_sma, self.fast_ema, self.signal)

    def update(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        if self.warm:
            line = self.fast_ema.update(x) - self.slow_ema.update(x)
            sig = self.signal.update(line)
            return line, sig, line - sig
        n = self.n = self.n + 1
        slow = self.slow_ema.update(x)
        seed = self.fast_sma.update(x)  # mean of the last `fast` closes
        fe = self.fast_ema
        fast = np.where(n == self.slow, seed, (x - fe.value) * fe.k + fe.value)
        fe.value = np.where(n >= self.slow, fast, 0.0)
        fe.n = np.maximum(fe.n, np.where(n >= self.slow, fe.period, 0))
        fe._check_warm()
        live = n >= self.slow
        line = np.where(live, fast - slow, NAN)
        sig = feed(self.signal, live, line)
        self._check_warm()
        ok = n >= self.warmup
        return np.where(ok, line, NAN), np.where(ok, sig, NAN), np.where(ok, line - sig, NAN)


class VBollinger(Vec):
    """Returns (upper, middle, lower)."""

    def __init__(self, size: int, period: int = 20, k: float = 2.0) -> None:
        super().__init__(size)
        self.period = self.warmup = check_period("period", period)
        self.k = k
        self.ring = Ring(period, size)
        self.buf = self.ring.buf
        self.sum = zeros(size)
        self.sq = zeros(size)

    def state(self) -> Iterable[str]:
        return ("buf", "sum", "sq")

    def update(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        old = self.ring.push(x)
        self.sum += x
        self.sum -= old
        self.sq += x * x
        self.sq -= old * old
        mid = self.sum / self.period
        var = self.sq / self.period - mid * mid
        var[var < TINY] = 0.0
        sd = np.sqrt(var)
        sd *= self.k
        if not self.warm:
            self.n += 1
            self._check_warm()
            mid[self.n < self.period] = NAN
        return mid + sd, mid, mid - sd


class VATR(Vec):
    def __init__(self, size: int, period: int = 14) -> None:
        super().__init__(size)
        self.period = check_period("period", period, 1)
        self.warmup = period + 1
        self.prev_close = zeros(size)
        self.value = zeros(size)

    def state(self) -> Iterable[str]:
        return ("prev_close", "value")

    def update(self, high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
        pc = self.prev_close
        tr = np.maximum(high - low, np.maximum(np.abs(pc - high), np.abs(pc - low)))
        self.prev_close = close.copy()
        p = self.period
        if self.warm:
            v = self.value
            v *= p - 1
            v += tr
            v /= p
            return v.copy()
        n = self.n = self.n + 1
        tr[n == 1] = 0.0
        self.value = np.where(n <= p + 1, self.value + tr, (self.value * (p - 1) + tr) / p)
        self.value = np.where(n == p + 1, self.value / p, self.value)
        self._check_warm()
        return np.where(n > p, self.value, NAN)


class VRange(Vec):
    """Highest high and lowest low of the last ``period`` bars."""

    def __init__(self, size: int, period: int) -> None:
        super().__init__(size)
        self.period = self.warmup = check_period("period", period, 1)
        self.hi, self.lo = Ring(period, size), Ring(period, size)
        self.hbuf, self.lbuf = self.hi.buf, self.lo.buf

    def state(self) -> Iterable[str]:
        return ("hbuf", "lbuf")

    def update(self, high: FloatArray, low: FloatArray) -> tuple[FloatArray, FloatArray]:
        self.hi.push(high)
        self.lo.push(low)
        hh, ll = self.hbuf.max(axis=0), self.lbuf.min(axis=0)
        if not self.warm:
            self.n += 1
            self._check_warm()
            cold = self.n < self.period  # cleared rows hold 0: only full windows are read
            hh[cold] = NAN
            ll[cold] = NAN
        return hh, ll


class VCCI(Vec):
    def __init__(self, size: int, period: int = 20) -> None:
        super().__init__(size)
        self.period = self.warmup = check_period("period", period)
        self.ring = Ring(period, size)
        self.buf = self.ring.buf
        self._dev = np.zeros((period, size))

    def state(self) -> Iterable[str]:
        return ("buf",)

    def update(self, high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
        tp = high + low
        tp += close
        tp /= 3.0
        self.ring.push(tp)
        mean = self.buf.mean(axis=0)  # afresh, as TA-Lib: a running sum's drift would be
        # amplified by the small (tp - mean) in the numerator
        dev = self._dev
        np.subtract(self.buf, mean, out=dev)
        np.abs(dev, out=dev)
        md = dev.sum(axis=0)
        md /= self.period
        diff = tp - mean
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where((diff != 0) & (md != 0), diff / (0.015 * md), 0.0)
        if self.warm:
            return value
        self.n += 1
        self._check_warm()
        return np.where(self.n >= self.period, value, NAN)
