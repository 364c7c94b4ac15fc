"""Monte Carlo: how lucky was the backtest? Distributions of P&L and drawdown, and the chance of
hitting the daily-loss breaker, from two resampling schemes.

- **Trade resampling**: the closed trades' net P&L drawn with replacement, as many as the
  backtest had, dealt into days of the backtest's own trades-per-day counts. It breaks any
  order in the sequence (streaks, regimes) and asks what the same edge gives in another order.
  The breaker is judged on closed-trade P&L within each day.
- **Block bootstrap of days**: whole days (P&L and intraday low, from the equity curve) drawn in
  circular blocks of `block_days`, which keeps some day-to-day dependence. The breaker is judged
  on each day's intraday low against that day's opening equity, as the live breaker does.

Runs are split into a fixed number of chunks with seeds spawned from one seed, so the figures
are the same whether the chunks run in-line, in local processes or on a Dask cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtest.parallel import parallel_map
from backtest.trades import TradeRecord
from market.calendar import NEW_YORK

CHUNKS = 8


@dataclass(frozen=True)
class Distribution:
    mean: float
    p5: float
    p50: float
    p95: float

    @classmethod
    def of(cls, values: np.ndarray) -> Distribution:
        p5, p50, p95 = np.percentile(values, [5, 50, 95])
        return cls(float(np.mean(values)), float(p5), float(p50), float(p95))


@dataclass(frozen=True)
class MonteCarloResult:
    method: str
    runs: int
    days: int
    final_pnl: Distribution
    max_drawdown: Distribution
    probability_of_loss: float
    probability_breaker_any_day: float  # at least one breaker day over the horizon
    breaker_day_rate: float  # share of all simulated days that hit the breaker

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Chunk:
    """One batch of paths (picklable: it may run on another machine)."""

    values: np.ndarray  # trade P&Ls, or day P&Ls
    lows: np.ndarray  # day method: intraday low vs the open (<= 0); trade method: unused
    day_sizes: tuple[int, ...]  # trade method: trades per day
    starting_equity: float
    limit_pct: float
    block: int
    runs: int
    seed: np.random.SeedSequence


def trade_pnls_by_day(trades: Sequence[TradeRecord]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Net P&L of each trade in exit order, and how many closed on each day."""
    ordered = sorted(trades, key=lambda t: t.exit_ts)
    days = [t.exit_ts.astimezone(NEW_YORK).date() for t in ordered]
    sizes = tuple(int(n) for n in pd.Series(days).value_counts(sort=False).sort_index())
    return np.array([t.net_pnl for t in ordered], dtype=float), sizes


def day_stats(equity: pd.Series, starting_equity: float) -> tuple[np.ndarray, np.ndarray]:
    """Per New York day: P&L (close - previous close) and intraday low minus the open."""
    if equity.empty:
        return np.array([]), np.array([])
    days = pd.DatetimeIndex(equity.index).tz_convert(NEW_YORK).date
    grouped = equity.groupby(days)
    closes, lows = grouped.last(), grouped.min()
    opens = closes.shift(1).fillna(starting_equity)
    return ((closes - opens).to_numpy(dtype=float),
            np.minimum((lows - opens).to_numpy(dtype=float), 0.0))


def resample_trades(pnls: np.ndarray, day_sizes: Sequence[int], starting_equity: float,
                    limit_pct: float, runs: int, seed: int, *, scheduler: str | None = None,
                    n_jobs: int = 1) -> MonteCarloResult:
    if len(pnls) == 0:
        raise ValueError("trade resampling needs at least one closed trade")
    chunks = _chunks(pnls, np.array([]), tuple(day_sizes), starting_equity, limit_pct, 1, runs,
                     seed)
    parts = parallel_map(_trade_paths, chunks, scheduler=scheduler, n_jobs=n_jobs)
    return _summarize("trade resampling", parts, len(day_sizes))


