"""Chain-wide vectorized indicators equal TA-Lib per column on real data, including series that
start late (leading NaN) and series restarted by a bad bar."""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np
import pandas as pd
import pytest
import talib

from market.indicators.chain import ChainIndicators
from tests.market.ta_data import SHARED

SYMBOLS = ("IBM", "BAC", "AIG", "SPY")
START = (0, 37, 0, 5)  # series 2 and 4 start late: leading NaN rows
BAD_ROW = (None, None, 900, None)  # series 3 gets a NaN bar mid-way and restarts after it


@cache
def panel() -> dict[str, np.ndarray]:
    """(bars x series) arrays of the six 2013-10 sessions, minutes common to all symbols."""
    frames = []
    for sym in SYMBOLS:
        files = sorted((SHARED / "equity_minute").glob(f"{sym}_2013-10-*_1min.csv.gz"))
        df = pd.concat([pd.read_csv(f) for f in files])
        df = df[df.regular_hours.astype(str) == "True"].dropna(subset=["close"])
        frames.append(df.set_index("timestamp")[["open", "high", "low", "close", "volume"]])
    common = frames[0].index
    for f in frames[1:]:
        common = common.intersection(f.index)
    out = {c: np.column_stack([f.loc[common, c].to_numpy(float) for f in frames])
           for c in ("open", "high", "low", "close", "volume")}
    for j, start in enumerate(START):
        for c in out:
            out[c][:start, j] = np.nan
    for j, row in enumerate(BAD_ROW):
        if row is not None:
            out["close"][row, j] = np.nan
    out["day"] = np.array([t[:10] for t in common])
    return out


@cache
def chain_run() -> dict[str, np.ndarray]:
    p = panel()
    chain = ChainIndicators(len(SYMBOLS))
    lines: dict[str, list[np.ndarray]] = {}
    prev_day = None
    for t in range(len(p["close"])):
        if p["day"][t] != prev_day:
            chain.new_session()
            prev_day = p["day"][t]
        out = chain.update(*(p[c][t] for c in ("open", "high", "low", "close", "volume")))
        for k, v in out.items():
            lines.setdefault(k, []).append(v.copy())
    return {k: np.vstack(v) for k, v in lines.items()}


def per_column(fn, *names):
    """TA-Lib per series, on the finite stretches between bad rows (the restart semantics)."""
    p = panel()
    n, m = p["close"].shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        cols = [p[c][:, j] for c in names]
        # A bad bar (any field) restarts the whole series, whatever inputs this line uses.
        ok = np.all([np.isfinite(p[c][:, j]) for c in ("high", "low", "close", "volume")], axis=0)
        breaks = np.flatnonzero(~ok)
        bounds = [-1, *breaks.tolist(), n]
        for a, b in itertools.pairwise(bounds):
            if b - a - 1 > 0:
                out[a + 1:b, j] = fn(*(c[a + 1:b] for c in cols))
    return out


H, L, C, V = "high", "low", "close", "volume"
SMA_ = talib.MA_Type.SMA
REFERENCES = {
    "sma": (lambda c: talib.SMA(c, 20), C), "ema": (lambda c: talib.EMA(c, 20), C),
    "wma": (lambda c: talib.WMA(c, 20), C), "dema": (lambda c: talib.DEMA(c, 20), C),
    "tema": (lambda c: talib.TEMA(c, 10), C), "rsi": (lambda c: talib.RSI(c, 14), C),
    "macd": (lambda c: talib.MACD(c)[0], C), "macd_signal": (lambda c: talib.MACD(c)[1], C),
    "macd_hist": (lambda c: talib.MACD(c)[2], C),
    "bb_upper": (lambda c: talib.BBANDS(c, 20, 2, 2)[0], C),
    "bb_lower": (lambda c: talib.BBANDS(c, 20, 2, 2)[2], C),
    "atr": (lambda h, lo, c: talib.ATR(h, lo, c, 14), H, L, C),
    "stoch_k": (lambda h, lo, c: talib.STOCH(h, lo, c, 14, 3, SMA_, 3, SMA_)[0], H, L, C),
    "stoch_d": (lambda h, lo, c: talib.STOCH(h, lo, c, 14, 3, SMA_, 3, SMA_)[1], H, L, C),
    "willr": (lambda h, lo, c: talib.WILLR(h, lo, c, 14), H, L, C),
    "cci": (lambda h, lo, c: talib.CCI(h, lo, c, 20), H, L, C),
    "donchian_upper": (lambda h: talib.MAX(h, 20), H),
    "donchian_lower": (lambda lo: talib.MIN(lo, 20), L),
    "keltner_upper": (lambda h, lo, c: talib.EMA(c, 20) + 2 * talib.ATR(h, lo, c, 10), H, L, C),
    "mom": (lambda c: talib.MOM(c, 10), C), "roc": (lambda c: talib.ROC(c, 10), C),
    "obv": (lambda c, v: talib.OBV(c, v), C, V),
    "mfi": (lambda h, lo, c, v: talib.MFI(h, lo, c, v, 14), H, L, C, V),
    "relvol": (lambda v: v / np.r_[np.nan, talib.SMA(v, 20)[:-1]], V),
}


