"""Walk-forward optimization: choose config values on past sessions, judge them on the next.

The sessions are cut into rolling windows of `in_sample_days` followed by `out_of_sample_days`;
the window moves on by the out-of-sample length, so every out-of-sample day is tested exactly
once, by values chosen without it. In each window every combination of the candidate values
(`[backtest.walk_forward] params`) is backtested in-sample, the best by the objective wins, and
the winner alone runs out-of-sample. The out-of-sample results are reported per window and
stitched into one track record: that, not the in-sample best, is the estimate to believe.
Every run is a full `backtest.runner.run`, in parallel (`backtest.parallel`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

import backtest.sma_cross  # noqa: F401  (workers register the reference strategy too)
from backtest import metrics as metric_fns
from backtest.parallel import parallel_map
from backtest.runner import run
from backtest.trades import TradeRecord
from bot.config import Settings
from strategies.registry import registered


@dataclass(frozen=True)
class Window:
    number: int
    in_sample: tuple[date, ...]
    out_of_sample: tuple[date, ...]


@dataclass(frozen=True)
class Task:
    """One backtest to run somewhere: picklable, self-contained."""

    settings: Settings
    data: Path
    days: tuple[date, ...]
    overrides: tuple[tuple[str, Any], ...]
    objective: str


@dataclass
class Outcome:
    overrides: dict[str, Any]
    score: float
    net_pnl: float
    trades: list[TradeRecord]
    equity: pd.Series
    daily: dict[str, float]


@dataclass
class WindowResult:
    window: Window
    chosen: dict[str, Any]
    in_sample_score: float
    in_sample_scores: list[tuple[dict[str, Any], float]]
    out_of_sample: Outcome


@dataclass
class WalkForwardResult:
    objective: str
    windows: list[WindowResult]
    trades: list[TradeRecord] = field(default_factory=list)
    equity: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    metrics: metric_fns.Metrics | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "windows": [{
                "window": w.window.number,
                "in_sample": [d.isoformat() for d in w.window.in_sample],
                "out_of_sample": [d.isoformat() for d in w.window.out_of_sample],
                "chosen": w.chosen, "in_sample_score": _finite(w.in_sample_score),
                "candidates": [{"params": p, "score": _finite(s)}
                               for p, s in w.in_sample_scores],
                "out_of_sample_score": _finite(w.out_of_sample.score),
                "out_of_sample_net_pnl": w.out_of_sample.net_pnl,
                "out_of_sample_trades": len(w.out_of_sample.trades),
            } for w in self.windows],
            "stitched_out_of_sample": None if self.metrics is None else self.metrics.to_dict(),
        }


def rolling_windows(days: list[date], in_sample: int, out_of_sample: int) -> list[Window]:
    """Windows [i, i+in) then [i+in, i+in+out), stepping by `out_of_sample`."""
    out: list[Window] = []
    start = 0
    while start + in_sample + out_of_sample <= len(days):
        out.append(Window(len(out) + 1, tuple(days[start:start + in_sample]),
                          tuple(days[start + in_sample:start + in_sample + out_of_sample])))
        start += out_of_sample
    return out


def grid(params: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the candidate values (one empty combination when none)."""
    names = sorted(params)
    return [dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(params[n] for n in names))]


def with_overrides(settings: Settings, overrides: dict[str, Any]) -> Settings:
    """The settings with dotted fields replaced (`strategies.sma_cross.fast`), re-validated so
    a bad value fails with its field name. The environment is not read again."""
    data = settings.model_dump()
    for dotted, value in overrides.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                raise ValueError(f"{dotted}: no such config section {key!r}")
            node = node[key]
        if leaf not in node and parents[:1] != ["strategies"]:
            raise ValueError(f"{dotted}: unknown config field")
        node[leaf] = value
    settings = Settings.model_validate(data)
    known = registered()
    for name, section in settings.strategies.items():
        if name in known:
            try:
                known[name].config.model_validate(section)
            except ValidationError as exc:
                raise ValueError(f"strategies.{name}: {exc}") from exc
    return settings


