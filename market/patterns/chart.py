"""Rule-based chart and volume patterns over OHLCV arrays.

Every match says when it became *known* (``known_at``): pivots count only ``right`` bars after
they formed, and a pattern counts only when price confirms it (a close through the neckline or
the range), so a backtest that acts on ``known_at`` never looks ahead. The rules are plain and
deliberately few; each is tested on a constructed series whose answer is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import talib
from numpy.typing import NDArray

from market.indicators.levels import Level, LevelBook, pivots

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class PatternMatch:
    """A recognized pattern: its span, the bar it became known, its key price level."""

    kind: str  # "double_top", "head_and_shoulders", "bull_flag", "ascending_triangle", ...
    direction: int  # +1 bullish, -1 bearish, 0 neutral (a symmetrical triangle)
    start: int  # first bar of the pattern
    known_at: int  # the bar on whose close it was confirmed
    level: float  # the neckline / breakout level / apex side that confirms it


def levels(high: FloatArray, low: FloatArray, left: int = 5, right: int = 5,
           tolerance: float = 0.002, max_levels: int = 12) -> list[Level]:
    """Support/resistance levels at the end of the series, most touched first."""
    is_high, is_low = pivots(high, low, left, right)
    book = LevelBook(tolerance, max_levels)
    for i in np.flatnonzero(is_high | is_low).tolist():
        if is_high[i]:
            book.add(float(high[i]), i)
        if is_low[i]:
            book.add(float(low[i]), i)
    return sorted(book.levels, key=lambda lv: (-lv.touches, lv.price))


def _prior_mean(x: FloatArray, period: int) -> FloatArray:
    """Mean of the ``period`` values before each bar (NaN before enough history)."""
    out = np.full(len(x), np.nan)
    if len(x) > period:
        out[period:] = talib.SMA(x, period)[period - 1:-1]
    return out


def breakouts(high: FloatArray, low: FloatArray, close: FloatArray, volume: FloatArray,
              lookback: int = 20, volume_factor: float = 1.5) -> IntArray:
    """+1 where the close clears the highest high of the previous ``lookback`` bars on volume
    at least ``volume_factor`` x their mean volume; -1 for the same through the lowest low."""
    prior_high = np.r_[np.nan, talib.MAX(high, lookback)[:-1]]
    prior_low = np.r_[np.nan, talib.MIN(low, lookback)[:-1]]
    loud = volume >= volume_factor * _prior_mean(volume, lookback)
    out = np.zeros(len(close), dtype=np.int8)
    out[(close > prior_high) & loud] = 1
    out[(close < prior_low) & loud] = -1
    return out


def volume_climax(open_: FloatArray, high: FloatArray, low: FloatArray, close: FloatArray,
                  volume: FloatArray, lookback: int = 20, volume_factor: float = 3.0,
                  range_factor: float = 1.5) -> IntArray:
    """Climax bars: volume >= ``volume_factor`` x the prior mean and range >= ``range_factor``
    x the prior mean range. -1 for a buying climax (up bar at a ``lookback`` high: exhaustion
    of buyers), +1 for a selling climax (down bar at a ``lookback`` low)."""
    rng = high - low
    big = (volume >= volume_factor * _prior_mean(volume, lookback)) & (
        rng >= range_factor * _prior_mean(rng, lookback))
    at_high = high >= talib.MAX(high, lookback)
    at_low = low <= talib.MIN(low, lookback)
    out = np.zeros(len(close), dtype=np.int8)
    out[big & (close > open_) & at_high] = -1
    out[big & (close < open_) & at_low] = 1
    return out


def _first_close_beyond(close: FloatArray, start: int, stop: int, level: float, below: bool
                        ) -> int | None:
    seg = close[start:stop]
    hits = np.flatnonzero(seg < level if below else seg > level)
    return start + int(hits[0]) if len(hits) else None


def double_tops_bottoms(high: FloatArray, low: FloatArray, close: FloatArray, order: int = 5,
                        tolerance: float = 0.01, min_depth: float = 0.03, min_gap: int = 5,
                        max_wait: int = 30) -> list[PatternMatch]:
    """Two neighbouring pivot highs within ``tolerance`` with a trough at least ``min_depth``
    below them, confirmed by a close under the trough (double top); mirrored for bottoms."""
    is_high, is_low = pivots(high, low, order, order)
    out: list[PatternMatch] = []
    for mask, top in ((is_high, True), (is_low, False)):
        idx = np.flatnonzero(mask)
        for a, b in zip(idx[:-1].tolist(), idx[1:].tolist(), strict=True):
            pa, pb = (high[a], high[b]) if top else (low[a], low[b])
            if b - a < min_gap or abs(pa - pb) > tolerance * max(pa, pb):
                continue
            neck = float(low[a:b + 1].min() if top else high[a:b + 1].max())
            depth = (min(pa, pb) - neck) / min(pa, pb) if top else (neck - max(pa, pb)) / neck
            if depth < min_depth:
                continue
            hit = _first_close_beyond(close, b + order, b + order + max_wait, neck, below=top)
            if hit is not None:
                out.append(PatternMatch("double_top" if top else "double_bottom",
                                        -1 if top else 1, a, hit, neck))
    return sorted(out, key=lambda m: m.known_at)


def head_and_shoulders(high: FloatArray, low: FloatArray, close: FloatArray, order: int = 5,
                       shoulder_tolerance: float = 0.03, min_head: float = 0.02,
                       max_wait: int = 30) -> list[PatternMatch]:
    """Three neighbouring pivot highs, the middle one at least ``min_head`` above both
    shoulders, shoulders within ``shoulder_tolerance``; confirmed by a close under the neckline
    through the two troughs. The inverse pattern is the mirror on pivot lows."""
    is_high, is_low = pivots(high, low, order, order)
    out: list[PatternMatch] = []
    for mask, top in ((is_high, True), (is_low, False)):
        idx = np.flatnonzero(mask).tolist()
        price = high if top else low
        sign = 1.0 if top else -1.0
        for a, b, c in zip(idx, idx[1:], idx[2:], strict=False):
            pa, pb, pc = sign * price[a], sign * price[b], sign * price[c]
            if not (pb > pa and pb > pc):
                continue
            if (pb - max(pa, pc)) < min_head * abs(price[b]) or abs(pa - pc) > (
                    shoulder_tolerance * abs(price[b])):
                continue
            seg1, seg2 = (low[a:b + 1], low[b:c + 1]) if top else (high[a:b + 1], high[b:c + 1])
            t1 = a + int(np.argmin(seg1) if top else np.argmax(seg1))
            t2 = b + int(np.argmin(seg2) if top else np.argmax(seg2))
            y1, y2 = (low[t1], low[t2]) if top else (high[t1], high[t2])
            slope = (y2 - y1) / (t2 - t1) if t2 != t1 else 0.0
            for j in range(c + order, min(c + order + max_wait, len(close))):
                neck = y1 + slope * (j - t1)
                if (close[j] < neck) if top else (close[j] > neck):
                    out.append(PatternMatch("head_and_shoulders" if top else
                                            "inverse_head_and_shoulders", -1 if top else 1, a, j,
                                            float(neck)))
                    break
    return sorted(out, key=lambda m: m.known_at)


def flags(high: FloatArray, low: FloatArray, close: FloatArray, pole_bars: int = 5,
          min_pole: float = 0.03, flag_bars: tuple[int, int] = (3, 12),
          max_retrace: float = 0.5) -> list[PatternMatch]:
    """Bull flag: a rise of at least ``min_pole`` within ``pole_bars``, then a flat or
    down-sloping pause that gives back at most ``max_retrace`` of the pole, then a close above
    the pause's high. Bear flag: the mirror. Reported on the breakout bar."""
    out: list[PatternMatch] = []
    n = len(close)
    last_known = -1
    for t in range(pole_bars + flag_bars[0] + 1, n):
        for length in range(flag_bars[1], flag_bars[0] - 1, -1):  # the longest pause wins
            f0 = t - length  # first bar of the pause
            p0 = f0 - pole_bars  # first bar of the pole
            if t <= last_known:
                break
            if p0 < 0:
                continue
            match = _flag_at(high, low, close, p0, f0, t, min_pole, max_retrace)
            if match is not None:
                out.append(match)
                last_known = t
                break
    return out


