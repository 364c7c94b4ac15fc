"""`tradefly data …`: fill and inspect the local history store.

Mounted by the main CLI with `app.add_typer(data_app, name="data")`. Exit codes: 0 done,
1 some files failed or a dataset is outside the subscription (named), 2 bad arguments/config.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.config import ConfigError, Settings, load_settings
from bot.store.daily_history import DailyHistoryRepository
from bot.store.store import Store
from market.calendar import NEW_YORK, ExchangeCalendar
from market.clock import LiveClock
from market.history.daily_seed import seed
from market.history.derived import greeks_daily, volume_history
from market.history.fetch import DEFAULT_DATASETS, FetchEvent, FetchReport, Status, fetch
from market.history.importer import import_shipped
from market.history.rest import ReferenceSource
from market.history.s3 import FlatFileSource
from market.history.sql_sink import sink_history
from market.history.store import HistoryStore

data_app = typer.Typer(help="Fill and inspect the local history store (Parquet).",
                       no_args_is_help=True, add_completion=False,
                       pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file "
                                                "(default: environment only).")]
StoreOpt = Annotated[Path | None, typer.Option("--store", help="Store folder (default: "
                                               "[history] store).")]
Underlyings = Annotated[str, typer.Option("--underlyings", "-u",
                                          help="Comma-separated underlyings, e.g. SPY,QQQ.")]
SHIPPED = (Path("data/replay"), Path("../shared/data"))


def _settings(path: Path | None) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        err.print(f"[red]config error:[/] {exc}")
        raise typer.Exit(2) from exc


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def _store_root(settings: Settings, store: Path | None) -> Path:
    return store or settings.history.store


def _sources(settings: Settings) -> tuple[FlatFileSource | None, ReferenceSource | None]:
    m = settings.massive
    flat = None
    if m.s3_access_key is not None and m.s3_secret_key is not None:
        flat = FlatFileSource(m.s3_access_key.get_secret_value(),
                              m.s3_secret_key.get_secret_value(), endpoint=m.s3_endpoint,
                              bucket=m.s3_bucket, connect_timeout=m.connect_timeout_seconds,
                              read_timeout=max(m.read_timeout_seconds, 30.0),
                              retries=m.http_retries)
    rest = None
    if m.api_key is not None:
        rest = ReferenceSource(m.api_key.get_secret_value(), base_url=m.rest_url,
                               retries=m.http_retries,
                               connect_timeout=m.connect_timeout_seconds,
                               read_timeout=m.read_timeout_seconds)
    return flat, rest


def _print_report(report: FetchReport) -> None:
    counts = {s.value: len(report.of(s)) for s in Status}
    rows = sum(e.rows for e in report.events)
    console.print(f"stored {counts['stored']}, already there {counts['skipped']}, no file "
                  f"{counts['missing']}, failed {counts['failed']}; {rows:,} rows; "
                  f"{len(report.holidays)} non-trading days skipped")
    for event in report.of(Status.FAILED):
        err.print(f"[red]failed[/] {event.dataset} {event.day}: {event.message}")
    for message in report.not_in_plan.values():
        err.print(f"[red]{message}[/]")


@data_app.command("fetch")
def fetch_cmd(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (default: --from).")]
    = "",
    underlyings: Underlyings = "SPY",
    datasets: Annotated[str, typer.Option("--datasets", "-d", help="Comma-separated datasets.")]
    = ",".join(DEFAULT_DATASETS),
    config: ConfigOpt = None,
    store: StoreOpt = None,
    derive: Annotated[bool, typer.Option(help="Then compute IV/Greeks and volume history.")]
    = True,
) -> None:
    """Download Massive flat files (and REST reference data) for a date range."""
    settings = _settings(config)
    try:
        first = date.fromisoformat(start)
        last = date.fromisoformat(end) if end else first
    except ValueError as exc:
        err.print(f"[red]bad date:[/] {exc}")
        raise typer.Exit(2) from exc
    history = settings.history.model_copy(update={"store": _store_root(settings, store)})
    flat, rest = _sources(settings)
    today = LiveClock().now().astimezone(NEW_YORK).date()
    chosen = _split(underlyings)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("fetching", total=None)

        def progress(event: FetchEvent) -> None:
            bar.update(task, total=event.total, completed=event.done,
                       description=f"{event.dataset} {event.day or ''} {event.status.value}")

        try:
            report = fetch(history, first, last, chosen, _split(datasets), flat_files=flat,
                           reference=rest, today=today, progress=progress)
        except ValueError as exc:
            err.print(f"[red]cannot fetch:[/] {exc}")
            raise typer.Exit(2) from exc
    _print_report(report)
    if derive:
        _derive(HistoryStore(history.store), settings, chosen, first, last)
    raise typer.Exit(0 if report.ok else 1)


def _derive(store: HistoryStore, settings: Settings, underlyings: list[str], first: date,
            last: date) -> None:
    days = ExchangeCalendar().sessions_between(first, last)
    greeks = greeks_daily(store, underlyings, days, rate=settings.history.risk_free_rate,
                          dividend_yield=settings.history.dividend_yield)
    volumes = volume_history(store, underlyings)
    console.print(f"derived: {greeks.written} Greeks partitions, {volumes.written} volume "
                  "partitions")


@data_app.command("ls")
def ls_cmd(config: ConfigOpt = None, store: StoreOpt = None,
           as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False) -> None:
    """What is stored: datasets, dates, underlyings, rows, bytes."""
    settings = _settings(config)
    root = _store_root(settings, store)
    summaries = HistoryStore(root).ls() if root.exists() else []
    if as_json:
        console.print_json(json.dumps([{
            "dataset": s.dataset, "first_day": s.first_day and s.first_day.isoformat(),
            "last_day": s.last_day and s.last_day.isoformat(), "days": s.days,
            "underlyings": list(s.underlyings), "rows": s.rows, "bytes": s.bytes}
            for s in summaries]))
        return
    table = Table(title=f"history store {root}")
    for column in ("dataset", "from", "to", "days", "underlyings", "rows", "MB"):
        table.add_column(column, justify="right" if column in ("days", "rows", "MB") else "left",
                         no_wrap=column != "underlyings", overflow="fold")
    for s in summaries:
        shown = ", ".join(s.underlyings[:8]) + (" …" if len(s.underlyings) > 8 else "")
        table.add_row(s.dataset, str(s.first_day or "-"), str(s.last_day or "-"), str(s.days),
                      shown, f"{s.rows:,}", f"{s.bytes / 1e6:.1f}")
    console.print(table)


@data_app.command("import")
def import_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Shipped CSV files or folders (default: data/replay and ../shared/data).")] = None,
    config: ConfigOpt = None, store: StoreOpt = None,
    derive: Annotated[bool, typer.Option(help="Then compute IV/Greeks and volume history.")]
    = True,
) -> None:
    """Import the project's real sample data into the store (same layout as fetched data)."""
    settings = _settings(config)
    sources = list(paths) if paths else [p for p in SHIPPED if p.exists()]
    target = HistoryStore(_store_root(settings, store))
    try:
        report = import_shipped(sources, target)
    except FileNotFoundError as exc:
        err.print(f"[red]cannot import:[/] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"imported {len(report.files)} files → {len(report.partitions)} partitions, "
                  f"{report.rows:,} rows ({len(report.skipped)} files not recognised)")
    if derive and report.partitions:
        days = sorted({day for _, day, _ in report.partitions})
        unds = sorted({und for _, _, und in report.partitions})
        _derive(target, settings, unds, days[0], days[-1])


