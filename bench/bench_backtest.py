"""Backtest speed: our full live path vs references and peer engines, on the same bars.

1. 100,000 one-minute bars (a seeded random walk laid on real XNYS session minutes), one bar
   and one quote per minute, the `sma_cross` reference strategy (SMA 10/30, long only) through
   the whole path: engine, strategy, sizing, risk rules, order manager with its SQLite store,
   paper venue with its ledger. Against: a plain Python loop and a numpy reference of the same
   rule (the limits), and backtesting.py / backtrader / NautilusTrader run in a throwaway venv
   (/tmp/peers) as a subprocess (AGPL/GPL/LGPL: they never enter our lock file). Entry counts
   are printed so the engines can be seen to agree, then our ratio to each goal. The indicator
   registry is off in that run, as `sma_cross` reads none of it (the peers compute only their
   two averages); the same path with the default indicator set is timed on a slice and shown.
2. The shipped full-chain GOOG day (~277,000 events) through the same path, with the feed's
   own share of the time (from the parsed copies kept beside the data, and the first-time CSV
   parse of a fresh copy) and the top of a cProfile.

Run: `make bench` or `.venv/bin/python bench/bench_backtest.py`. Figures only; nothing asserts.
"""

from __future__ import annotations

import cProfile
import io
import json
import math
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import backtest.sma_cross  # noqa: E402,F401
from backtest.data import BacktestData, load_data  # noqa: E402
from backtest.runner import run  # noqa: E402
from bot.config import Settings  # noqa: E402
from market.calendar import ExchangeCalendar  # noqa: E402
from market.data import Bar, Quote  # noqa: E402

N_BARS = 100_000
FAST, SLOW = 10, 30
SYMBOL = "SIM"
PEERS = Path("/tmp/peers/bin/python")


def session_minutes(n: int) -> list[datetime]:
    """Minute-end stamps of consecutive XNYS sessions from 2015-01-02 (early closes too)."""
    cal = ExchangeCalendar()
    stamps: list[datetime] = []
    for day in cal.sessions_between(date(2015, 1, 2), date(2017, 12, 29)):
        s = cal.session(day)
        stamps.extend(s.open + timedelta(minutes=i + 1) for i in range(s.minutes))
        if len(stamps) >= n:
            return stamps[:n]
    raise RuntimeError("not enough sessions")


