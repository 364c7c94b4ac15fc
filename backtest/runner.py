"""The backtest runner: the live engine on a simulated clock, nothing else.

`run` builds the bot exactly as the daemon does (`bot.wiring.build_bot`), with a `SimClock`, the
paper venue and in-memory books, and feeds it recorded events in release order. Strategies,
sizing, risk, the order manager, brackets, the end-of-day flatten and expiry all run their live
code; the only thing added here is observation: equity sampled once a minute (marked at the
liquidation side) and, at the end, the round trips read back from the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

import backtest.sma_cross  # noqa: F401  (the reference strategy is always available here)
from backtest.data import BacktestData, load_data
from backtest.trades import TradeRecord, round_trips
from bot.config import Settings
from bot.execution_quality import from_store, summarize
from bot.store.daily_history import DailyHistoryRepository
from bot.wiring import Bot, build_bot
from market.calendar import NEW_YORK, ExchangeCalendar
from market.clock import SimClock
from market.feeds.replay import ReplayFeed
from market.history.daily_seed import seed
from market.history.feed import HistoryFeed

ONE_MINUTE = timedelta(minutes=1)
SEED_SPAN = timedelta(days=380)  # calendar days holding the 252 sessions of the IV window
ProgressHook = Callable[[date], None]


@dataclass
class BacktestResult:
    """Everything a report or a metric needs, as plain data."""

    starting_equity: float
    days: list[date]
    trades: list[TradeRecord]
    equity: pd.Series  # per minute, UTC index, marked at the liquidation side
    underlying: dict[str, pd.Series]  # per-minute mid of each underlying
    daily: list[dict[str, Any]]  # the store's daily_pnl rows
    open_at_end: int = 0
    events: int = 0
    signals: int = 0
    orders: int = 0
    denied: int = 0
    fills: int = 0
    dropped_quotes: int = 0
    elapsed_seconds: float = 0.0
    data_description: str = ""
    entry_style: str = ""  # the [execution.entry] style the run used
    fill_log: list[dict[str, Any]] = field(default_factory=list)
    #: Cost of liquidity per strategy (`bot.execution_quality.summarize`): improvement vs
    #: crossing the spread and mark-outs, from the NBBO stored at each decision.
    execution_quality: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def net_pnl(self) -> float:
        return float(self.equity.iloc[-1] - self.starting_equity) if len(self.equity) else 0.0


def backtest_settings(settings: Settings) -> Settings:
    """The same settings with books in memory and no HTTP: a backtest touches no files. Its
    store is thrown away at the end, so it commits once per session, not per write (the
    statements and the lifecycle are the live ones; decision 0225)."""
    return settings.model_copy(update={
        "store": settings.store.model_copy(update={"url": "sqlite:///:memory:",
                                                   "durability": "at_flush"}),
        "paper": settings.paper.model_copy(update={"ledger_path": ":memory:"}),
        "http": settings.http.model_copy(update={"enabled": False}),
    })


@cache
def _calendar() -> ExchangeCalendar:
    """One calendar per process: building it takes a second, and sweeps run many backtests."""
    return ExchangeCalendar()


def run(settings: Settings, data: Path | BacktestData, start: date | None = None,
        end: date | None = None, *, underlyings: list[str] | None = None,
        progress: ProgressHook | None = None, run_tag: str = "bt") -> BacktestResult:
    """Replay `data` (a path or loaded data) between `start` and `end` (New York days, both
    included), optionally only some underlyings, through the live path."""
    loaded = data if isinstance(data, BacktestData) else load_data(data, start, end, underlyings)
    first_day = loaded.days[0]
    clock = SimClock(datetime.combine(first_day, datetime.min.time(), NEW_YORK).astimezone(UTC))
    bot = build_bot(backtest_settings(settings), clock, run_tag=run_tag, calendar=_calendar())
    if isinstance(loaded.source, ReplayFeed):  # it publishes open interest in time order
        loaded.source.open_interest = bot.market.open_interest
    try:
        seed_daily_history(bot, loaded, first_day)
        return _drive(bot, clock, loaded, progress)
    finally:
        bot.close()


def seed_daily_history(bot: Bot, data: BacktestData, first_day: date) -> int:
    """From a history store, the sessions of the year before `first_day` seed the daily IV and
    volume windows (what a daemon running then would have recorded), so IV rank and 30-day
    volumes exist from the first day; later days are recorded at each close, as live. Only
    days before `first_day`: no look-ahead. Returns the sessions seeded."""
    feed = data.source
    if bot.market.daily is None or not isinstance(feed, HistoryFeed):
        return 0
    repo = DailyHistoryRepository(bot.store)
    report = seed(feed.store, repo, data.underlyings, first=first_day - SEED_SPAN,
                  last=first_day - timedelta(days=1), calendar=_calendar(),
                  target_days=bot.settings.greeks.atm_iv_days)
    bot.market.daily.load_from(repo, before=first_day)
    return report.sessions


def _drive(bot: Bot, clock: SimClock, data: BacktestData,
           progress: ProgressHook | None) -> BacktestResult:
    engine, portfolio, quotes = bot.engine, bot.portfolio, bot.market.quotes
    unds = data.underlyings
    stamps: list[datetime] = []
    equity: list[float] = []
    und_marks: dict[str, list[float]] = {u: [] for u in unds}
    next_sample: datetime | None = None
    next_day: datetime | None = None
    events = 0
    started = time.perf_counter()

    def sample(at: datetime) -> None:
        stamps.append(at)
        equity.append(portfolio.equity(quotes, at_liquidation=True))
        for u in unds:
            q = quotes.get(u)
            und_marks[u].append(q.mid if q is not None else float("nan"))

    last: datetime | None = None
    on_event, advance = engine.on_event, clock.advance_to
    for event in data.source.events():
        ts = event.ts
        if ts is not last:  # feeds share one stamp object per release time: cheap test first
            if next_sample is None or ts >= next_sample:
                if last is not None:
                    sample(last)
                next_sample = ts.replace(second=0, microsecond=0) + ONE_MINUTE
                if progress is not None and (next_day is None or ts >= next_day):
                    local = ts.astimezone(NEW_YORK)
                    next_day = datetime.combine(local.date() + timedelta(days=1),
                                                datetime.min.time(), NEW_YORK)
                    progress(local.date())
            advance(ts)
            last = ts
        on_event(event)
        events += 1
    engine.close_session()
    if last is not None:
        sample(max(last, clock.now()))
    return _collect(bot, data, stamps, equity, und_marks, events,
                    time.perf_counter() - started)


def _collect(bot: Bot, data: BacktestData, stamps: list[datetime], equity: list[float],
             und_marks: dict[str, list[float]], events: int, elapsed: float) -> BacktestResult:
    store = bot.store
    store.flush()
    orders = {o.client_order_id: o for o in store.load_orders()}
    signals = store.load_signals(limit=1_000_000_000)
    confidence = {s["client_order_id"]: float(s["confidence"]) for s in signals
                  if s["client_order_id"]}
    for order_id, order in orders.items():  # a price step inherits its signal's confidence
        step, hops = order, 0
        while step.client_order_id not in confidence and step.request.replaces in orders \
                and hops < len(orders):
            step, hops = orders[step.request.replaces], hops + 1
        if order_id not in confidence and step.client_order_id in confidence:
            confidence[order_id] = confidence[step.client_order_id]
    fills = store.load_fills()
    trades, still_open = round_trips(fills, orders, confidence)
    index = pd.DatetimeIndex(stamps, tz=UTC) if stamps else pd.DatetimeIndex([], tz=UTC)
    summary = bot.engine.summary
    return BacktestResult(
        starting_equity=bot.settings.paper.starting_cash, days=data.days, trades=trades,
        equity=pd.Series(equity, index=index, dtype=float, name="equity"),
        underlying={u: pd.Series(v, index=index, dtype=float, name=u)
                    for u, v in und_marks.items()},
        daily=store.load_daily_pnl(), open_at_end=still_open, events=events,
        signals=summary.signals, orders=summary.orders, denied=summary.denied,
        fills=summary.fills, dropped_quotes=summary.dropped_quotes, elapsed_seconds=elapsed,
        data_description=data.description, entry_style=bot.settings.execution.entry.style,
        fill_log=[{"fill_id": f.fill_id, "client_order_id": f.client_order_id,
                   "symbol": f.symbol, "side": f.side.value, "quantity": f.quantity,
                   "price": f.price, "commission": f.commission, "ts": f.ts.isoformat()}
                  for f in fills],
        execution_quality=summarize(from_store(store)))