def _flag_at(high: FloatArray, low: FloatArray, close: FloatArray, p0: int, f0: int, t: int,
             min_pole: float, max_retrace: float) -> PatternMatch | None:
    pole_move = close[f0 - 1] / close[p0] - 1.0
    pause_hi, pause_lo = high[f0:t].max(), low[f0:t].min()
    pause_slope = np.polyfit(np.arange(t - f0), close[f0:t], 1)[0]
    if pole_move >= min_pole:
        pole_top, pole_base = high[p0:f0].max(), close[p0]
        if (pause_hi <= pole_top and pole_top - pause_lo <= max_retrace * (pole_top - pole_base)
                and pause_slope <= 0 and close[t] > pause_hi):
            return PatternMatch("bull_flag", 1, p0, t, float(pause_hi))
    elif pole_move <= -min_pole:
        pole_bottom, pole_base = low[p0:f0].min(), close[p0]
        if (pause_lo >= pole_bottom
                and pause_hi - pole_bottom <= max_retrace * (pole_base - pole_bottom)
                and pause_slope >= 0 and close[t] < pause_lo):
            return PatternMatch("bear_flag", -1, p0, t, float(pause_lo))
    return None


def triangles(high: FloatArray, low: FloatArray, window: int = 40, order: int = 3,
              flat: float = 0.0005) -> list[PatternMatch]:
    """Classify the pivot highs and lows of the last ``window`` bars each time a pivot is
    confirmed: ascending (flat highs, rising lows), descending (falling highs, flat lows) or
    symmetrical (both converging). ``flat`` is the largest slope, as a fraction of price per
    bar, still called flat. A match is reported when a classification first appears."""
    is_high, is_low = pivots(high, low, order, order)
    out: list[PatternMatch] = []
    previous = ""
    for t in (np.flatnonzero(is_high | is_low) + order).tolist():
        lo_bar = max(0, t - window)
        hs = np.flatnonzero(is_high[lo_bar:t - order + 1]) + lo_bar
        ls = np.flatnonzero(is_low[lo_bar:t - order + 1]) + lo_bar
        kind = ""
        if len(hs) >= 2 and len(ls) >= 2:
            scale = float(np.mean(high[hs]))
            up = np.polyfit(hs, high[hs], 1)[0] / scale
            down = np.polyfit(ls, low[ls], 1)[0] / scale
            if abs(up) <= flat and down > flat:
                kind = "ascending_triangle"
            elif up < -flat and abs(down) <= flat:
                kind = "descending_triangle"
            elif up < -flat and down > flat:
                kind = "symmetrical_triangle"
        if kind and kind != previous:
            direction = {"ascending_triangle": 1, "descending_triangle": -1}.get(kind, 0)
            level = float(high[hs].max() if direction >= 0 else low[ls].min())
            out.append(PatternMatch(kind, direction, int(min(hs[0], ls[0])), t, level))
        previous = kind
    return out
