"""Batch indicators over numpy arrays: TA-Lib where it has the indicator, numpy otherwise.

Every function returns arrays aligned with its inputs, NaN before the first value, and equals
the streaming class of the same name bar for bar (tested). Two rules keep them equal:
- A row with a non-finite input is skipped, as the streaming form rejects it: the indicator is
  computed on the finite rows and the skipped rows come back NaN (``_finite_rows``).
- The neutral values of degenerate windows (flat RSI, zero-range stochastic, no money flow)
  documented in ``momentum.py`` are applied here too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import numpy as np
import talib
from numpy.typing import NDArray

from market.indicators import levels as _levels

FloatArray = NDArray[np.float64]
F = TypeVar("F", bound=Callable[..., Any])
TINY = 1e-8


def _as_float(x: Any) -> FloatArray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _finite_rows(n_inputs: int) -> Callable[[F], F]:
    """Run ``fn`` on the rows where its first ``n_inputs`` arrays are all finite; the other
    arguments are parameters and pass through."""

    def wrap(fn: F) -> F:
        @wraps(fn)
        def run(*arrays: Any, **kwargs: Any) -> Any:
            data = [_as_float(a) for a in arrays[:n_inputs]]
            rest = arrays[n_inputs:]
            lengths = {len(a) for a in data}
            if len(lengths) != 1:
                raise ValueError(f"{fn.__name__}: input arrays differ in length: {lengths}")
            ok = np.ones(len(data[0]), dtype=bool)
            for a in data:
                ok &= np.isfinite(a)
            if ok.all():
                return fn(*data, *rest, **kwargs)
            result = fn(*(a[ok] for a in data), *rest, **kwargs)

            def scatter(part: FloatArray) -> FloatArray:
                full = np.full(len(ok), np.nan)
                full[ok] = part
                return full

            if isinstance(result, dict):
                return {key: scatter(r) for key, r in result.items()}
            if isinstance(result, tuple):
                return tuple(scatter(r) for r in result)
            return scatter(result)

        return run  # type: ignore[return-value]

    return wrap


def _flat(x: FloatArray, window: int) -> NDArray[np.bool_]:
    """True where the last ``window`` values are all equal."""
    return talib.MAX(x, window) == talib.MIN(x, window)


@_finite_rows(1)
def sma(close: FloatArray, period: int = 20) -> FloatArray:
    return talib.SMA(close, period)


@_finite_rows(1)
def ema(close: FloatArray, period: int = 20) -> FloatArray:
    return talib.EMA(close, period)


@_finite_rows(1)
def wma(close: FloatArray, period: int = 20) -> FloatArray:
    return talib.WMA(close, period)


@_finite_rows(1)
def dema(close: FloatArray, period: int = 20) -> FloatArray:
    return talib.DEMA(close, period)


@_finite_rows(1)
def tema(close: FloatArray, period: int = 20) -> FloatArray:
    return talib.TEMA(close, period)


@_finite_rows(1)
def rsi(close: FloatArray, period: int = 14) -> FloatArray:
    """Wilder's RSI; 50 over a window without any movement (TA-Lib prints 0)."""
    out = talib.RSI(close, period)
    return np.where((out == 0.0) & _flat(close, period + 1), 50.0, out)


@_finite_rows(1)
def rsi_cutler(close: FloatArray, period: int = 14) -> FloatArray:
    """The simple-mean RSI variant (not the standard one)."""
    d = np.diff(close, prepend=np.nan)
    gain, loss = talib.SMA(np.maximum(d, 0.0), period), talib.SMA(np.maximum(-d, 0.0), period)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > TINY, 100.0 * (gain / total), np.where(np.isnan(total), np.nan,
                                                                       50.0))


@_finite_rows(1)
def macd(close: FloatArray, fast: int = 12, slow: int = 26, signal: int = 9
         ) -> tuple[FloatArray, FloatArray, FloatArray]:
    line, sig, hist = talib.MACD(close, fast, slow, signal)
    return line, sig, hist


@_finite_rows(1)
def bollinger(close: FloatArray, period: int = 20, k_up: float = 2.0, k_dn: float = 2.0
              ) -> tuple[FloatArray, FloatArray, FloatArray]:
    upper, middle, lower = talib.BBANDS(close, period, k_up, k_dn, talib.MA_Type.SMA)
    return upper, middle, lower


