"""`tradefly backtest`: what the command line calls (bot/cli.py owns the argument parsing).

Exit codes: 0 done, 2 a bad config or data path (the message says which field or file).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import backtest.sma_cross  # noqa: F401  (registers the reference strategy for backtests)
from backtest import metrics as metric_fns
from backtest.data import BacktestData, DataError, load_data
from backtest.report import money, write_html, write_json
from backtest.runner import BacktestResult, run
from backtest.tables import TableError
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
    if result.open_at_end:
        console.print(f"[yellow]{result.open_at_end} position(s) still open at the end of the "
                      "data: marked at the liquidation side, not in the trade list[/yellow]")
