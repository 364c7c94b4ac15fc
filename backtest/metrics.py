"""Performance metrics: pure functions over the trade list and the equity curve.

Definitions (the tests check each against a hand computation):
- a trade wins when its net P&L (after fees) is > 0 and loses when it is < 0;
- profit factor = gross won / gross lost (over net trade P&L); expectancy = mean net P&L;
- daily P&L = a day's last equity minus the previous day's (the first day: minus the start);
- Sharpe and Sortino use daily returns (daily P&L / the day's opening equity), annualized by
  sqrt(252); Sortino's downside deviation is sqrt(mean(min(r, 0)^2)) over all days;
- drawdown is measured on the per-minute equity curve; its duration is the longest wall time
  from a peak until equity first gets back to it (or the end of the data);
- exposure is the share of sampled minutes with at least one position open.
Undefined values (no trades, one day for Sharpe) are None, never a misleading 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from backtest.trades import TradeRecord
from market.calendar import NEW_YORK

TRADING_DAYS = 252


def net_pnl(trades: Sequence[TradeRecord]) -> float:
    return float(sum(t.net_pnl for t in trades))


def win_rate(trades: Sequence[TradeRecord]) -> float | None:
    return sum(1 for t in trades if t.net_pnl > 0) / len(trades) if trades else None


def average_win(trades: Sequence[TradeRecord]) -> float | None:
    wins = [t.net_pnl for t in trades if t.net_pnl > 0]
    return sum(wins) / len(wins) if wins else None


def average_loss(trades: Sequence[TradeRecord]) -> float | None:
    losses = [t.net_pnl for t in trades if t.net_pnl < 0]
    return sum(losses) / len(losses) if losses else None


def profit_factor(trades: Sequence[TradeRecord]) -> float | None:
    won = sum(t.net_pnl for t in trades if t.net_pnl > 0)
    lost = -sum(t.net_pnl for t in trades if t.net_pnl < 0)
    if lost == 0:
        return math.inf if won > 0 else None
    return won / lost


def expectancy(trades: Sequence[TradeRecord]) -> float | None:
    return net_pnl(trades) / len(trades) if trades else None


def costs_paid(trades: Sequence[TradeRecord]) -> float:
    return float(sum(t.fees for t in trades))


def average_hold(trades: Sequence[TradeRecord]) -> timedelta | None:
    if not trades:
        return None
    return timedelta(seconds=sum(t.hold_seconds for t in trades) / len(trades))


def daily_pnl(equity: pd.Series, starting_equity: float) -> pd.Series:
    """P&L of each New York trading day in the curve, indexed by date."""
    if equity.empty:
        return pd.Series(dtype=float)
    days = pd.DatetimeIndex(equity.index).tz_convert(NEW_YORK).date
    closes = equity.groupby(days).last()
    opens = closes.shift(1).fillna(starting_equity)
    return (closes - opens).rename("daily_pnl")


def daily_returns(equity: pd.Series, starting_equity: float) -> pd.Series:
    """Each day's P&L over that day's opening equity (the previous day's close)."""
    pnl = daily_pnl(equity, starting_equity)
    closes = pnl.cumsum() + starting_equity
    opens = closes.shift(1).fillna(starting_equity)
    return (pnl / opens).rename("daily_return")


def sharpe(returns: Sequence[float] | pd.Series, risk_free_annual: float = 0.0) -> float | None:
    r = np.asarray(returns, dtype=float) - risk_free_annual / TRADING_DAYS
    if r.size < 2:
        return None
    sd = float(np.std(r, ddof=1))
    return None if sd == 0 else float(np.mean(r) / sd * math.sqrt(TRADING_DAYS))


def sortino(returns: Sequence[float] | pd.Series, risk_free_annual: float = 0.0) -> float | None:
    r = np.asarray(returns, dtype=float) - risk_free_annual / TRADING_DAYS
    if r.size < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return None if downside == 0 else float(np.mean(r) / downside * math.sqrt(TRADING_DAYS))


@dataclass(frozen=True)
class Drawdown:
    dollars: float
    fraction: float  # of the peak it fell from
    duration: timedelta  # longest time under water


def max_drawdown(equity: pd.Series) -> Drawdown:
    if equity.empty:
        return Drawdown(0.0, 0.0, timedelta(0))
    values = equity.to_numpy(dtype=float)
    peaks = np.maximum.accumulate(values)
    under = peaks - values
    i = int(np.argmax(under))
    fraction = float(under[i] / peaks[i]) if peaks[i] > 0 else 0.0
    duration = _longest_under_water(pd.DatetimeIndex(equity.index), values, peaks)
    return Drawdown(float(under[i]), fraction, duration)


def _longest_under_water(index: pd.DatetimeIndex, values: np.ndarray,
                         peaks: np.ndarray) -> timedelta:
    longest, start, prev = timedelta(0), None, index[0]
    for ts, value, peak in zip(index, values, peaks, strict=True):
        if value < peak and start is None:
            start = prev
        elif value >= peak and start is not None:
            longest, start = max(longest, ts - start), None
        prev = ts
    if start is not None:
        longest = max(longest, index[-1] - start)
    return pd.Timedelta(longest).to_pytimedelta()


def exposure(trades: Sequence[TradeRecord], samples: pd.DatetimeIndex) -> float | None:
    """Share of sampled minutes with a position open (a sample at t covers (t-1m, t])."""
    if len(samples) == 0:
        return None
    stamps = samples.asi8
    held = np.zeros(len(stamps), dtype=bool)
    for t in trades:
        lo = np.searchsorted(stamps, pd.Timestamp(t.entry_ts).value, side="right")
        hi = np.searchsorted(stamps, pd.Timestamp(t.exit_ts).value, side="left")
        held[lo:hi + 1] = True
    return float(held.mean())


def confidence_bucket(confidence: float | None, edges: Sequence[float]) -> str:
    """'0.60–0.70' style label of a confidence, with open ends below and above the edges."""
    if confidence is None:
        return "no signal"
    cuts = sorted(edges)
    if confidence < cuts[0]:
        return f"<{cuts[0]:.2f}"
    for lo, hi in pairwise(cuts):
        if lo <= confidence < hi:
            return f"{lo:.2f}–{hi:.2f}"
    return f"≥{cuts[-1]:.2f}"


def breakdown(trades: Sequence[TradeRecord], key: Callable[[TradeRecord], str],
              order: Callable[[str], Any] | None = None) -> dict[str, dict[str, Any]]:
    """Trade statistics per group, groups sorted by `order` (default: by name)."""
    groups: dict[str, list[TradeRecord]] = defaultdict(list)
    for t in trades:
        groups[key(t)].append(t)
    return {name: {"trades": len(g), "net_pnl": net_pnl(g), "win_rate": win_rate(g),
                   "profit_factor": profit_factor(g), "expectancy": expectancy(g)}
            for name, g in sorted(groups.items(), key=lambda kv: (
                order(kv[0]) if order else kv[0]))}


def _bucket_order(label: str) -> float:
    """Sort confidence buckets low to high ('no signal' last)."""
    if label == "no signal":
        return math.inf
    digits = label.lstrip("<≥").split("–")[0]
    return float(digits) - (0.001 if label.startswith("<") else 0.0)


def pnl_by_hour(trades: Sequence[TradeRecord]) -> dict[int, float]:
    """Net P&L by the New York hour the trade was entered."""
    out: dict[int, float] = defaultdict(float)
    for t in trades:
        out[t.entry_ts.astimezone(NEW_YORK).hour] += t.net_pnl
    return dict(sorted(out.items()))


@dataclass
class Metrics:
    """The numbers of one backtest; `to_dict` is what `--json` prints."""

    net_pnl: float
    days: int
    pnl_per_day: float | None
    daily_target: float
    days_at_target: int
    trades: int
    trades_per_day: float | None
    win_rate: float | None
    average_win: float | None
    average_loss: float | None
    profit_factor: float | None
    expectancy: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_pct: float
    max_drawdown_duration: timedelta
    exposure: float | None
    average_hold: timedelta | None
    costs_paid: float
    return_pct: float
    by_strategy: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_confidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_exit: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_hour: dict[int, float] = field(default_factory=dict)
    daily: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, timedelta):
                out[key] = value.total_seconds()
            elif isinstance(value, float) and math.isinf(value):
                out[key] = "inf"
        out["max_drawdown_duration_seconds"] = out.pop("max_drawdown_duration")
        out["average_hold_seconds"] = out.pop("average_hold")
        for group in ("by_strategy", "by_confidence", "by_exit"):
            for row in out[group].values():
                if isinstance(row.get("profit_factor"), float) and math.isinf(
                        row["profit_factor"]):
                    row["profit_factor"] = "inf"
        return out