def bootstrap_days(day_pnls: np.ndarray, day_lows: np.ndarray, starting_equity: float,
                   limit_pct: float, runs: int, seed: int, block: int = 2, *,
                   scheduler: str | None = None, n_jobs: int = 1) -> MonteCarloResult:
    if len(day_pnls) == 0:
        raise ValueError("the day bootstrap needs at least one day")
    chunks = _chunks(day_pnls, day_lows, (), starting_equity, limit_pct,
                     min(block, len(day_pnls)), runs, seed)
    parts = parallel_map(_day_paths, chunks, scheduler=scheduler, n_jobs=n_jobs)
    return _summarize(f"block bootstrap of days (block {min(block, len(day_pnls))})", parts,
                      len(day_pnls))


def _chunks(values: np.ndarray, lows: np.ndarray, sizes: tuple[int, ...], start: float,
            limit: float, block: int, runs: int, seed: int) -> list[_Chunk]:
    seeds = np.random.SeedSequence(seed).spawn(CHUNKS)
    counts = [runs // CHUNKS + (1 if i < runs % CHUNKS else 0) for i in range(CHUNKS)]
    return [_Chunk(values, lows, sizes, start, limit, block, n, s)
            for n, s in zip(counts, seeds, strict=True) if n > 0]


Paths = tuple[np.ndarray, np.ndarray, np.ndarray]  # final P&L, max drawdown, breaker days


def _trade_paths(chunk: _Chunk) -> Paths:
    rng = np.random.default_rng(chunk.seed)
    n = len(chunk.values)
    draws = chunk.values[rng.integers(0, n, size=(chunk.runs, sum(chunk.day_sizes)))]
    cum = np.cumsum(draws, axis=1)
    peaks = np.maximum.accumulate(np.maximum(cum, 0.0), axis=1)
    drawdown = np.max(peaks - cum, axis=1)
    hits = np.zeros((chunk.runs, len(chunk.day_sizes)), dtype=bool)
    begin = 0
    for d, size in enumerate(chunk.day_sizes):
        before = cum[:, begin - 1] if begin > 0 else np.zeros(chunk.runs)
        intraday = cum[:, begin:begin + size] - before[:, None]
        opening = chunk.starting_equity + before
        hits[:, d] = intraday.min(axis=1) <= -chunk.limit_pct * opening
        begin += size
    return cum[:, -1], np.maximum(drawdown, 0.0), hits


def _day_paths(chunk: _Chunk) -> Paths:
    rng = np.random.default_rng(chunk.seed)
    n, block = len(chunk.values), chunk.block
    blocks = -(-n // block)
    starts = rng.integers(0, n, size=(chunk.runs, blocks))
    idx = ((starts[:, :, None] + np.arange(block)) % n).reshape(chunk.runs, -1)[:, :n]
    pnl, low = chunk.values[idx], chunk.lows[idx]
    cum = np.cumsum(pnl, axis=1)
    before = cum - pnl
    troughs = before + low
    peak_before = np.maximum.accumulate(np.maximum(before, 0.0), axis=1)
    drawdown = np.max(peak_before - troughs, axis=1)
    hits = low <= -chunk.limit_pct * (chunk.starting_equity + before)
    return cum[:, -1], np.maximum(drawdown, 0.0), hits


def _summarize(method: str, parts: list[Paths], days: int) -> MonteCarloResult:
    final = np.concatenate([p[0] for p in parts])
    drawdown = np.concatenate([p[1] for p in parts])
    hits = np.concatenate([p[2] for p in parts])
    return MonteCarloResult(
        method=method, runs=len(final), days=days, final_pnl=Distribution.of(final),
        max_drawdown=Distribution.of(drawdown),
        probability_of_loss=float(np.mean(final < 0)),
        probability_breaker_any_day=float(np.mean(hits.any(axis=1))) if hits.size else 0.0,
        breaker_day_rate=float(np.mean(hits)) if hits.size else 0.0)
