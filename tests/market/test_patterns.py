"""Candlestick patterns: all 61 TA-Lib recognizers, batch and per closed bar, agree."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import talib

from market.data import Bar
from market.patterns.candles import PATTERNS, CandleScanner, CandleSignal, recognize, signals
from tests.market.ta_data import SHARED


@pytest.fixture(scope="module")
def spy():
    df = pd.read_csv(SHARED / "equity_daily" / "SPY_daily.csv.gz").iloc[-1200:]
    return tuple(df[c].to_numpy(float) for c in ("open", "high", "low", "close"))


def test_all_61_recognizers_are_exposed_and_equal_talib(spy):
    assert len(PATTERNS) == 61
    raw = recognize(*spy)
    assert len(raw) == 61
    for fn, short in PATTERNS.items():
        np.testing.assert_array_equal(raw[short], getattr(talib, fn)(*spy), err_msg=fn)
    assert sum(int(np.count_nonzero(col)) for col in raw.values()) > 1000  # real data hits


def test_scanner_on_each_closed_bar_equals_batch(spy):
    o, h, lo, c = spy
    raw = recognize(o, h, lo, c)
    scanner = CandleScanner()
    ts = datetime(2021, 1, 4, 21, tzinfo=UTC)
    mismatches = 0
    for i in range(len(c)):
        got = scanner.update_bar(Bar("SPY", ts, o[i], h[i], lo[i], c[i], 0.0, "1d"))
        mismatches += got != signals(raw, i)
    assert mismatches == 0


def test_signal_shape_direction_and_strength():
    # A textbook bullish engulfing: a small red candle then a large green one that covers it.
    o = np.array([10.0] * 12 + [10.5, 10.0])
    c = np.array([10.0] * 12 + [10.2, 10.8])
    h, lo = np.maximum(o, c) + 0.05, np.minimum(o, c) - 0.05
    found = signals(recognize(o, h, lo, c, ["engulfing"]), len(c) - 1)
    assert found == [CandleSignal("engulfing", 1, 1)]
    assert found[0].label == "Engulfing Pattern"


def test_unknown_pattern_is_refused():
    with pytest.raises(ValueError, match="unknown candlestick pattern"):
        CandleScanner(["engulfin"])


def test_a_bad_bar_in_the_window_yields_no_pattern():
    scanner = CandleScanner(["doji"])
    ts = datetime(2021, 1, 4, 21, tzinfo=UTC)
    scanner.update_bar(Bar("X", ts, 10, 11, 9, float("nan"), 0))
    assert scanner.update_bar(Bar("X", ts, 10, 11, 9, 10, 0)) == []
