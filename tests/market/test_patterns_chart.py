"""Chart and volume patterns on constructed series whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from market.indicators import SupportResistance
from market.patterns import chart


def path(*points: tuple[int, float]) -> np.ndarray:
    """A piecewise-linear close series through (bar, price) points."""
    xs, ys = zip(*points, strict=True)
    return np.interp(np.arange(xs[-1] + 1), xs, ys)


def hl(close: np.ndarray, spread: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    return close + spread, close - spread


def mirror(close: np.ndarray) -> np.ndarray:
    return 220.0 - close


def test_double_top_confirmed_on_the_neckline_break():
    c = path((0, 100), (20, 110), (30, 103), (40, 110), (60, 98))
    h, lo = hl(c)
    (m,) = chart.double_tops_bottoms(h, lo, c)
    assert (m.kind, m.direction, m.start) == ("double_top", -1, 20)
    assert m.level == pytest.approx(102.8)
    assert m.known_at == 53 and c[m.known_at] < m.level <= c[m.known_at - 1]


def test_double_bottom_is_the_mirror():
    c = mirror(path((0, 100), (20, 110), (30, 103), (40, 110), (60, 98)))
    h, lo = hl(c)
    (m,) = chart.double_tops_bottoms(h, lo, c)
    assert (m.kind, m.direction, m.start, m.known_at) == ("double_bottom", 1, 20, 53)


def test_no_double_top_when_the_peaks_differ_or_price_never_breaks():
    c = path((0, 100), (20, 110), (30, 103), (40, 115), (60, 98))
    assert chart.double_tops_bottoms(*hl(c), c) == []
    c = path((0, 100), (20, 110), (30, 103), (40, 110), (60, 104))
    assert chart.double_tops_bottoms(*hl(c), c) == []


def test_head_and_shoulders_and_its_inverse():
    c = path((0, 100), (10, 108), (18, 104), (28, 114), (38, 104), (46, 108), (66, 95))
    h, lo = hl(c)
    (m,) = chart.head_and_shoulders(h, lo, c)
    assert (m.kind, m.direction, m.start) == ("head_and_shoulders", -1, 10)
    assert m.level == pytest.approx(103.8) and m.known_at == 53
    inv = mirror(c)
    (m,) = chart.head_and_shoulders(*hl(inv), inv)
    assert (m.kind, m.direction, m.start, m.known_at) == ("inverse_head_and_shoulders", 1, 10, 53)


def test_no_head_and_shoulders_with_lopsided_shoulders():
    c = path((0, 100), (10, 104), (18, 102), (28, 114), (38, 104), (46, 110), (66, 95))
    assert chart.head_and_shoulders(*hl(c), c) == []


def test_bull_and_bear_flags_reported_on_the_breakout():
    c = np.r_[np.full(10, 100.0), np.linspace(100, 106, 6)[1:],
              [105.8, 105.5, 105.2, 104.9, 104.7, 104.5], [107.0], np.full(5, 107.0)]
    h, lo = hl(c, 0.1)
    found = chart.flags(h, lo, c)
    assert [(m.kind, m.direction, m.known_at) for m in found] == [("bull_flag", 1, 21)]
    assert found[0].level == pytest.approx(105.9)
    bear = mirror(c)
    found = chart.flags(*hl(bear, 0.1), bear)
    assert [(m.kind, m.known_at) for m in found] == [("bear_flag", 21)]


def test_no_flag_when_the_pause_gives_back_the_whole_pole():
    c = np.r_[np.full(10, 100.0), np.linspace(100, 106, 6)[1:], [105, 103, 101, 100.5],
              [107.0]]
    assert chart.flags(*hl(c, 0.1), c) == []


@pytest.mark.parametrize(("points", "kind", "direction"), [
    (((0, 100), (6, 110), (12, 102), (18, 110), (24, 104), (30, 110), (36, 106), (42, 110),
      (48, 108)), "ascending_triangle", 1),
    (((0, 120), (6, 110), (12, 118), (18, 110), (24, 116), (30, 110), (36, 114), (42, 110),
      (48, 112)), "descending_triangle", -1),
    (((0, 100), (6, 112), (12, 100), (18, 110), (24, 102), (30, 108), (36, 104), (42, 107),
      (48, 105)), "symmetrical_triangle", 0),
])
def test_triangles(points, kind, direction):
    c = path(*points)
    found = chart.triangles(*hl(c, 0.1))
    assert found, kind
    assert (found[0].kind, found[0].direction) == (kind, direction)
    assert all(m.kind == kind for m in found)
    # Known only after the 2nd pivot of each side is confirmed (3 bars after it formed).
    assert found[0].known_at >= 15


def test_no_triangle_in_a_parallel_channel():
    c = path((0, 100), (6, 110), (12, 100), (18, 110), (24, 100), (30, 110), (36, 100), (42, 110),
             (48, 105))
    assert chart.triangles(*hl(c, 0.1)) == []


def test_breakout_needs_volume_confirmation():
    rng = np.random.default_rng(7)
    c = 100 + rng.uniform(-0.5, 0.5, 40)
    v = np.full(41, 1000.0)
    loud = np.r_[c, 102.0]
    h, lo = hl(loud, 0.1)
    v[-1] = 3000
    assert chart.breakouts(h, lo, loud, v)[-1] == 1
    v[-1] = 1000
    assert chart.breakouts(h, lo, loud, v)[-1] == 0
    down = np.r_[c, 98.0]
    v[-1] = 3000
    assert chart.breakouts(*hl(down, 0.1), down, v)[-1] == -1
    assert not chart.breakouts(*hl(down, 0.1), down, v)[:-1].any()


def test_volume_climax_at_the_top_and_the_bottom():
    c = np.linspace(100, 110, 40)
    o = c - 0.1
    h, lo = c + 0.5, o - 0.5
    v = np.full(40, 1000.0)
    o[-1], c[-1], h[-1], lo[-1], v[-1] = 109.0, 112.0, 112.5, 108.8, 6000.0
    out = chart.volume_climax(o, h, lo, c, v)
    assert out[-1] == -1 and not out[:-1].any()
    v[-1] = 1500.0  # the same bar on ordinary volume is no climax
    assert chart.volume_climax(o, h, lo, c, v)[-1] == 0
    o2, c2 = 220 - o, 220 - c
    h2, lo2 = 220 - lo, 220 - h
    v[-1] = 6000.0
    assert chart.volume_climax(o2, h2, lo2, c2, v)[-1] == 1


def test_support_and_resistance_levels_from_repeated_turns():
    c = path((0, 105), (5, 110), (12, 100), (19, 110), (26, 100), (33, 110.1), (40, 100.1),
             (47, 105))
    h, lo = hl(c, 0.05)
    found = chart.levels(h, lo, left=3, right=3)
    prices = sorted(round(lv.price, 1) for lv in found[:2])
    assert prices == [100.0, 110.1] and min(lv.touches for lv in found[:2]) == 3
    sr = SupportResistance(left=3, right=3)
    for hh, ll, cc in zip(h, lo, c, strict=True):
        sr.update(hh, ll, cc)
    by_price = sorted(lv.price for lv in found[:2])
    assert (sr.support, sr.resistance) == pytest.approx(by_price)
    assert sr.support == pytest.approx((99.95 + 99.95 + 100.05) / 3)  # the mean of its pivots


def _minute_ohlcv():
    import pandas as pd

    from tests.market.ta_data import SHARED

    files = sorted((SHARED / "equity_minute").glob("IBM_2013-10-*_1min.csv.gz"))
    df = pd.concat([pd.read_csv(f) for f in files])
    df = df[df.regular_hours.astype(str) == "True"].dropna(subset=["close"])
    return tuple(df[c].to_numpy(float) for c in ("open", "high", "low", "close", "volume"))


def test_live_breakout_detector_equals_batch_on_real_bars():
    from market.patterns.live import BreakoutDetector

    _, h, lo, c, v = _minute_ohlcv()
    ref = chart.breakouts(h, lo, c, v)
    det = BreakoutDetector()
    got = np.array([det.update(*row) for row in zip(h, lo, c, v, strict=True)])
    assert np.array_equal(got, ref)
    assert (ref == 1).sum() > 5 and (ref == -1).sum() > 5


def test_live_climax_detector_equals_batch_on_real_bars():
    from market.patterns.live import ClimaxDetector

    o, h, lo, c, v = _minute_ohlcv()
    ref = chart.volume_climax(o, h, lo, c, v, volume_factor=2.5, range_factor=1.5)
    det = ClimaxDetector(volume_factor=2.5, range_factor=1.5)
    got = np.array([det.update(*row) for row in zip(o, h, lo, c, v, strict=True)])
    assert np.array_equal(got, ref)
    assert np.abs(ref).sum() >= 3
