"""`tradefly backtest`: what the command line calls (bot/cli.py owns the argument parsing).

Exit codes: 0 done, 2 a bad config or data path (the message says which field or file).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from backtest import metrics as metric_fns
from backtest import montecarlo as mc
from backtest.data import BacktestData, DataError, load_data
from backtest.parallel import ClusterUnavailable
from backtest.report import money, write_html, write_json
from backtest.runner import BacktestResult, run
from backtest.tables import TableError
from backtest.walkforward import walk_forward
from bot.config import ConfigError, Settings, load_settings
from strategies.registry import StrategyConfigError


def backtest_command(config: Path | None, data: Path | None = None, start: date | None = None,
                     end: date | None = None, json_out: Path | None = None,
                     report_out: Path | None = None, console: Console | None = None) -> int:
    """Run a backtest of `config` over `data` (default: the config's replay folder) between
    `start` and `end`, print the headline metrics, and write the JSON and HTML if asked."""
    console = console or Console(stderr=True)
    try:
        settings = load_settings(config)
        loaded = load_data(data or settings.replay.folder, start, end)
    except (ConfigError, DataError, TableError) as exc:
        console.print(f"[red]backtest: {exc}[/red]")
        return 2
    try:
        result = _run_with_progress(settings, loaded, console)
    except StrategyConfigError as exc:
        console.print(f"[red]backtest: {exc}[/red]")
        return 2
    cfg = settings.backtest
    metrics = metric_fns.compute(result.trades, result.equity, result.starting_equity,
                                 cfg.daily_pnl_target, cfg.confidence_buckets,
                                 cfg.risk_free_rate)
    _print_summary(console, result, metrics)
    if json_out is not None:
        write_json(json_out, result, metrics)
        console.print(f"metrics and trades written to {json_out}")
    if report_out is not None:
        title = f"TradeFly backtest — {', '.join(loaded.underlyings)} " \
                f"{loaded.days[0]}…{loaded.days[-1]}"
        write_html(report_out, result, metrics, title)
        console.print(f"report written to {report_out}")
    return 0


def _run_with_progress(settings: Settings, loaded: BacktestData,
                       console: Console) -> BacktestResult:
    if not console.is_terminal:
        return run(settings, loaded)
    columns = (TextColumn("[bold]backtest[/bold] {task.description}"), BarColumn(),
               MofNCompleteColumn(), TextColumn("days"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=len(loaded.days))
        seen: set[date] = set()

        def on_day(day: date) -> None:
            if day not in seen:
                seen.add(day)
                bar.update(task, completed=len(seen) - 1, description=day.isoformat())

        result = run(settings, loaded, progress=on_day)
        bar.update(task, completed=len(loaded.days))
    return result


def _print_summary(console: Console, result: BacktestResult,
                   m: metric_fns.Metrics) -> None:
    table = Table(title=f"Backtest: {result.data_description}", show_header=False)
    for name, value in (
            ("net P&L", f"{money(m.net_pnl)} ({m.return_pct:.2%})"),
            ("P&L per day", "n/a" if m.pnl_per_day is None else
             f"{money(m.pnl_per_day)} (target {money(m.daily_target)}; "
             f"{m.days_at_target}/{m.days} days reached it)"),
            ("trades", f"{m.trades} ({'n/a' if m.win_rate is None else f'{m.win_rate:.0%}'}"
                       " won)"),
            ("profit factor", "n/a" if m.profit_factor is None else f"{m.profit_factor:.2f}"),
            ("max drawdown", f"{money(m.max_drawdown)} ({m.max_drawdown_pct:.2%})"),
            ("costs paid", money(m.costs_paid)),
            ("events", f"{result.events:,} in {result.elapsed_seconds:.1f} s")):
        table.add_row(name, value)
    console.print(table)
    if result.orders and not result.fills and result.entry_style == "smart":
        console.print("[yellow]orders were sent but none filled: the default smart entry "
                      "steps from the mid every few seconds, which minute-stamped data cannot "
                      "show; try [execution.entry] style = \"natural\"[/yellow]")
    if result.open_at_end:
        console.print(f"[yellow]{result.open_at_end} position(s) still open at the end of the "
                      "data: marked at the liquidation side, not in the trade list[/yellow]")


def walkforward_command(config: Path | None, data: Path | None = None,
                        start: date | None = None, end: date | None = None,
                        json_out: Path | None = None, console: Console | None = None) -> int:
    """`tradefly backtest --walk-forward`: the `[backtest.walk_forward]` search, rolling, with
    the stitched out-of-sample result printed (and written as JSON if asked)."""
    console = console or Console(stderr=True)
    try:
        settings = load_settings(config)
        loaded = load_data(data or settings.replay.folder, start, end)
        result = walk_forward(settings, data or settings.replay.folder, loaded.days)
    except (ConfigError, DataError, TableError, StrategyConfigError, ValueError,
            ClusterUnavailable) as exc:
        console.print(f"[red]walk-forward: {exc}[/red]")
        return 2
    table = Table(title=f"Walk-forward ({result.objective}), out-of-sample per window")
    for col in ("window", "in-sample", "chosen", "in-sample score", "out-of-sample",
                "OOS net P&L", "OOS trades"):
        table.add_column(col)
    for w in result.windows:
        table.add_row(str(w.window.number),
                      f"{w.window.in_sample[0]}…{w.window.in_sample[-1]}",
                      ", ".join(f"{k.split('.')[-1]}={v}" for k, v in w.chosen.items()) or "-",
                      f"{w.in_sample_score:,.2f}",
                      f"{w.window.out_of_sample[0]}…{w.window.out_of_sample[-1]}",
                      money(w.out_of_sample.net_pnl), str(len(w.out_of_sample.trades)))
    console.print(table)
    if result.metrics is not None:
        m = result.metrics
        console.print(f"stitched out-of-sample: {money(m.net_pnl)} over {m.days} day(s), "
                      f"{m.trades} trades, max drawdown {money(m.max_drawdown)}")
    if json_out is not None:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str) + "\n")
    return 0


def montecarlo_command(config: Path | None, data: Path | None = None,
                       start: date | None = None, end: date | None = None,
                       json_out: Path | None = None, console: Console | None = None) -> int:
    """`tradefly backtest --monte-carlo`: one backtest, then both resampling schemes."""
    console = console or Console(stderr=True)
    try:
        settings = load_settings(config)
        loaded = load_data(data or settings.replay.folder, start, end)
        result = _run_with_progress(settings, loaded, console)
        report = monte_carlo(settings, result)
    except (ConfigError, DataError, TableError, StrategyConfigError, ValueError,
            ClusterUnavailable) as exc:
        console.print(f"[red]monte-carlo: {exc}[/red]")
        return 2
    table = Table(title=f"Monte Carlo ({settings.backtest.monte_carlo.runs:,} paths each)")
    for col in ("method", "P&L p5", "P&L p50", "P&L p95", "max DD p50", "max DD p95",
                "P(loss)", "P(breaker on some day)", "breaker days"):
        table.add_column(col)
    for r in report:
        table.add_row(r.method, money(r.final_pnl.p5), money(r.final_pnl.p50),
                      money(r.final_pnl.p95), money(r.max_drawdown.p50),
                      money(r.max_drawdown.p95), f"{r.probability_of_loss:.1%}",
                      f"{r.probability_breaker_any_day:.1%}", f"{r.breaker_day_rate:.1%}")
    console.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps([r.to_dict() for r in report], indent=2) + "\n")
    return 0


def monte_carlo(settings: Settings, result: BacktestResult) -> list[mc.MonteCarloResult]:
    """Both schemes over one backtest's trades and days, with the configured breaker limit."""
    cfg, limit = settings.backtest, settings.risk.max_daily_loss_pct
    runs, seed = cfg.monte_carlo.runs, cfg.monte_carlo.seed
    out = []
    if result.trades:
        pnls, sizes = mc.trade_pnls_by_day(result.trades)
        out.append(mc.resample_trades(pnls, sizes, result.starting_equity, limit, runs, seed,
                                      scheduler=cfg.scheduler, n_jobs=cfg.n_jobs))
    day_pnl, day_low = mc.day_stats(result.equity, result.starting_equity)
    if len(day_pnl):
        out.append(mc.bootstrap_days(day_pnl, day_low, result.starting_equity, limit, runs,
                                     seed, cfg.monte_carlo.block_days,
                                     scheduler=cfg.scheduler, n_jobs=cfg.n_jobs))
    return out