def compute(trades: Sequence[TradeRecord], equity: pd.Series, starting_equity: float,
            daily_target: float = 300.0, confidence_edges: Sequence[float] = (0.5, 0.7, 0.9),
            risk_free_annual: float = 0.0) -> Metrics:
    per_day = daily_pnl(equity, starting_equity)
    returns = daily_returns(equity, starting_equity)
    dd = max_drawdown(equity)
    n_days = len(per_day)
    end = float(equity.iloc[-1]) if len(equity) else starting_equity
    return Metrics(
        net_pnl=end - starting_equity, days=n_days,
        pnl_per_day=float(per_day.mean()) if n_days else None, daily_target=daily_target,
        days_at_target=int((per_day >= daily_target).sum()), trades=len(trades),
        trades_per_day=len(trades) / n_days if n_days else None, win_rate=win_rate(trades),
        average_win=average_win(trades), average_loss=average_loss(trades),
        profit_factor=profit_factor(trades), expectancy=expectancy(trades),
        sharpe=sharpe(returns, risk_free_annual), sortino=sortino(returns, risk_free_annual),
        max_drawdown=dd.dollars, max_drawdown_pct=dd.fraction,
        max_drawdown_duration=dd.duration,
        exposure=exposure(trades, pd.DatetimeIndex(equity.index)),
        average_hold=average_hold(trades), costs_paid=costs_paid(trades),
        return_pct=(end - starting_equity) / starting_equity,
        by_strategy=breakdown(trades, lambda t: t.strategy),
        by_confidence=breakdown(trades, lambda t: confidence_bucket(t.confidence,
                                                                    confidence_edges),
                                _bucket_order),
        by_exit=breakdown(trades, lambda t: t.exit_reason), by_hour=pnl_by_hour(trades),
        daily={str(d): float(v) for d, v in per_day.items()})