@_finite_rows(3)
def atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14) -> FloatArray:
    return talib.ATR(high, low, close, period)


def _range_position(x: FloatArray, hh: FloatArray, ll: FloatArray, flat: float,
                    noise: float = 0.0) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        position = (x - ll) / ((hh - ll) / 100.0)
    return np.where(hh - ll > noise, position, np.where(np.isnan(hh), np.nan, flat))


@_finite_rows(3)
def stochastic(high: FloatArray, low: FloatArray, close: FloatArray, fastk: int = 14,
               slowk: int = 3, slowd: int = 3) -> tuple[FloatArray, FloatArray]:
    """Slow stochastic (%K, %D) with SMA smoothing; %K = 50 in a zero-range window."""
    fast = _range_position(close, talib.MAX(high, fastk), talib.MIN(low, fastk), 50.0)
    k = talib.SMA(fast, slowk) if slowk > 1 else fast
    d = talib.SMA(k, slowd) if slowd > 1 else k
    return np.where(np.isnan(d), np.nan, k), d


@_finite_rows(1)
def stochrsi(close: FloatArray, period: int = 14, fastk: int = 5, fastd: int = 3
             ) -> tuple[FloatArray, FloatArray]:
    r = rsi(close, period)
    k = _range_position(r, talib.MAX(r, fastk), talib.MIN(r, fastk), 50.0, TINY)
    d = talib.SMA(k, fastd) if fastd > 1 else k
    return np.where(np.isnan(d), np.nan, k), d


@_finite_rows(3)
def willr(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14) -> FloatArray:
    """Williams %R; -50 in a zero-range window (TA-Lib prints 0)."""
    hh, ll = talib.MAX(high, period), talib.MIN(low, period)
    out = talib.WILLR(high, low, close, period)
    return np.where(hh == ll, -50.0, out)


@_finite_rows(3)
def cci(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 20) -> FloatArray:
    return talib.CCI(high, low, close, period)