@pytest.mark.parametrize("line", sorted(REFERENCES))
def test_chain_line_equals_talib_per_series(line):
    fn, *inputs = REFERENCES[line]
    got, ref = chain_run()[line], per_column(fn, *inputs)
    degenerate = np.zeros_like(ref, dtype=bool)
    if line in ("willr", "stoch_k", "stoch_d", "mfi"):  # documented neutral values
        degenerate = (ref == 0) | (ref == -0.0)
        if line.startswith("stoch"):
            degenerate = pd.DataFrame(degenerate).rolling(5, min_periods=1).max().to_numpy() > 0
    assert np.array_equal(np.isnan(got), np.isnan(ref)), f"{line}: warm-up/restart differs"
    check = ~np.isnan(ref) & ~degenerate
    np.testing.assert_allclose(got[check], ref[check], rtol=1e-9, atol=1e-9, err_msg=line)


def test_rsi_cutler_and_vwap_lines():
    p, got = panel(), chain_run()
    c = p["close"][:, 0]
    d = np.diff(c, prepend=np.nan)
    g, lo = talib.SMA(np.maximum(d, 0), 14), talib.SMA(np.maximum(-d, 0), 14)
    ok = (g + lo) > 0
    np.testing.assert_allclose(got["rsi_cutler"][ok, 0], (100 * g / (g + lo))[ok], rtol=1e-9)
    tp = (p["high"][:, 0] + p["low"][:, 0] + c) / 3
    df = pd.DataFrame({"pv": tp * p["volume"][:, 0], "v": p["volume"][:, 0], "d": p["day"]})
    ref = df.groupby("d").pv.cumsum() / df.groupby("d").v.cumsum()
    np.testing.assert_allclose(got["vwap"][:, 0], ref.to_numpy(), rtol=1e-9)


def test_the_bad_bar_gives_nan_and_restarts_only_its_series():
    got = chain_run()
    assert np.isnan(got["ema"][900, 2]) and np.isnan(got["ema"][915, 2])  # warming again
    assert not np.isnan(got["ema"][900, 0]) and not np.isnan(got["ema"][925, 2])


def test_twenty_indicators_are_covered():
    lines = set(chain_run())
    families = {name.split("_")[0] for name in lines} - {"bb"} | {"bbands"}
    assert len(families) >= 20, sorted(families)


def test_real_goog_chain_minute_bars_feed_the_chain_engine(goog_feed):
    """The shipped GOOG day through the replay feed: 2,192 contracts, one bar each per minute,
    indicators per contract equal TA-Lib on that contract's forward-filled mid series."""
    from market.bars import ChainMinuteBars
    from market.data import Quote, Trade
    from tests.conftest import REPLAY_DIR

    quotes = pd.read_csv(REPLAY_DIR / "GOOG_2015-12-24_quotes.csv.gz",
                         usecols=["timestamp", "occ_symbol", "bid_close", "ask_close"])
    symbols = sorted(quotes.occ_symbol.unique())
    builder, chain = ChainMinuteBars(symbols), ChainIndicators(len(symbols))
    closes, emas, current = [], [], None
    for event in goog_feed.events():
        if isinstance(event, Quote | Trade) and event.symbol != event.underlying:
            if current is not None and event.ts != current:
                o, h, lo, c, v = builder.close_minute()
                out = chain.update(o, h, lo, c, v)
                closes.append(c)
                emas.append(out["ema"])
            current = event.ts
            (builder.on_quote if isinstance(event, Quote) else builder.on_trade)(event)
    o, h, lo, c, v = builder.close_minute()  # the last minute of the day
    closes.append(c)
    emas.append(chain.update(o, h, lo, c, v)["ema"])
    close, ema = np.vstack(closes), np.vstack(emas)
    assert close.shape[1] == 2192 and close.shape[0] > 200
    assert builder.dropped["no_ask"] > 0 and builder.dropped["not_in_chain"] == 0

    busiest = quotes.occ_symbol.value_counts().index[0]
    j = symbols.index(busiest)
    mine = quotes[quotes.occ_symbol == busiest]
    bid, ask = mine.bid_close.fillna(0).to_numpy(), mine.ask_close.to_numpy()
    valid = (ask > 0) & (bid <= ask)  # what quote_problem accepts
    assert valid.sum() > 150
    mid = (bid + ask)[valid] / 2
    assert np.isin(mid, close[:, j]).all()  # every valid minute's mid is that minute's close
    finite = ~np.isnan(close[:, j])
    np.testing.assert_allclose(ema[finite, j], talib.EMA(close[finite, j], 20), rtol=1e-9)
    warm = (~np.isnan(ema)).sum(axis=1)
    assert warm[-1] > 1000  # most of the chain is warm by the end of the day
