"""The `tradefly` command line: run the daemon, check a config, read the books, backtest."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.config import ConfigError, Settings, load_settings, masked_dump

app = typer.Typer(
    help="TradeFly: an options day-trading daemon. Paper by default; `tradefly run` replays a "
    "real recorded day with no keys.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="TOML config file.",
                                         show_default=True)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
DEFAULT_CONFIG = Path("config/paper.toml")


def _settings(path: Path) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        err.print(f"[red]config error:[/] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def run(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Run the daemon. With the replay feed it trades the recorded day, prints a summary and
    exits; otherwise it runs until SIGTERM/SIGINT."""
    settings = _settings(config)
    from bot.daemon import run as run_daemon
    from bot.logging_setup import configure_logging

    secrets = [s.get_secret_value() for s in (
        settings.alpaca.api_key, settings.alpaca.secret_key, settings.telegram.token,
        settings.massive.api_key, settings.http.token) if s is not None]
    configure_logging(settings.logging.level, settings.logging.json_logs, secrets)
    try:
        code = run_daemon(settings)
    except ConfigError as exc:
        err.print(f"[red]refusing to start:[/] {exc}")
        raise typer.Exit(2) from exc
    raise typer.Exit(code)


@app.command("check-config")
def check_config(path: Annotated[Path, typer.Argument(help="TOML config file.")]) -> None:
    """Validate a config and print the effective settings, secrets masked. Exit 2 on error."""
    settings = _settings(path)
    from bot.config import check_live_confirmation

    try:
        check_live_confirmation(settings)
    except ConfigError as exc:
        err.print(f"[yellow]note:[/] {exc}")
    console.print_json(json.dumps(masked_dump(settings)))


def _store(settings: Settings) -> Any:
    from bot.store.store import Store

    return Store.open(settings.store.url, settings.account_id, settings.store.sqlite_synchronous)


@app.command()
def orders(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False,
           open_only: Annotated[bool, typer.Option("--open", help="Only working orders.")]
           = False) -> None:
    """List orders from the store with their client order ids and statuses."""
    store = _store(_settings(config))
    rows = [{
        "client_order_id": o.client_order_id, "symbol": o.request.symbol,
        "side": o.request.side.value, "quantity": o.request.quantity,
        "order_type": o.request.order_type.value, "limit_price": o.request.limit_price,
        "intent": o.request.intent.value, "status": o.status.value,
        "filled_quantity": o.filled_quantity, "average_fill_price": o.average_fill_price,
        "strategy": o.request.strategy, "reason": o.status_reason or o.request.reason,
        "created_at": o.created_at.isoformat(),
    } for o in store.load_orders(open_only=open_only)]
    store.close()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("created (UTC)", "client order id", "side", "qty", "symbol", "status",
                  "filled @", "reason", title=f"Orders ({len(rows)})")
    for r in rows:
        table.add_row(r["created_at"][11:19], r["client_order_id"], r["side"],
                      str(r["quantity"]), r["symbol"], r["status"],
                      f"{r['filled_quantity']} @ {r['average_fill_price']:.2f}",
                      (r["reason"] or "")[:60])
    console.print(table)


@app.command()
def positions(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """Positions in the store (open ones, and closed ones with their realized P&L)."""
    store = _store(_settings(config))
    rows = [{"symbol": p.symbol, "quantity": p.quantity, "average_price": p.average_price,
             "realized_pnl": round(p.realized_pnl, 2), "fees": round(p.fees, 2)}
            for p in store.load_positions()]
    store.close()
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table("symbol", "qty", "avg price", "realized (after fees)", "fees",
                  title="Positions")
    for r in rows:
        table.add_row(r["symbol"], str(r["quantity"]), f"{r['average_price']:.2f}",
                      f"{r['realized_pnl']:,.2f}", f"{r['fees']:,.2f}")
    console.print(table)


@app.command()
def risk(config: ConfigOpt = DEFAULT_CONFIG, as_json: JsonOpt = False) -> None:
    """Trading state, pause, breaker latch, daily P&L and recent risk denials."""
    settings = _settings(config)
    store = _store(settings)
    state = store.all_state()
    report = {
        "trading_state": state.get("state", "active"),
        "reason": state.get("reason", ""),
        "paused": state.get("paused", False),
        "latched_by_breaker": state.get("latched_by_breaker", False),
        "session_day": state.get("session_day"),
        "start_of_day_equity": state.get("start_of_day_equity"),
        "limits": settings.risk.model_dump(mode="json"),
        "daily_pnl": [{k: (v.isoformat() if hasattr(v, "isoformat") else v)
                       for k, v in row.items()} for row in store.load_daily_pnl()],
        "recent_denials": [{"ts": d["ts"].isoformat(), "symbol": d["symbol"], "rule": d["rule"],
                            "reason": d["reason"]}
                           for d in store.load_risk_decisions(20) if d["decision"] == "reject"],
    }
    store.close()
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    console.print(f"trading state: [bold]{report['trading_state']}[/] {report['reason']}")
    console.print(f"entries paused: {report['paused']}   session: {report['session_day']}   "
                  f"opening equity: {report['start_of_day_equity']}")
    for d in report["recent_denials"]:
        console.print(f"  denied {d['symbol']} [{d['rule']}] {d['reason']}")


@app.command()
def backtest(
    config: ConfigOpt = DEFAULT_CONFIG,
    data: Annotated[Path | None, typer.Option("--data", help="Replay folder or history "
                                              "store (default: the config's replay folder).")]
    = None,
    start: Annotated[datetime | None, typer.Option("--from", formats=["%Y-%m-%d"],
                                                   help="First session (YYYY-MM-DD).")] = None,
    end: Annotated[datetime | None, typer.Option("--to", formats=["%Y-%m-%d"],
                                                 help="Last session (YYYY-MM-DD).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write metrics and trades "
                                                  "as JSON here.")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write a self-contained "
                                                "HTML report with plots here.")] = None,
) -> None:
    """Run the live engine on a simulated clock over recorded data, costs included."""
    from backtest.cli import backtest_command

    code = backtest_command(config, data, start.date() if start else None,
                            end.date() if end else None, json_out, report)
    raise typer.Exit(code)


def _mount_optional() -> None:
    """Sub-commands that live with their own packages (loaded lazily, kept optional)."""
    try:
        from bot.cli_data import data_app
    except ImportError:
        return
    app.add_typer(data_app, name="data", help="Fill and inspect the local history store.")


def main() -> None:
    _mount_optional()
    app()


if __name__ == "__main__":
    main()
