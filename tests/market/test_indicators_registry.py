"""The multi-timeframe registry: values per timeframe equal TA-Lib on resampled real bars, a
15m indicator changes only when its bar closes, the forming bar is read only on request."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pydantic
import pytest
import talib

from market.calendar import ExchangeCalendar
from market.indicators.catalog import CATALOG, IndicatorSpec, build
from market.indicators.config import IndicatorsConfig
from market.indicators.registry import IndicatorRegistry
from tests.market.ta_data import SHARED
from tests.market.test_bars import minute_bars, resampled

SPECS = [
    IndicatorSpec(key="sma5", kind="sma", params={"period": 5}, timeframes=("1m", "15m")),
    IndicatorSpec(key="rsi", kind="rsi", params={"period": 6}, timeframes=("5m",)),
    IndicatorSpec(key="vwap", kind="vwap", timeframes=("1m",)),
]


@pytest.fixture(scope="module")
def two_days():
    frames, bars = [], []
    for day in ("07", "08"):
        df, b = minute_bars(SHARED / "equity_minute" / f"IBM_2013-10-{day}_1min.csv.gz")
        frames.append(df)
        bars.extend(b)
    return pd.concat(frames, ignore_index=True), bars


def test_each_timeframe_equals_talib_on_resampled_bars_and_changes_only_on_close(two_days):
    df, bars = two_days
    reg = IndicatorRegistry(ExchangeCalendar(), SPECS)
    seen_15m, closes_15m = [], []
    for bar in bars:
        closed = reg.on_bar(bar)
        closes_15m.append(any(b.timeframe == "15m" for b in closed))
        seen_15m.append(reg.value("X", "15m", "sma5"))
    seen = np.array(seen_15m)
    changed = np.r_[False, ~((seen[1:] == seen[:-1]) | (np.isnan(seen[1:]) & np.isnan(seen[:-1])))]
    assert changed.any() and not (changed & ~np.array(closes_15m)).any()

    ref15 = talib.SMA(resampled(df, "15min").close.to_numpy(float), 5)
    got15 = seen[np.array(closes_15m)]
    np.testing.assert_allclose(got15, ref15, rtol=1e-12)
    ref5 = talib.RSI(resampled(df, "5min").close.to_numpy(float), 6)
    assert reg.value("X", "5m", "rsi") == pytest.approx(ref5[-1], rel=1e-12)
    assert reg.value("X", "1m", "sma5") == pytest.approx(talib.SMA(df.close.to_numpy(), 5)[-1])


def test_forming_bar_is_only_read_on_request_and_never_changes_state(two_days):
    df, bars = two_days
    reg = IndicatorRegistry(ExchangeCalendar(), SPECS)
    for bar in bars[:400]:  # day 2 09:30 .. 09:40: a 15m bucket is forming
        reg.on_bar(bar)
    closed_value = reg.value("X", "15m", "sma5")
    forming_value = reg.value("X", "15m", "sma5", forming=True)
    forming = reg.aggregator.forming("X", "15m")
    assert forming is not None and forming.ts == bars[399].ts
    closes = resampled(df[:390], "15min").close.to_numpy()[-4:]
    assert forming_value == pytest.approx((closes.sum() + forming.close) / 5, rel=1e-12)
    assert closed_value != forming_value
    assert reg.value("X", "15m", "sma5") == closed_value  # the copy did not leak


def test_vwap_in_the_registry_resets_at_the_second_open(two_days):
    _, bars = two_days
    reg = IndicatorRegistry(ExchangeCalendar(), SPECS)
    for bar in bars[:391]:
        reg.on_bar(bar)
    first = bars[390]
    assert reg.value("X", "1m", "vwap") == pytest.approx((first.high + first.low + first.close) / 3)


def test_symbol_filter_and_clear_errors():
    reg = IndicatorRegistry(ExchangeCalendar(), SPECS, symbols=["GOOG"])
    _, bars = minute_bars(SHARED / "equity_minute" / "IBM_2013-10-07_1min.csv.gz")
    assert reg.on_bar(bars[0]) == []
    with pytest.raises(KeyError, match="no indicator 'sma5' on 1m for 'X'"):
        reg.get("X", "1m", "sma5")
    assert reg.snapshot("X") == {}


def test_registry_values_are_nan_while_warming():
    reg = IndicatorRegistry(ExchangeCalendar(), SPECS)
    _, bars = minute_bars(SHARED / "equity_minute" / "IBM_2013-10-07_1min.csv.gz")
    reg.on_bar(bars[0])
    assert math.isnan(reg.value("X", "1m", "sma5"))
    assert reg.snapshot("X")["1m"]["vwap"]["value"] == pytest.approx(
        (bars[0].high + bars[0].low + bars[0].close) / 3)


@pytest.mark.parametrize(("spec", "message"), [
    ({"key": "a", "kind": "rsx"}, "unknown indicator kind 'rsx'"),
    ({"key": "a", "kind": "rsi", "params": {"period": 1}}, "period must be an integer >= 2"),
    ({"key": "a", "kind": "rsi", "params": {"length": 3}}, "bad parameters"),
    ({"key": "a", "kind": "rsi", "timeframes": ["2m"]}, "unknown timeframe"),
])
def test_bad_specs_fail_at_start_up_with_the_reason(spec, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        IndicatorSpec(**spec)


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError, match="unique"):
        IndicatorRegistry(ExchangeCalendar(), [SPECS[0], SPECS[0]])


def test_catalog_builds_every_kind_with_defaults():
    assert len(CATALOG) >= 27
    for kind in CATALOG:
        assert build(kind).name == kind


def test_candlestick_patterns_per_closed_bar_equal_batch_on_resampled_bars(two_days):
    from market.patterns.candles import recognize, signals

    df, bars = two_days
    reg = IndicatorRegistry(ExchangeCalendar(), SPECS, candle_timeframes=["5m"])
    ref = resampled(df, "5min")
    raw = recognize(*(ref[c].to_numpy(float) for c in ("open", "high", "low", "close")))
    k = 0
    hits = 0
    for bar in bars:
        if any(b.timeframe == "5m" for b in reg.on_bar(bar)):
            got = reg.candles("X", "5m")
            assert got == signals(raw, k)
            hits += bool(got)
            k += 1
    assert k == len(ref) and hits > 10
    with pytest.raises(KeyError, match="not kept on 15m"):
        reg.candles("X", "15m")


def test_config_section_builds_the_registry_and_names_bad_fields(two_days):
    from market.data import Bar

    cfg = IndicatorsConfig.model_validate({
        "specs": [{"key": "ema9", "kind": "ema", "params": {"period": 9}, "timeframes": ["5m"]}],
        "candle_timeframes": [], "symbols": ["X"]})
    reg = cfg.build(ExchangeCalendar())
    df, bars = two_days
    for bar in bars:
        reg.on_bar(bar)
    ref = talib.EMA(resampled(df, "5min").close.to_numpy(float), 9)
    assert reg.value("X", "5m", "ema9") == pytest.approx(ref[-1], rel=1e-12)
    assert len(IndicatorsConfig().build(ExchangeCalendar()).specs) == 10  # the defaults
    with pytest.raises(pydantic.ValidationError, match=r"specs\.0\.kind"):
        IndicatorsConfig.model_validate({"specs": [{"key": "a", "kind": "nope"}]})
    with pytest.raises(pydantic.ValidationError, match="unknown timeframe"):
        IndicatorsConfig(candle_timeframes=("3m",))
    with pytest.raises(ValueError, match="takes closed 1-minute bars"):
        reg.on_bar(Bar("X", bars[0].ts, 1, 1, 1, 1, 1, "5m"))


def test_registry_on_the_replay_feed_of_the_shipped_day():
    """What the engine will do: underlying minute bars from ReplayFeed (released at the
    minute's end) into the registry; values equal TA-Lib on the same bars, resampled."""
    from datetime import date

    from market.data import Bar
    from market.feeds.replay import ReplayDay, ReplayFeed
    from tests.conftest import REPLAY_DIR

    path = REPLAY_DIR / "GOOG_2015-12-24_1min.csv.gz"
    feed = ReplayFeed([ReplayDay("GOOG", date(2015, 12, 24), None, None, None, path)])
    reg = IndicatorsConfig().build(ExchangeCalendar())
    closed_hours = []
    for event in feed.events():
        if isinstance(event, Bar):
            closed_hours += [b for b in reg.on_bar(event) if b.timeframe == "1h"]
    df, _ = minute_bars(path)
    assert [b.ts.hour for b in closed_hours] == [15, 16, 17, 18]  # 10:30 .. 13:00 New York
    assert reg.value("GOOG", "1m", "rsi14") == pytest.approx(
        talib.RSI(df.close.to_numpy(float), 14)[-1], rel=1e-12)
    ref = talib.EMA(resampled(df, "5min").close.to_numpy(float), 9)
    assert reg.value("GOOG", "5m", "ema9") == pytest.approx(ref[-1], rel=1e-12)
    assert math.isnan(reg.value("GOOG", "1d", "atr14"))  # one daily bar: not warm, no number
