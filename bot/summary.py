"""The day's summary: what the bot saw, decided and earned — after costs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.wiring import Bot


def day_summary(bot: Bot) -> dict[str, Any]:
    quotes = bot.market.quotes
    statuses = Counter(o.status.value for o in bot.store.load_orders())
    realized = bot.portfolio.realized_pnl  # already net of fees
    unrealized = bot.portfolio.unrealized_pnl(quotes, at_liquidation=True)
    start = bot.control.start_of_day_equity or bot.portfolio.starting_cash
    equity = bot.portfolio.equity(quotes, at_liquidation=True)
    return {
        "signals": bot.engine.summary.signals,
        "orders": sum(statuses.values()),
        "orders_by_status": dict(sorted(statuses.items())),
        "fills": bot.engine.summary.fills,
        "quotes_dropped": bot.engine.summary.dropped_quotes,
        "realized_pnl_after_fees": round(realized, 2),
        "unrealized_pnl_at_liquidation": round(unrealized, 2),
        "fees": round(bot.portfolio.fees, 2),
        "net_pnl": round(equity - start, 2),
        "start_equity": round(start, 2),
        "equity": round(equity, 2),
        "open_positions": {p.symbol: p.quantity for p in bot.portfolio.open_positions()},
        "trading_state": bot.control.state.value,
    }


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="TradeFly — session summary (paper)", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("signals", str(summary["signals"]))
    by_status = ", ".join(f"{k} {v}" for k, v in summary["orders_by_status"].items())
    table.add_row("orders", f"{summary['orders']} ({by_status})")
    table.add_row("fills", str(summary["fills"]))
    table.add_row("bad quotes dropped", str(summary["quotes_dropped"]))
    table.add_row("realized P&L (after fees)", f"{summary['realized_pnl_after_fees']:,.2f}")
    table.add_row("unrealized P&L (at bid/ask)", f"{summary['unrealized_pnl_at_liquidation']:,.2f}")
    table.add_row("commissions and fees", f"{summary['fees']:,.2f}")
    net = summary["net_pnl"]
    table.add_row("net P&L after costs", f"[{'green' if net >= 0 else 'red'}]{net:,.2f}[/]")
    table.add_row("equity", f"{summary['start_equity']:,.2f} → {summary['equity']:,.2f}")
    table.add_row("trading state", summary["trading_state"])
    console.print(table)