def make_bars(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0008, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    wiggle = np.abs(rng.normal(0.0, 0.0004, n))
    return pd.DataFrame({
        "Open": open_, "High": np.maximum(open_, close) * (1 + wiggle),
        "Low": np.minimum(open_, close) * (1 - wiggle), "Close": close,
        "Volume": rng.integers(1_000, 50_000, n)},
        index=pd.DatetimeIndex(session_minutes(n), tz=UTC))


class Prebuilt:
    def __init__(self, events: list[Bar | Quote]) -> None:
        self._events = events

    def events(self):  # type: ignore[no-untyped-def]
        return iter(self._events)


def to_events(df: pd.DataFrame) -> list[Bar | Quote]:
    out: list[Bar | Quote] = []
    stamps = pd.DatetimeIndex(df.index).to_pydatetime()
    for ts, o, h, lo, c, v in zip(stamps, df.Open, df.High, df.Low, df.Close, df.Volume,
                                  strict=True):
        out.append(Bar(SYMBOL, ts, o, h, lo, c, float(v)))
        out.append(Quote(SYMBOL, ts, round(c - 0.01, 4), round(c + 0.01, 4), 10_000, 10_000,
                         SYMBOL))
    return out


def bench_settings(indicators: bool = False) -> Settings:
    """The reference rule on the live path; rules a bare crossover has no notion of are off
    (session windows, streak cooldowns, the underlying-volume check), everything else on.
    The indicator registry (21 indicators on 1m-1d, 61 candle patterns on 5m) is off unless
    asked for: `sma_cross` reads none of it."""
    extra: dict[str, Any] = {} if indicators else {
        "indicators": {"specs": [], "candle_timeframes": [], "symbols": []}}
    return Settings(
        strategies={"sma_cross": {"fast": FAST, "slow": SLOW}},
        risk={"disabled_rules": ["volume", "session_window", "losing_streak",
                                 "duplicate_order"], "max_position_pct": 0.5},
        orders={"flatten_before_close_minutes": 0},
        paper={"commission_per_contract": 0.0},
        execution={"entry": {"style": "natural"}, "take_profit": {"style": "natural"}},
        **extra)


def ours(df: pd.DataFrame, indicators: bool = False) -> tuple[float, int, int]:
    events = to_events(df)
    days = sorted({d.date() for d in pd.DatetimeIndex(df.index).tz_convert("America/New_York")})
    data = BacktestData(Prebuilt(events), days, [SYMBOL], "benchmark bars")
    start = time.perf_counter()
    result = run(bench_settings(indicators), data)
    elapsed = time.perf_counter() - start
    entries = sum(1 for f in result.fill_log if f["side"] == "buy")
    return elapsed, entries, len(result.trades)


def python_loop(close: list[float]) -> tuple[float, int]:
    start = time.perf_counter()
    fast_sum = slow_sum = 0.0
    above: bool | None = None
    held, entries = False, 0
    for i, c in enumerate(close):
        fast_sum += c
        slow_sum += c
        if i >= FAST:
            fast_sum -= close[i - FAST]
        if i >= SLOW:
            slow_sum -= close[i - SLOW]
        if i < SLOW - 1:
            continue
        now = fast_sum / FAST > slow_sum / SLOW
        if above is not None and now != above:
            if now and not held:
                held, entries = True, entries + 1
            elif not now and held:
                held = False
        above = now
    return time.perf_counter() - start, entries


def numpy_reference(close: np.ndarray) -> tuple[float, int]:
    start = time.perf_counter()
    csum = np.concatenate([[0.0], np.cumsum(close)])
    fast = (csum[FAST:] - csum[:-FAST]) / FAST
    slow = (csum[SLOW:] - csum[:-SLOW]) / SLOW
    above = fast[SLOW - FAST:] > slow
    ups = np.flatnonzero(~above[:-1] & above[1:])  # long-only crossings alternate
    entries = len(ups)
    return time.perf_counter() - start, entries


def peers(df: pd.DataFrame) -> list[dict[str, Any]]:
    if not PEERS.exists():
        print("  peers: /tmp/peers not found. To compare, run: python3 -m venv /tmp/peers && "
              "/tmp/peers/bin/pip install backtesting backtrader nautilus_trader")
        return []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bars.csv"
        frame = df.copy()
        frame.index = pd.DatetimeIndex(frame.index).tz_convert(None)
        frame.to_csv(path)
        proc = subprocess.run([str(PEERS), str(ROOT / "bench" / "peer_sma.py"), str(path),
                               str(FAST), str(SLOW)], capture_output=True, text=True,
                              timeout=600, check=False)
    out = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 and not out:
        print(f"  peers failed: {proc.stderr.strip()[-300:]}")
    return out


def goog_day() -> None:
    data_dir = ROOT / "data" / "replay"
    with tempfile.TemporaryDirectory() as fresh:  # a copy never read before: the CSV parse
        for path in data_dir.glob("GOOG_*.csv.gz"):
            shutil.copy(path, fresh)
        t0 = time.perf_counter()
        sum(1 for _ in load_data(Path(fresh)).source.events())
        parse_s = time.perf_counter() - t0
    load_data(data_dir)  # make sure the parsed copies beside the shipped data exist
    t0 = time.perf_counter()
    feed_events = sum(1 for _ in load_data(data_dir).source.events())
    feed_s = time.perf_counter() - t0
    # the demo scalping strategy with entries at the natural price (the default smart policy's
    # 10-second steps never fill on minute-stamped data, which would time a path with no fills)
    settings = Settings(execution={"entry": {"style": "natural"}})
    result = run(settings, data_dir)  # warm: imports, calendar
    t0 = time.perf_counter()
    result = run(settings, data_dir)
    total = time.perf_counter() - t0
    print(f"GOOG 2015-12-24 full chain: {result.events:,} events through the full path in "
          f"{total:.2f} s ({result.events / total:,.0f} events/s; goal < 2 s); the feed alone "
          f"(parsed copies + ordered release) {feed_s:.2f} s for {feed_events:,} events, "
          f"{parse_s:.2f} s the first time (CSV parse, copies written); "
          f"{result.fills} fills, {result.dropped_quotes:,} bad quotes dropped")
    prof = cProfile.Profile()
    prof.enable()
    run(settings, data_dir)
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in text.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    print("  hot spots (cProfile, by own time):")
    for ln in lines[start:start + 13]:
        print("   ", ln[:150])


def main() -> None:
    df = make_bars(N_BARS)
    print(f"{N_BARS:,} one-minute bars, SMA {FAST}/{SLOW} crossover, long only, 1 unit")
    t_np, n_np = numpy_reference(df.Close.to_numpy())
    t_py, n_py = python_loop(df.Close.tolist())
    t_us, n_us, closed = ours(df)
    rows = [("numpy reference (the limit)", N_BARS, t_np, n_np),
            ("plain Python loop", N_BARS, t_py, n_py),
            ("TradeFly full live path", N_BARS, t_us, n_us)]
    peer_rows = []
    for peer in peers(df):
        if "error" in peer:
            print(f"  {peer['engine']}: not available ({peer['error']})")
            continue
        peer_rows.append((str(peer["engine"]), N_BARS, float(peer["seconds"]),
                          int(peer["trades"])))
    n_ind = N_BARS // 10
    t_ind, n_ind_entries, _ = ours(df.iloc[:n_ind], indicators=True)
    rows += [*peer_rows, (f"TradeFly, default indicators on ({n_ind:,} bars)", n_ind, t_ind,
                          n_ind_entries)]
    print(f"{'engine':44s} {'seconds':>9s} {'bars/s':>12s} {'entries':>8s}")
    for name, bars, secs, entries in rows:
        rate = bars / secs if secs > 0 else math.inf
        print(f"{name:44s} {secs:9.3f} {rate:12,.0f} {entries:8d}")
    print(f"  (TradeFly: {closed} round trips closed; entries differ from the references only "
          "where the risk gate or the session close refuses an entry)")
    goals = {"backtesting.py": 2.0, "backtrader": 10.0, "NautilusTrader": 10.0}
    for name, _bars, secs, _entries in peer_rows:
        if name in goals:
            ratio = secs / t_us
            print(f"  TradeFly vs {name}: {ratio:.2f}x its bars/s (goal >= {goals[name]:g}x: "
                  f"{'met' if ratio >= goals[name] else 'missed'})")
    missing = sorted(set(goals) - {r[0] for r in peer_rows})
    if missing:
        print(f"  not measured this run: {', '.join(missing)}")
    goog_day()


if __name__ == "__main__":
    main()
