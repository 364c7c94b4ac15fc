"""Builds the bot from settings: the same assembly for the daemon, the backtester and tests.

Only the injected parts differ between modes: the clock, the feed and the broker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.account_view import AccountView
from bot.config import Settings, check_live_confirmation
from bot.engine import Engine
from bot.events import EventBus
from bot.execution import ExecutionManager
from bot.ids import ClientIdGenerator
from bot.metrics import Metrics
from bot.order_manager import OrderManager
from bot.portfolio import Portfolio
from bot.store.daily_history import DailyHistoryRepository
from bot.store.store import Durability, Store
from bot.trading_control import TradingControl
from brokers.base import Broker, MarketAware
from brokers.paper import PaperBroker
from market.calendar import NEW_YORK, ExchangeCalendar
from market.clock import Clock
from market.daily_history import DailyBook, DailyRecorder
from market.flow.tracker import FlowTracker
from market.state import MarketState
from risk.manager import RiskManager
from risk.quote_greeks import QuoteGreeks
from risk.rules import build_rules
from strategies.guard import GuardedStrategy
from strategies.registry import build_strategies


@dataclass
class Bot:
    settings: Settings
    clock: Clock
    store: Store
    broker: Broker
    engine: Engine
    orders: OrderManager
    portfolio: Portfolio
    control: TradingControl
    market: MarketState
    bus: EventBus
    metrics: Metrics
    risk: RiskManager
    daily: DailyRecorder | None = None

    def close(self) -> None:
        if self.daily is not None:  # the last closed session with its final prints
            self.daily.before_reset()
        self.store.close()


def build_broker(settings: Settings, clock: Clock) -> Broker:
    """The configured venue. Invariant 2 is checked before any adapter picks an endpoint."""
    check_live_confirmation(settings)
    live = settings.mode == "live"
    if settings.broker == "alpaca":
        from brokers.alpaca import AlpacaBroker

        return AlpacaBroker(settings.alpaca, clock, live=live)
    if settings.broker == "ibkr":
        from brokers.ibkr import IbkrBroker

        return IbkrBroker(settings.ibkr, clock, live=live)
    return PaperBroker(clock, settings.paper)


def build_bot(settings: Settings, clock: Clock, *, broker: Broker | None = None,
              store: Store | None = None, run_tag: str | None = None,
              calendar: ExchangeCalendar | None = None) -> Bot:
    """Assemble every component; nothing here touches the network."""
    store = store or Store.open(settings.store.url, settings.account_id,
                                settings.store.sqlite_synchronous,
                                Durability(settings.store.durability))
    broker = broker or build_broker(settings, clock)
    bus = EventBus()
    metrics = Metrics()
    calendar = calendar or ExchangeCalendar()
    market = MarketState(indicators=settings.indicators.build(calendar),
                         flow=FlowTracker(settings.flow), calendar=calendar)
    portfolio = Portfolio(starting_cash=settings.paper.starting_cash)
    control = TradingControl(store, bus)
    control.load()
    risk = RiskManager(build_rules(settings.risk))
    ids = ClientIdGenerator(settings.orders.client_id_prefix, clock, run_tag)
    orders = OrderManager(store, broker, risk, portfolio, clock, ids, bus, metrics)
    greeks = settings.risk.greeks
    greeks_source = QuoteGreeks(market, clock, calendar, greeks.rate, greeks.dividend_yield,
                                timedelta(seconds=greeks.max_age_seconds))
    orders.ctx = AccountView(clock, portfolio, market, control, orders, calendar=calendar,
                             greeks_source=greeks_source)
    strategies = [GuardedStrategy(s) for s in build_strategies(settings.strategies, market, clock)]
    for guarded, (_name, raw) in zip(strategies, settings.strategies.items(), strict=True):
        guarded.enabled = bool(raw.get("enabled", True))
    venues: list[MarketAware] = [broker] if isinstance(broker, MarketAware) else []
    execution = ExecutionManager(orders, market, clock, settings.execution, bus)
    engine = Engine(clock, calendar, market, strategies, orders,
                    portfolio, control, settings.risk, settings.orders, bus, metrics,
                    execution=execution, venues=venues)
    daily = None
    if settings.daily_history.enabled:
        daily = attach_daily_history(settings, clock, store, market, engine, calendar)
    return Bot(settings, clock, store, broker, engine, orders, portfolio, control, market, bus,
               metrics, risk, daily)


def attach_daily_history(settings: Settings, clock: Clock, store: Store, market: MarketState,
                         engine: Engine, calendar: ExchangeCalendar) -> DailyRecorder:
    """Load the stored daily IV and volume windows (sessions before today) into
    `market.daily`, and record each session into the store at its close (decision 0340)."""
    greeks = settings.greeks
    history = DailyHistoryRepository(store)
    market.daily = DailyBook(settings.daily_history, target_days=greeks.atm_iv_days)
    market.daily.load_from(history, before=clock.now().astimezone(NEW_YORK).date())
    recorder = DailyRecorder(market, market.daily, history, calendar,
                             lambda und: (greeks.risk_free_rate, greeks.dividend_yield(und)))
    engine.session_listeners.append(recorder.on_session_close)
    market.before_reset.append(recorder.before_reset)
    return recorder


def reset_replay_state(settings: Settings) -> None:
    """Remove the SQLite store and paper ledger so a replay starts from empty books."""
    paths = [settings.paper.ledger_path]
    if settings.store.url.startswith("sqlite:///"):
        paths.append(settings.store.url.removeprefix("sqlite:///"))
    for raw in paths:
        if raw == ":memory:":
            continue
        for suffix in ("", "-wal", "-shm"):
            Path(raw + suffix).unlink(missing_ok=True)