@_finite_rows(3)
def adx(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14
        ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(ADX, +DI, -DI)."""
    return (talib.ADX(high, low, close, period), talib.PLUS_DI(high, low, close, period),
            talib.MINUS_DI(high, low, close, period))


@_finite_rows(2)
def obv(close: FloatArray, volume: FloatArray) -> FloatArray:
    return talib.OBV(close, volume)


@_finite_rows(4)
def mfi(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray,
        period: int = 14) -> FloatArray:
    """Money Flow Index, window sums taken exactly (see ``momentum.MFI``); 50 with no flow."""
    tp = (high + low + close) / 3.0
    d = np.diff(tp, prepend=np.nan)
    flow = tp * volume
    pos = np.where(d > TINY, flow, 0.0)
    neg = np.where(d < -TINY, flow, 0.0)
    out = np.full(len(tp), np.nan)
    if len(tp) > period:
        win = np.lib.stride_tricks.sliding_window_view
        p = win(pos[1:], period).sum(axis=1)
        q = win(neg[1:], period).sum(axis=1)
        total = p + q
        with np.errstate(invalid="ignore", divide="ignore"):
            out[period:] = np.where(total > 0.0, 100.0 * (p / total), 50.0)
    return out


@_finite_rows(1)
def roc(close: FloatArray, period: int = 10) -> FloatArray:
    """Rate of change in percent; NaN against a zero price."""
    out = talib.ROC(close, period)
    prev = np.roll(close, period)
    return np.where(prev == 0.0, np.nan, out)


@_finite_rows(1)
def mom(close: FloatArray, period: int = 10) -> FloatArray:
    return talib.MOM(close, period)


@_finite_rows(3)
def keltner(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 20,
            atr_period: int = 10, multiplier: float = 2.0
            ) -> tuple[FloatArray, FloatArray, FloatArray]:
    mid = talib.EMA(close, period)
    band = talib.ATR(high, low, close, atr_period) * multiplier
    return mid + band, mid + 0.0 * band, mid - band


@_finite_rows(2)
def donchian(high: FloatArray, low: FloatArray, period: int = 20
             ) -> tuple[FloatArray, FloatArray, FloatArray]:
    upper, lower = talib.MAX(high, period), talib.MIN(low, period)
    return upper, (upper + lower) / 2.0, lower


@_finite_rows(2)
def sar(high: FloatArray, low: FloatArray, acceleration: float = 0.02,
        maximum: float = 0.2) -> FloatArray:
    return talib.SAR(high, low, acceleration, maximum)


@_finite_rows(3)
def supertrend(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 10,
               multiplier: float = 3.0) -> tuple[FloatArray, FloatArray]:
    """(supertrend line, direction +1/-1, 0 while warming up).

    The band ratchet is path-dependent: one pass in Python over lists (about 0.5 s per million
    bars); everything else is vectorized."""
    rng = talib.ATR(high, low, close, period) * multiplier
    mid = (high + low) / 2.0
    up_basic, lo_basic = (mid + rng).tolist(), (mid - rng).tolist()
    closes = close.tolist()
    n = len(closes)
    line, direction = [np.nan] * n, [0.0] * n  # direction 0: not known yet
    start = period if n > period else n
    trend = 1
    upper, lower = (up_basic[start], lo_basic[start]) if start < n else (np.nan, np.nan)
    for i in range(start, n):
        if i > start:
            u, lo, pc = up_basic[i], lo_basic[i], closes[i - 1]
            upper = u if (u < upper or pc > upper) else upper
            lower = lo if (lo > lower or pc < lower) else lower
            if trend > 0 and closes[i] < lower:
                trend = -1
            elif trend < 0 and closes[i] > upper:
                trend = 1
        line[i] = lower if trend > 0 else upper
        direction[i] = float(trend)
    return np.array(line), np.array(direction)


@_finite_rows(2)
def ichimoku(high: FloatArray, low: FloatArray, tenkan: int = 9, kijun: int = 26,
             senkou: int = 52, displacement: int = 26) -> dict[str, FloatArray]:
    """Tenkan, kijun, the spans computed now, and the cloud drawn at each bar."""
    t, k = talib.MIDPRICE(high, low, tenkan), talib.MIDPRICE(high, low, kijun)
    a, b = (t + k) / 2.0, talib.MIDPRICE(high, low, senkou)

    def shifted(x: FloatArray) -> FloatArray:
        out = np.full(len(x), np.nan)
        out[displacement:] = x[:-displacement] if displacement < len(x) else []
        return out

    return {"tenkan": t, "kijun": k, "senkou_a": a, "senkou_b": b, "cloud_a": shifted(a),
            "cloud_b": shifted(b)}


def vwap(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray,
         session: NDArray[Any]) -> FloatArray:
    """Session-anchored VWAP of the typical price; ``session`` labels each row's session
    (e.g. its New York date); cumulative sums restart where the label changes. NaN until the
    session has volume; bad rows (non-finite or negative volume) are skipped."""
    h, lo, c, v = (_as_float(a) for a in (high, low, close, volume))
    tp = (h + lo + c) / 3.0
    ok = np.isfinite(tp) & np.isfinite(v) & (v >= 0)
    pv = np.where(ok, tp * v, 0.0)
    vol = np.where(ok, v, 0.0)
    labels = np.asarray(session)
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    cum_pv, cum_v = np.cumsum(pv), np.cumsum(vol)
    seg = np.repeat(starts, np.diff(np.r_[starts, len(tp)]))
    base_pv = np.where(seg > 0, cum_pv[np.maximum(seg - 1, 0)], 0.0)
    base_v = np.where(seg > 0, cum_v[np.maximum(seg - 1, 0)], 0.0)
    sess_pv, sess_v = cum_pv - base_pv, cum_v - base_v
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(sess_v > 0, sess_pv / sess_v, np.nan)
    out[~ok] = np.nan
    return out


def relative_volume(volume: FloatArray, period: int = 20) -> FloatArray:
    """This bar's volume over the mean of the ``period`` bars before it; NaN if that is 0."""
    v = _as_float(volume)
    ok = np.isfinite(v) & (v >= 0)
    good = v[ok]
    mean = np.full(len(good), np.nan)
    if len(good) > period:
        mean[period:] = talib.SMA(good, period)[period - 1:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        part = np.where(mean > 0, good / mean, np.nan)
    out = np.full(len(v), np.nan)
    out[ok] = part
    return out


@_finite_rows(3)
def support_resistance(high: FloatArray, low: FloatArray, close: FloatArray, left: int = 5,
                       right: int = 5, tolerance: float = 0.002, max_levels: int = 12
                       ) -> tuple[FloatArray, FloatArray]:
    return _levels.support_resistance(high, low, close, left, right, tolerance, max_levels)
