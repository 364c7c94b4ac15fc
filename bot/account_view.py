"""The bot's implementation of `RiskContext`: what risk rules see of the account.

Everything here is read on the hot path, so nothing touches the store after start-up: the
trade journal (premium today, day trades, losing streak) is rebuilt from the stored fills
once, then kept current by the order manager's fill listeners.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.order_manager import OrderManager
from bot.portfolio import Portfolio, Position
from bot.trading_control import TradingControl
from brokers.orders import Fill, Intent, Order
from market.calendar import NEW_YORK, ExchangeCalendar, Session
from market.clock import Clock
from market.data import Quote
from market.state import MarketState
from risk.context import ContractGreeks, HeldPosition, LossStreak
from risk.exposure import Exposure
from risk.journal import TradeJournal
from risk.state import TradingState

GreeksSource = Callable[[str], ContractGreeks | None]


@dataclass
class AccountView:
    clock: Clock
    portfolio: Portfolio
    market: MarketState
    control: TradingControl
    orders: OrderManager
    calendar: ExchangeCalendar | None = None
    greeks_source: GreeksSource | None = None
    #: The broker's buying power when it reports one (set by the daemon after each account
    #: fetch); the view uses the lower of it and our own cash.
    reported_buying_power: float | None = None
    #: Set by the daemon from the live feed's staleness callback (never on replay): while
    #: True the connectivity rule refuses entries.
    feed_stale: bool = False
    #: Set by the daemon while the broker is in planned downtime (IBKR's nightly restart).
    broker_downtime: bool = False
    journal: TradeJournal = field(default_factory=TradeJournal)
    _working: list[Order] | None = field(default=None, repr=False)
    _equity: float | None = field(default=None, repr=False)
    _held: dict[str, Position] | None = field(default=None, repr=False)
    _held_key: tuple[int, int] = field(default=(-1, 0), repr=False)
    _exposure: Exposure | None = field(default=None, repr=False)
    _day: date | None = field(default=None, repr=False)
    _checking: bool = field(default=False, repr=False)
    _sessions: dict[date, Session | None] = field(default_factory=dict, repr=False)
    _windows: dict[tuple[date, int], date] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.journal.load(self.orders.store.load_fills())
        self.orders.fill_listeners.append(self._on_fill)

    def _on_fill(self, fill: Fill, _order: Order | None) -> None:
        self.journal.record(fill)

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def equity(self) -> float:
        """Marked at the liquidation side; computed once per risk check."""
        if self._equity is None or not self._checking:
            self._equity = self.portfolio.equity(self.market.quotes, at_liquidation=True)
        return self._equity

    @property
    def start_of_day_equity(self) -> float:
        return self.control.start_of_day_equity or self.equity

    @property
    def buying_power(self) -> float:
        cash = self.portfolio.cash
        reported = self.reported_buying_power
        return cash if reported is None else min(cash, reported)

    @property
    def trading_state(self) -> TradingState:
        return self.control.state

    @property
    def entries_paused(self) -> bool:
        return self.control.paused

    def position_quantity(self, symbol: str) -> int:
        return self.portfolio.quantity(symbol)

    def positions(self) -> Mapping[str, HeldPosition]:
        """Open positions only: the portfolio also keeps every symbol flattened today.
        Positions change only when a fill is committed (or the books are restored), so the
        list is rebuilt only then."""
        book = self.portfolio.positions
        key = (self.portfolio.fills_seen, id(book))
        if self._held is None or key != self._held_key:
            self._held = {s: p for s, p in book.items() if p.quantity}
            self._held_key = key
        return self._held

    def begin_check(self) -> None:
        """Within one risk check nothing changes, so equity, the open orders and today's date
        are computed at most once; outside a check every read is fresh."""
        self._checking = True
        self._working = self._equity = self._day = self._exposure = None

    def end_check(self) -> None:
        self._checking = False
        self._working = self._equity = self._day = self._exposure = None

    def working_orders(self) -> Sequence[Order]:
        """Open orders from the order manager's index, once per risk check."""
        if self._working is None or not self._checking:
            self._working = self.orders.open_orders()
        return self._working

    def exposure(self) -> Exposure:
        if self._exposure is None or not self._checking:
            self._exposure = Exposure.of(self)
        return self._exposure

    def open_trade_count(self) -> int:
        """Positions held plus working entries in symbols not held."""
        held = self.positions()
        return len(held) + sum(1 for o in self.working_orders()
                               if o.request.intent is Intent.OPEN and o.request.symbol not in held)

    def quote(self, symbol: str) -> Quote | None:
        return self.market.quote(symbol)

    def volume(self, symbol: str) -> int:
        return self.market.volume(symbol)

    def open_interest(self, symbol: str) -> int | None:
        return self.market.open_interest.get(symbol)

    def greeks(self, symbol: str) -> ContractGreeks | None:
        return None if self.greeks_source is None else self.greeks_source(symbol)

    def _today(self) -> date:
        """The New York date of now, once per risk check (time zone maths is not free)."""
        if self._day is None or not self._checking:
            self._day = self.clock.now().astimezone(NEW_YORK).date()
        return self._day

    def session(self) -> Session | None:
        today = self._today()
        if today not in self._sessions:
            cal = self.calendar
            self._sessions[today] = (
                cal.session(today) if cal is not None and cal.is_session(today) else None)
        return self._sessions[today]

    def premium_opened_today(self) -> float:
        return self.journal.premium_on(self._today())

    def day_trades_in_window(self, sessions: int) -> int:
        today = self._today()
        first = self._windows.get((today, sessions))
        if first is None:
            first = self._windows[(today, sessions)] = self._window_start(today, sessions)
        return self.journal.day_trades_since(first)

    def _window_start(self, today: date, sessions: int) -> date:
        """The first day of the last `sessions` sessions up to today (weekdays without a
        calendar)."""
        start = today - timedelta(days=sessions * 2 + 10)
        if self.calendar is not None:
            days = self.calendar.sessions_between(start, today)
        else:
            days = [start + timedelta(days=i) for i in range((today - start).days + 1)]
            days = [d for d in days if d.weekday() < 5]
        return days[-sessions] if len(days) >= sessions else start

    def losing_streak(self) -> LossStreak:
        return self.journal.streak
