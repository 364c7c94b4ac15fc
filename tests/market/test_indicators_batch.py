"""Batch functions equal the streaming objects bar for bar, also across bad rows; bad input
behaves as documented (rejected, counted, never a silently wrong number)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from market import indicators as ind
from market.data import Bar
from market.indicators import batch
from market.indicators.catalog import CATALOG, build
from tests.market import ta_data
from tests.market.test_indicators import close_only, hl, hlc, hlcv

S = ta_data.ibm_week

BatchFn = Callable[[ta_data.Series], object]
CASES: list[tuple[str, Callable[[], ind.Streaming], Callable[..., object], tuple[str, ...],
                  BatchFn]] = [
    ("sma", lambda: ind.SMA(20), close_only, ("value",), lambda s: batch.sma(s.close, 20)),
    ("ema", lambda: ind.EMA(20), close_only, ("value",), lambda s: batch.ema(s.close, 20)),
    ("wma", lambda: ind.WMA(20), close_only, ("value",), lambda s: batch.wma(s.close, 20)),
    ("dema", lambda: ind.DEMA(20), close_only, ("value",), lambda s: batch.dema(s.close, 20)),
    ("tema", lambda: ind.TEMA(20), close_only, ("value",), lambda s: batch.tema(s.close, 20)),
    ("rsi", lambda: ind.RSI(14), close_only, ("value",), lambda s: batch.rsi(s.close, 14)),
    ("rsi_cutler", lambda: ind.CutlerRSI(14), close_only, ("value",),
     lambda s: batch.rsi_cutler(s.close, 14)),
    ("macd", ind.MACD, close_only, ("macd", "signal", "hist"), lambda s: batch.macd(s.close)),
    ("bbands", ind.Bollinger, close_only, ("upper", "middle", "lower"),
     lambda s: batch.bollinger(s.close)),
    ("atr", ind.ATR, hlc, ("value",), lambda s: batch.atr(s.high, s.low, s.close)),
    ("stoch", ind.Stochastic, hlc, ("k", "d"),
     lambda s: batch.stochastic(s.high, s.low, s.close)),
    ("stochrsi", ind.StochRSI, close_only, ("k", "d"), lambda s: batch.stochrsi(s.close)),
    ("willr", ind.WilliamsR, hlc, ("value",), lambda s: batch.willr(s.high, s.low, s.close)),
    ("cci", ind.CCI, hlc, ("value",), lambda s: batch.cci(s.high, s.low, s.close)),
    ("adx", ind.ADX, hlc, ("value", "plus_di", "minus_di"),
     lambda s: batch.adx(s.high, s.low, s.close)),
    ("obv", ind.OBV, lambda i, h, lo, c, v: i.update(c, v), ("value",),
     lambda s: batch.obv(s.close, s.volume)),
    ("mfi", ind.MFI, hlcv, ("value",), lambda s: batch.mfi(s.high, s.low, s.close, s.volume)),
    ("roc", ind.ROC, close_only, ("value",), lambda s: batch.roc(s.close)),
    ("mom", ind.Momentum, close_only, ("value",), lambda s: batch.mom(s.close)),
    ("keltner", ind.Keltner, hlc, ("upper", "middle", "lower"),
     lambda s: batch.keltner(s.high, s.low, s.close)),
    ("donchian", ind.Donchian, hl, ("upper", "middle", "lower"),
     lambda s: batch.donchian(s.high, s.low)),
    ("sar", ind.ParabolicSAR, hl, ("value",), lambda s: batch.sar(s.high, s.low)),
    ("supertrend", ind.Supertrend, hlc, ("value", "direction"),
     lambda s: batch.supertrend(s.high, s.low, s.close)),
    ("ichimoku", ind.Ichimoku, hl, ("tenkan", "kijun", "senkou_a", "senkou_b", "cloud_a",
                                    "cloud_b"),
     lambda s: tuple(batch.ichimoku(s.high, s.low).values())),
    ("relvol", ind.RelativeVolume, lambda i, h, lo, c, v: i.update(v), ("value",),
     lambda s: batch.relative_volume(s.volume)),
    ("levels", ind.SupportResistance, hlc, ("support", "resistance"),
     lambda s: batch.support_resistance(s.high, s.low, s.close)),
]


def with_bad_rows(s: ta_data.Series) -> tuple[ta_data.Series, np.ndarray]:
    """The series with a NaN close, an infinite high and a NaN volume injected."""
    high, low, close, volume = (a.copy() for a in (s.high, s.low, s.close, s.volume))
    bad = np.zeros(len(s), dtype=bool)
    close[[40, 700]] = np.nan
    high[333] = np.inf
    volume[1200] = np.nan
    bad[[40, 700, 333, 1200]] = True
    return ta_data.Series(s.name, high, low, close, volume, s.session), bad


@pytest.mark.parametrize(("name", "make", "feed", "attrs", "batch_fn"), CASES,
                         ids=[c[0] for c in CASES])
def test_batch_equals_streaming_even_across_bad_rows(name, make, feed, attrs, batch_fn) -> None:
    s, bad = with_bad_rows(S())
    indicator = make()
    got = np.full((len(attrs), len(s)), np.nan)
    rejected = np.zeros(len(s), dtype=bool)
    for i, row in enumerate(zip(s.high, s.low, s.close, s.volume, strict=True)):
        before = indicator.rejected
        feed(indicator, *(float(x) for x in row))
        rejected[i] = indicator.rejected > before
        if not rejected[i]:
            got[:, i] = [getattr(indicator, a) for a in attrs]
    assert rejected.any() and not (rejected & ~bad).any()
    out = batch_fn(s)
    lines = out if isinstance(out, tuple) else (out,)
    for j, line in enumerate(lines):
        assert np.all(np.isnan(line[rejected])), f"{name}: a bad row got a number"
        np.testing.assert_allclose(line, got[j], rtol=1e-9, atol=1e-9, err_msg=f"{name}[{j}]")


def test_rejected_input_leaves_state_untouched() -> None:
    clean, dirty = ind.RSI(14), ind.RSI(14)
    closes = ta_data.goog_replay().close.tolist()[:60]
    for i, c in enumerate(closes):
        clean.update(c)
        if i == 30:
            assert math.isnan(dirty.update(float("nan")))
            assert math.isnan(dirty.update(float("inf")))
        dirty.update(c)
    assert dirty.value == clean.value
    assert dirty.rejected == 2 and clean.rejected == 0


def test_not_ready_says_why() -> None:
    rsi = ind.RSI(14)
    assert not rsi.ready and rsi.not_ready_reason == "warming up: 0/15 bars"
    for c in range(15):
        rsi.update(100.0 + c)
    assert rsi.ready and rsi.not_ready_reason is None and rsi.value == 100.0


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_period_is_refused_with_the_parameter_named(bad) -> None:
    with pytest.raises(ValueError, match="period must be an integer"):
        ind.SMA(bad)


def test_flat_windows_give_neutral_values_not_extremes() -> None:
    rsi, stoch, willr, mfi = ind.RSI(5), ind.Stochastic(5, 3, 3), ind.WilliamsR(5), ind.MFI(5)
    for _ in range(20):
        rsi.update(10.0)
        stoch.update(10.0, 10.0, 10.0)
        willr.update(10.0, 10.0, 10.0)
        mfi.update(10.0, 10.0, 10.0, 500.0)
    assert (rsi.value, stoch.k, stoch.d, willr.value, mfi.value) == (50.0, 50.0, 50.0, -50.0, 50.0)
    flat = np.full(30, 10.0)
    assert batch.rsi(flat, 5)[-1] == 50.0
    assert batch.stochastic(flat, flat, flat, 5, 3, 3)[0][-1] == 50.0
    assert batch.willr(flat, flat, flat, 5)[-1] == -50.0
    assert batch.mfi(flat, flat, flat, np.full(30, 500.0), 5)[-1] == 50.0


def test_zero_volume_is_not_a_vwap_or_relative_volume() -> None:
    vwap, relvol = ind.VWAP(), ind.RelativeVolume(3)
    for _ in range(5):
        assert math.isnan(vwap.update(10.0, 9.0, 9.5, 0.0))
        assert math.isnan(relvol.update(0.0))
    assert not vwap.ready and vwap.not_ready_reason == "no volume yet this session"
    assert vwap.update(12.0, 9.0, 9.0, 100.0) == 10.0
    assert math.isnan(relvol.update(50.0))  # the mean of the previous bars is still 0
    assert math.isnan(vwap.update(12.0, 9.0, 9.0, -5.0)) and vwap.rejected == 1


def test_roc_against_a_zero_price_is_undefined() -> None:
    roc = ind.ROC(2)
    for x in (0.0, 1.0, 2.0):
        roc.update(x)
    assert math.isnan(roc.value)
    assert math.isnan(batch.roc(np.array([0.0, 1.0, 2.0]), 2)[-1])


def test_vwap_resets_at_new_york_session_from_bar_timestamps() -> None:
    vwap = ind.VWAP()
    day1 = datetime(2015, 12, 23, 20, 59, tzinfo=UTC)  # 15:59 New York
    vwap.update_bar(Bar("X", day1, 10, 10, 10, 10, 100))
    vwap.update_bar(Bar("X", day1 + timedelta(minutes=1), 20, 20, 20, 20, 100))
    assert vwap.value == 15.0
    day2 = datetime(2015, 12, 24, 14, 31, tzinfo=UTC)  # 09:31 New York, next session
    vwap.update_bar(Bar("X", day2, 30, 30, 30, 30, 100))
    assert vwap.value == 30.0 and str(vwap.session_day) == "2015-12-24"


def test_batch_refuses_arrays_of_different_length() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        batch.atr(np.ones(5), np.ones(4), np.ones(5))


@pytest.mark.parametrize("kind", sorted(set(CATALOG) - {"vwap"}))
def test_update_bar_feeds_the_fields_update_takes(kind) -> None:
    """Every catalog indicator: update_bar(bar) == update(<the bar fields it names>)."""
    s = ta_data.goog_replay()
    by_bar, by_fields = build(kind), build(kind)
    params = [p for p in inspect.signature(by_fields.update).parameters if p != "new_session"]
    field = {"x": "close", "high": "high", "low": "low", "close": "close", "volume": "volume"}
    ts = datetime(2015, 12, 24, 15, tzinfo=UTC)
    for h, lo, c, v in zip(s.high, s.low, s.close, s.volume, strict=True):
        bar = Bar("GOOG", ts, c, float(h), float(lo), float(c), float(v))
        a = by_bar.update_bar(bar)
        b = by_fields.update(*(float(getattr(bar, field[p])) for p in params))
        assert a == b or (math.isnan(a) and math.isnan(b))
    assert by_bar.ready and by_bar.snapshot() == by_fields.snapshot()
