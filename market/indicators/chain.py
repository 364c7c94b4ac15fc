"""Chain-wide streaming: the same indicators for thousands of series at once, numpy across them.

An option chain is thousands of contracts, each with its own indicators; looping over scalar
objects would cost milliseconds per bar. ``ChainIndicators`` keeps about twenty indicators
(``market.indicators.vector``) for ``size`` series and advances all of them by one bar per
``update``, giving the same numbers as the scalar classes (and TA-Lib) per series.

Semantics (decision record 0143):
- Every series advances on every call: pass a bar for each contract each minute. A contract
  that did not trade gets a flat bar at its last price (or quote mid) and volume 0.
- A series whose bar is not finite is *restarted*: its state is cleared and it warms up again
  from its next finite bar, as TA-Lib treats leading NaN. Its values are NaN until warm.
- Neutral values on degenerate windows (flat stochastic / %R, no money flow) as ``momentum.py``.
- ``new_session()`` at each open resets the session VWAP of every series.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from market.indicators._base import check_period
from market.indicators.vector import (
    NAN,
    TINY,
    VATR,
    VCCI,
    VDEMA,
    VEMA,
    VMACD,
    VRSI,
    VSMA,
    VWMA,
    BoolArray,
    FloatArray,
    Ring,
    VBollinger,
    Vec,
    VRange,
    feed,
    zeros,
)


class VVolume(Vec):
    """OBV, MFI, relative volume and session VWAP (they share the typical price)."""

    def __init__(self, size: int, mfi_period: int = 14, relvol_period: int = 20) -> None:
        super().__init__(size)
        self.mfi_period = check_period("mfi_period", mfi_period)
        self.relvol_period = check_period("relvol_period", relvol_period, 1)
        self.warmup = max(mfi_period, relvol_period) + 1
        self.obv = zeros(size)
        self.prev_close = zeros(size)
        self.prev_tp = zeros(size)
        self.pos, self.neg = Ring(mfi_period, size), Ring(mfi_period, size)
        self.pbuf, self.nbuf = self.pos.buf, self.neg.buf
        self.psum, self.nsum = zeros(size), zeros(size)
        self.pflag, self.nflag = Ring(mfi_period, size), Ring(mfi_period, size)
        self.pfbuf, self.nfbuf = self.pflag.buf, self.nflag.buf
        self.pcount, self.ncount = zeros(size), zeros(size)
        self.vol = Ring(relvol_period, size)
        self.vbuf = self.vol.buf
        self.vsum = zeros(size)
        self.pv = zeros(size)
        self.cum_v = zeros(size)

    def state(self) -> Iterable[str]:
        return ("obv", "prev_close", "prev_tp", "pbuf", "nbuf", "vbuf", "vsum", "pv", "cum_v",
                "psum", "nsum", "pfbuf", "nfbuf", "pcount", "ncount")

    def new_session(self) -> None:
        self.pv[:] = 0.0
        self.cum_v[:] = 0.0

    def update(self, high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray
               ) -> dict[str, FloatArray]:
        tp = high + low
        tp += close
        tp /= 3.0
        d = tp - self.prev_tp
        step = np.sign(close - self.prev_close)
        step *= volume
        self.obv += step
        if not self.warm:
            self.n += 1
            first = self.n == 1
            self.obv[first] = volume[first]
            d[first] = 0.0
        self.prev_close, self.prev_tp = close.copy(), tp
        flow = tp * volume
        up, down = (d > TINY).astype(np.float64), (d < -TINY).astype(np.float64)
        # Running window sums, with a count of the non-zero flows in each: when it reaches 0
        # the sum is set to exactly 0, so float drift never fakes flow in a flat window.
        p, q = self.psum, self.nsum
        p += up * flow
        p -= self.pos.push(up * flow)
        q += down * flow
        q -= self.neg.push(down * flow)
        self.pcount += up
        self.pcount -= self.pflag.push(up)
        self.ncount += down
        self.ncount -= self.nflag.push(down)
        p[self.pcount == 0] = 0.0
        q[self.ncount == 0] = 0.0
        total = p + q
        mean = self.vsum / self.relvol_period
        self.vsum += volume
        self.vsum -= self.vol.push(volume)
        self.pv += flow
        self.cum_v += volume
        with np.errstate(invalid="ignore", divide="ignore"):
            out = {"obv": self.obv.copy(),
                   "mfi": np.where(total > 0, 100.0 * (p / total), 50.0),
                   "relvol": np.where(mean > 0, volume / mean, NAN),
                   "vwap": np.where(self.cum_v > 0, self.pv / self.cum_v, NAN)}
        if not self.warm:
            out["mfi"][self.n <= self.mfi_period] = NAN
            out["relvol"][self.n <= self.relvol_period] = NAN
            self._check_warm()
        return out


class VOscillators(Vec):
    """Slow stochastic and Williams %R over one shared 14-bar range."""

    def __init__(self, size: int, fastk: int = 14, slowk: int = 3, slowd: int = 3) -> None:
        super().__init__(size)
        self.range = VRange(size, fastk)
        self.k_sma, self.d_sma = VSMA(size, slowk), VSMA(size, slowd)
        self.warmup = fastk + slowk + slowd - 2

    def children(self) -> Iterable[Vec]:
        return (self.range, self.k_sma, self.d_sma)

    def update(self, high: FloatArray, low: FloatArray, close: FloatArray
               ) -> dict[str, FloatArray]:
        hh, ll = self.range.update(high, low)
        span = hh - ll
        flat = span == 0
        span[flat] = 1.0
        span /= 100.0
        fast = (close - ll) / span
        fast[flat] = 50.0
        willr = (hh - close) / -span
        willr[flat] = -50.0
        if self.warm:
            k = self.k_sma.update(fast)
            return {"stoch_k": k, "stoch_d": self.d_sma.update(k), "willr": willr}
        self.n += 1
        k = feed(self.k_sma, self.range.ready(), fast)
        d = feed(self.d_sma, self.k_sma.ready(), k)
        self._check_warm()
        ok = self.n >= self.warmup
        return {"stoch_k": np.where(ok, k, NAN), "stoch_d": np.where(ok, d, NAN),
                "willr": willr}


class ChainIndicators:
    """Twenty-one indicators (28 output lines) for ``size`` series, advanced together."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sma, self.ema, self.wma = VSMA(size, 20), VEMA(size, 20), VWMA(size, 20)
        self.dema, self.tema = VDEMA(size, 20), VDEMA(size, 10, triple=True)
        self.rsi, self.rsi_cutler = VRSI(size, 14), VRSI(size, 14, cutler=True)
        self.macd, self.bbands = VMACD(size), VBollinger(size)
        self.atr, self.cci = VATR(size, 14), VCCI(size)
        self.oscillators = VOscillators(size)
        self.donchian = VRange(size, 20)
        self.keltner_ema, self.keltner_atr = VEMA(size, 20), VATR(size, 10)
        self.roc_ring = Ring(10, size)
        self.volume = VVolume(size)
        self.parts: list[Vec] = [
            self.sma, self.ema, self.wma, self.dema, self.tema, self.rsi, self.rsi_cutler,
            self.macd, self.bbands, self.atr, self.cci, self.oscillators, self.donchian,
            self.keltner_ema, self.keltner_atr, self.volume]
        self.n = np.zeros(size, dtype=np.int64)
        self.restarts = 0  # series restarted by a bad bar, in total

    def new_session(self) -> None:
        """Reset every series' session VWAP (call at the session open)."""
        self.volume.new_session()

    def update(self, open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
               volume: FloatArray) -> dict[str, FloatArray]:
        """Advance every series by one bar; returns each output line as an array."""
        bad = ~np.isfinite(high + low + close + volume)
        any_bad = bool(bad.any())
        if any_bad:
            high, low, close, volume = (np.where(bad, 0.0, a) for a in (high, low, close, volume))
            self._restart(bad)
        out: dict[str, FloatArray] = {
            "sma": self.sma.update(close), "ema": self.ema.update(close),
            "wma": self.wma.update(close), "dema": self.dema.update(close),
            "tema": self.tema.update(close), "rsi": self.rsi.update(close),
            "rsi_cutler": self.rsi_cutler.update(close), "atr": self.atr.update(high, low, close),
            "cci": self.cci.update(high, low, close),
        }
        out["macd"], out["macd_signal"], out["macd_hist"] = self.macd.update(close)
        out["bb_upper"], out["bb_middle"], out["bb_lower"] = self.bbands.update(close)
        out.update(self.oscillators.update(high, low, close))
        out["donchian_upper"], out["donchian_lower"] = self.donchian.update(high, low)
        mid = self.keltner_ema.update(close)
        band = self.keltner_atr.update(high, low, close)
        band *= 2.0
        out["keltner_upper"], out["keltner_lower"] = mid + band, mid - band
        out.update(self._momentum(close))
        out.update(self.volume.update(high, low, close, volume))
        if any_bad:
            self._restart(bad)  # the bad bar itself leaves nothing behind
            for line in out.values():
                line[bad] = NAN
        return out

    def _momentum(self, close: FloatArray) -> dict[str, FloatArray]:
        old = self.roc_ring.push(close)
        self.n += 1
        mom = close - old
        with np.errstate(invalid="ignore", divide="ignore"):
            roc = (close / old - 1.0) * 100.0
        roc[old == 0] = NAN
        cold = self.n <= self.roc_ring.period
        mom[cold] = NAN
        roc[cold] = NAN
        return {"mom": mom, "roc": roc}

    def _restart(self, cols: BoolArray) -> None:
        self.restarts += int(cols.sum())
        self.n[cols] = 0
        self.roc_ring.buf[:, cols] = 0.0
        for part in self.parts:
            part.restart(cols)