def evaluate(task: Task) -> Outcome:
    """Run one backtest and score it (a top-level function: it runs in worker processes)."""
    overrides = dict(task.overrides)
    settings = with_overrides(task.settings, overrides)
    result = run(settings, task.data, task.days[0], task.days[-1])
    m = metric_fns.compute(result.trades, result.equity, result.starting_equity,
                           settings.backtest.daily_pnl_target)
    raw = getattr(m, task.objective)
    score = -math.inf if raw is None or (isinstance(raw, float) and math.isnan(raw)) else raw
    return Outcome(overrides, float(score), m.net_pnl, result.trades, result.equity - (
        result.starting_equity), m.daily)


def sweep(settings: Settings, data: Path, days: list[date], params: dict[str, list[Any]],
          objective: str = "net_pnl") -> list[Outcome]:
    """Backtest every combination of `params` over the same days, in parallel; best first."""
    candidates = grid(params)
    for combo in candidates:
        with_overrides(settings, combo)
    tasks = [Task(settings, data, tuple(days), tuple(c.items()), objective) for c in candidates]
    cfg = settings.backtest
    results = parallel_map(evaluate, tasks, scheduler=cfg.scheduler, n_jobs=cfg.n_jobs)
    return sorted(results, key=lambda o: o.score, reverse=True)


def walk_forward(settings: Settings, data: Path, days: list[date]) -> WalkForwardResult:
    cfg = settings.backtest
    wf = cfg.walk_forward
    windows = rolling_windows(days, wf.in_sample_days, wf.out_of_sample_days)
    if not windows:
        raise ValueError(f"walk-forward needs at least {wf.in_sample_days + wf.out_of_sample_days}"
                         f" sessions ({wf.in_sample_days} in-sample + {wf.out_of_sample_days} "
                         f"out-of-sample); the data has {len(days)}")
    candidates = grid(wf.params)
    for combo in candidates:  # fail fast, here, on a bad field or value
        with_overrides(settings, combo)
    in_tasks = [Task(settings, data, w.in_sample, tuple(c.items()), wf.objective)
                for w in windows for c in candidates]
    in_results = parallel_map(evaluate, in_tasks, scheduler=cfg.scheduler, n_jobs=cfg.n_jobs)
    chosen: list[tuple[dict[str, Any], float, list[tuple[dict[str, Any], float]]]] = []
    for i in range(len(windows)):
        scored = in_results[i * len(candidates):(i + 1) * len(candidates)]
        best = max(scored, key=lambda o: o.score)  # ties: the first candidate in grid order
        chosen.append((best.overrides, best.score, [(o.overrides, o.score) for o in scored]))
    out_tasks = [Task(settings, data, w.out_of_sample, tuple(c[0].items()), wf.objective)
                 for w, c in zip(windows, chosen, strict=True)]
    out_results = parallel_map(evaluate, out_tasks, scheduler=cfg.scheduler, n_jobs=cfg.n_jobs)
    result = WalkForwardResult(wf.objective, [
        WindowResult(w, c[0], c[1], c[2], o)
        for w, c, o in zip(windows, chosen, out_results, strict=True)])
    _stitch(result, settings)
    return result


def _stitch(result: WalkForwardResult, settings: Settings) -> None:
    """One out-of-sample track record: each window's P&L path continues from the last."""
    start = settings.paper.starting_cash
    pieces, offset = [], start
    for w in result.windows:
        path = w.out_of_sample.equity
        if path.empty:
            continue
        pieces.append(path + offset)
        offset += float(path.iloc[-1])
        result.trades.extend(w.out_of_sample.trades)
    result.equity = pd.concat(pieces) if pieces else pd.Series(dtype=float)
    result.metrics = metric_fns.compute(result.trades, result.equity, start,
                                        settings.backtest.daily_pnl_target,
                                        settings.backtest.confidence_buckets,
                                        settings.backtest.risk_free_rate)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
