"""Streaming indicators against TA-Lib batch on real data, for every indicator.

TA-Lib is the independent implementation; where it has no function (Keltner, Donchian,
Ichimoku, relative volume, Supertrend, VWAP) the reference is composed from TA-Lib pieces or
written out from the published definition here. Documented deviations (neutral values on
degenerate windows, see market/indicators/momentum.py) are excluded from the equality check
and asserted separately.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import talib

from market import indicators as ind
from tests.market import ta_data
from tests.market.ta_data import Series

RTOL = ATOL = 1e-9
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered")


def run(indicator: ind.Streaming, series: Series, feed: Callable[..., object],
        attrs: tuple[str, ...]) -> np.ndarray:
    """Feed every bar; read each attribute after each update (NaN while not ready)."""
    out = np.full((len(attrs), len(series)), np.nan)
    rows = zip(series.high.tolist(), series.low.tolist(), series.close.tolist(),
               series.volume.tolist(), strict=True)
    for i, (h, lo, c, v) in enumerate(rows):
        returned = feed(indicator, h, lo, c, v)
        # `ready` is exactly "the primary value exists", and update() returns that value.
        assert indicator.ready == (indicator.value == indicator.value)
        assert returned == indicator.value or not indicator.ready
        for j, attr in enumerate(attrs):
            out[j, i] = getattr(indicator, attr)
    return out


def close_only(i, h, lo, c, v):
    return i.update(c)


def hlc(i, h, lo, c, v):
    return i.update(h, lo, c)


def hl(i, h, lo, c, v):
    return i.update(h, lo)


def hlcv(i, h, lo, c, v):
    return i.update(h, lo, c, v)


def flat(x: np.ndarray, window: int) -> np.ndarray:
    return talib.MAX(x, window) == talib.MIN(x, window)


def widen(mask: np.ndarray, bars: int) -> np.ndarray:
    """True where any of the last ``bars`` rows was True (effects that smooth forward)."""
    return pd.Series(mask.astype(float)).rolling(bars, min_periods=1).max().to_numpy() > 0


def supertrend_reference(s: Series, period: int = 10, mult: float = 3.0) -> list[np.ndarray]:
    """Supertrend as published (Olivier Seban): final bands ratchet; trend flips on a close
    through the opposite band. ATR from TA-Lib; first value in the up trend."""
    atr = talib.ATR(s.high, s.low, s.close, period)
    hl2 = (s.high + s.low) / 2
    out = np.full(len(s), np.nan)
    fub = flb = np.nan
    up = True
    for t in range(len(s)):
        if np.isnan(atr[t]):
            continue
        bub, blb = hl2[t] + mult * atr[t], hl2[t] - mult * atr[t]
        if np.isnan(fub):
            fub, flb = bub, blb
        else:
            fub = bub if (bub < fub or s.close[t - 1] > fub) else fub
            flb = blb if (blb > flb or s.close[t - 1] < flb) else flb
            if up and s.close[t] < flb:
                up = False
            elif not up and s.close[t] > fub:
                up = True
        out[t] = flb if up else fub
    return [out]


def vwap_reference(s: Series) -> list[np.ndarray]:
    tp = (s.high + s.low + s.close) / 3
    df = pd.DataFrame({"pv": tp * s.volume, "v": s.volume, "day": s.session})
    g = df.groupby("day", sort=False)
    cum_v = g.v.cumsum()
    return [np.where(cum_v > 0, g.pv.cumsum() / cum_v, np.nan)]


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], ind.Streaming]
    feed: Callable[..., object]
    attrs: tuple[str, ...]
    reference: Callable[[Series], list[np.ndarray]]
    # rows where our documented neutral value replaces TA-Lib's, with that value (or None)
    degenerate: Callable[[Series], np.ndarray] | None = None
    neutral: float | None = None
    datasets: tuple[Callable[[], Series], ...] = field(default=ta_data.ALL)


def _stoch_flat(s: Series) -> np.ndarray:
    return widen(talib.MAX(s.high, 14) == talib.MIN(s.low, 14), 5)


def _stochrsi_flat(s: Series) -> np.ndarray:
    r = talib.RSI(s.close, 14)
    return widen((talib.MAX(r, 5) - talib.MIN(r, 5) <= 1e-8) | (r == 0.0), 7)


def _mfi_flat(s: Series) -> np.ndarray:
    tp = (s.high + s.low + s.close) / 3
    moved = np.abs(np.diff(tp, prepend=np.nan)) > 1e-8
    return talib.SUM(moved.astype(float), 14) == 0


CASES = [
    Case("sma", lambda: ind.SMA(20), close_only, ("value",), lambda s: [talib.SMA(s.close, 20)]),
    Case("ema", lambda: ind.EMA(20), close_only, ("value",), lambda s: [talib.EMA(s.close, 20)]),
    Case("wma", lambda: ind.WMA(20), close_only, ("value",), lambda s: [talib.WMA(s.close, 20)]),
    Case("dema", lambda: ind.DEMA(20), close_only, ("value",),
         lambda s: [talib.DEMA(s.close, 20)]),
    Case("tema", lambda: ind.TEMA(10), close_only, ("value",),
         lambda s: [talib.TEMA(s.close, 10)]),
    Case("rsi", lambda: ind.RSI(14), close_only, ("value",), lambda s: [talib.RSI(s.close, 14)],
         degenerate=lambda s: (talib.RSI(s.close, 14) == 0) & flat(s.close, 15), neutral=50.0),
    Case("rsi_cutler", lambda: ind.CutlerRSI(14), close_only, ("value",),
         lambda s: [100 * (g := talib.SMA(np.maximum(np.diff(s.close, prepend=np.nan), 0), 14))
                    / (g + talib.SMA(np.maximum(-np.diff(s.close, prepend=np.nan), 0), 14))],
         degenerate=lambda s: flat(s.close, 15), neutral=50.0),
    Case("macd", lambda: ind.MACD(12, 26, 9), close_only, ("macd", "signal", "hist"),
         lambda s: list(talib.MACD(s.close, 12, 26, 9))),
    Case("bbands", lambda: ind.Bollinger(20, 2.0, 2.0), close_only, ("upper", "middle", "lower"),
         lambda s: list(talib.BBANDS(s.close, 20, 2.0, 2.0, talib.MA_Type.SMA))),
    Case("atr", lambda: ind.ATR(14), hlc, ("value",),
         lambda s: [talib.ATR(s.high, s.low, s.close, 14)]),
    Case("stoch", lambda: ind.Stochastic(14, 3, 3), hlc, ("k", "d"),
         lambda s: list(talib.STOCH(s.high, s.low, s.close, 14, 3, talib.MA_Type.SMA, 3,
                                    talib.MA_Type.SMA)), degenerate=_stoch_flat),
    Case("stochrsi", lambda: ind.StochRSI(14, 5, 3), close_only, ("k", "d"),
         lambda s: list(talib.STOCHRSI(s.close, 14, 5, 3, talib.MA_Type.SMA)),
         degenerate=_stochrsi_flat),
    Case("willr", lambda: ind.WilliamsR(14), hlc, ("value",),
         lambda s: [talib.WILLR(s.high, s.low, s.close, 14)],
         degenerate=lambda s: talib.MAX(s.high, 14) == talib.MIN(s.low, 14), neutral=-50.0),
    Case("cci", lambda: ind.CCI(20), hlc, ("value",),
         lambda s: [talib.CCI(s.high, s.low, s.close, 20)]),
    Case("adx", lambda: ind.ADX(14), hlc, ("value", "plus_di", "minus_di"),
         lambda s: [talib.ADX(s.high, s.low, s.close, 14),
                    talib.PLUS_DI(s.high, s.low, s.close, 14),
                    talib.MINUS_DI(s.high, s.low, s.close, 14)]),
    Case("obv", ind.OBV, lambda i, h, lo, c, v: i.update(c, v), ("value",),
         lambda s: [talib.OBV(s.close, s.volume)]),
    Case("mfi", lambda: ind.MFI(14), hlcv, ("value",),
         lambda s: [talib.MFI(s.high, s.low, s.close, s.volume, 14)], degenerate=_mfi_flat,
         neutral=50.0),
    Case("roc", lambda: ind.ROC(10), close_only, ("value",), lambda s: [talib.ROC(s.close, 10)]),
    Case("mom", lambda: ind.Momentum(10), close_only, ("value",),
         lambda s: [talib.MOM(s.close, 10)]),
    Case("keltner", lambda: ind.Keltner(20, 10, 2.0), hlc, ("upper", "middle", "lower"),
         lambda s: [talib.EMA(s.close, 20) + 2 * talib.ATR(s.high, s.low, s.close, 10),
                    talib.EMA(s.close, 20) + 0 * talib.ATR(s.high, s.low, s.close, 10),
                    talib.EMA(s.close, 20) - 2 * talib.ATR(s.high, s.low, s.close, 10)]),
    Case("donchian", lambda: ind.Donchian(20), hl, ("upper", "middle", "lower"),
         lambda s: [talib.MAX(s.high, 20), talib.MIDPRICE(s.high, s.low, 20),
                    talib.MIN(s.low, 20)]),
    Case("sar", ind.ParabolicSAR, hl, ("value",), lambda s: [talib.SAR(s.high, s.low, 0.02, 0.2)]),
    Case("supertrend", lambda: ind.Supertrend(10, 3.0), hlc, ("value",), supertrend_reference),
    Case("ichimoku", ind.Ichimoku, hl, ("tenkan", "kijun", "senkou_a", "senkou_b", "cloud_a"),
         lambda s: [talib.MIDPRICE(s.high, s.low, 9), talib.MIDPRICE(s.high, s.low, 26),
                    (talib.MIDPRICE(s.high, s.low, 9) + talib.MIDPRICE(s.high, s.low, 26)) / 2,
                    talib.MIDPRICE(s.high, s.low, 52),
                    np.r_[np.full(26, np.nan), ((talib.MIDPRICE(s.high, s.low, 9)
                          + talib.MIDPRICE(s.high, s.low, 26)) / 2)[:-26]]]),
    Case("relvol", lambda: ind.RelativeVolume(20), lambda i, h, lo, c, v: i.update(v), ("value",),
         lambda s: [s.volume / np.r_[np.nan, talib.SMA(s.volume, 20)[:-1]]]),
]


@pytest.mark.parametrize("dataset", ta_data.ALL, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_streaming_equals_talib(case: Case, dataset: Callable[[], Series]) -> None:
    s = dataset()
    got = run(case.make(), s, case.feed, case.attrs)
    skip = case.degenerate(s) if case.degenerate else np.zeros(len(s), dtype=bool)
    for j, ref in enumerate(case.reference(s)):
        line = f"{case.id}.{case.attrs[j]} on {s.name}"
        warm = np.isnan(got[j]) & ~skip, np.isnan(ref) & ~skip
        assert np.array_equal(*warm), f"{line}: warm-up differs"
        check = ~np.isnan(ref) & ~skip
        assert check.sum() > 0.5 * len(s) or case.id == "sar" or len(s) < 300, line
        np.testing.assert_allclose(got[j][check], ref[check], rtol=RTOL, atol=ATOL, err_msg=line)
        degenerate = skip & ~np.isnan(got[j])
        if case.neutral is not None and degenerate.any():
            assert np.all(got[j][degenerate] == case.neutral), line


def test_session_vwap_equals_reference_and_resets_each_session() -> None:
    s = ta_data.ibm_week()
    vwap = ind.VWAP()
    got = []
    prev = None
    for h, lo, c, v, day in zip(s.high, s.low, s.close, s.volume, s.session, strict=True):
        got.append(vwap.update(h, lo, c, v, new_session=day != prev))
        prev = day
    (ref,) = vwap_reference(s)
    np.testing.assert_allclose(got, ref, rtol=RTOL)
    first_rows = np.flatnonzero(np.r_[True, s.session[1:] != s.session[:-1]])
    assert len(first_rows) == 6
    tp = (s.high + s.low + s.close) / 3
    # At each open the VWAP is that bar's own typical price: nothing of yesterday leaks in.
    np.testing.assert_allclose(np.asarray(got)[first_rows], tp[first_rows], rtol=RTOL)


def test_wilder_rsi_is_not_the_simple_mean_variant() -> None:
    s = ta_data.spy_daily()
    wilder = run(ind.RSI(14), s, close_only, ("value",))[0]
    cutler = run(ind.CutlerRSI(14), s, close_only, ("value",))[0]
    assert np.nanmax(np.abs(wilder - cutler)) > 5.0


def test_every_named_indicator_is_covered() -> None:
    covered = {c.id for c in CASES} | {"vwap", "levels"}
    assert len(covered) >= 26
    assert {"rsi", "macd", "bbands", "vwap", "levels", "atr", "sma", "ema", "wma", "dema", "tema",
            "stoch", "stochrsi", "willr", "cci", "adx", "obv", "mfi", "roc", "mom", "keltner",
            "donchian", "sar", "supertrend", "ichimoku", "relvol", "rsi_cutler"} <= covered


@pytest.mark.parametrize("dataset", ta_data.ALL, ids=lambda d: d.__name__)
def test_support_resistance_pivots_equal_the_talib_window_definition(dataset) -> None:
    """A pivot high is the highest high of its centred window (TA-Lib MAX over left+right+1
    bars, read `right` bars later) and above the `left` bars before it; lows mirrored."""
    from market.indicators.levels import pivots

    s = dataset()
    left = right = 5
    is_high, is_low = pivots(s.high, s.low, left, right)
    n = len(s)
    win_max = np.r_[talib.MAX(s.high, left + right + 1)[right:], np.full(right, np.nan)]
    win_min = np.r_[talib.MIN(s.low, left + right + 1)[right:], np.full(right, np.nan)]
    left_max = np.r_[np.nan, talib.MAX(s.high, left)[:-1]]
    left_min = np.r_[np.nan, talib.MIN(s.low, left)[:-1]]
    ref_high = (s.high == win_max) & (s.high > left_max)
    ref_low = (s.low == win_min) & (s.low < left_min)
    ref_high[:left] = ref_low[:left] = False
    assert np.array_equal(is_high, ref_high) and np.array_equal(is_low, ref_low)
    assert is_high.sum() > n / 40 and is_low.sum() > n / 40
    # The streaming object learns each pivot `right` bars later and reports the nearest levels.
    sr = ind.SupportResistance(left, right, tolerance=0.0, max_levels=10_000)
    for h, lo, c in zip(s.high, s.low, s.close, strict=True):
        sr.update(h, lo, c)
    got = np.unique(np.round([lv.price for lv in sr.levels], 6))
    ref = np.unique(np.round(np.r_[s.high[is_high], s.low[is_low]], 6))
    assert np.array_equal(got, ref)