@data_app.command("sink")
def sink_cmd(
    url: Annotated[str, typer.Option("--url", help="SQLAlchemy URL, e.g. "
                                     "postgresql+psycopg://user@host/db.")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day (default: --from).")] = "",
    underlyings: Underlyings = "SPY", config: ConfigOpt = None, store: StoreOpt = None,
) -> None:
    """Copy stored minute candles and daily Greeks to SQL (hypertables with TimescaleDB)."""
    settings = _settings(config)
    first = date.fromisoformat(start)
    last = date.fromisoformat(end) if end else first
    days = ExchangeCalendar().sessions_between(first, last)
    report = sink_history(HistoryStore(_store_root(settings, store)), url,
                          _split(underlyings), days)
    kind = "hypertables" if report.hypertables else "plain tables"
    console.print(f"sank {report.candles:,} candles and {report.greeks:,} Greeks rows ({kind})")


@data_app.command("seed-store")
def seed_store_cmd(
    underlyings: Underlyings = "SPY",
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (default: all "
                                       "stored).")] = "",
    end: Annotated[str, typer.Option("--to", help="Last day (default: all stored).")] = "",
    url: Annotated[str, typer.Option("--url", help="The bot's store (default: [store] url).")]
    = "",
    config: ConfigOpt = None, store: StoreOpt = None,
) -> None:
    """Fill the bot's daily IV and option-volume history (IV rank, 30-day volumes) from the
    history store's options_day and greeks_daily."""
    settings = _settings(config)
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError as exc:
        err.print(f"[red]bad date:[/] {exc}")
        raise typer.Exit(2) from exc
    root = _store_root(settings, store)
    if not root.exists():
        err.print(f"[red]no history store at {root}[/] (tradefly data fetch / import first)")
        raise typer.Exit(2)
    target = url or settings.store.url
    books = Store.open(target, settings.account_id, settings.store.sqlite_synchronous)
    chosen = [u.upper() for u in _split(underlyings)]
    try:
        report = seed(HistoryStore(root), DailyHistoryRepository(books), chosen, first, last,
                      target_days=settings.greeks.atm_iv_days)
    finally:
        books.close()
    console.print(f"seeded {report.sessions} sessions of {','.join(chosen)} "
                  f"({report.with_iv} with a closing ATM IV)")
    for day, und, why in report.skipped:
        err.print(f"skipped {und} {day if day != date.min else ''}: {why}")
