"""The bot's implementation of `RiskContext`: what risk rules see of the account.

Everything here is read on the hot path, so nothing touches the store after start-up: the
trade journal (premium today, day trades, losing streak) is rebuilt from the stored fills
once, then kept current by the order manager's fill listeners.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.order_manager import OrderManager
from bot.portfolio import Portfolio, Position
from bot.trading_control import TradingControl
from brokers.orders import Fill, Order, OrderRequest
from market.calendar import NEW_YORK, ExchangeCalendar, Session
from market.clock import Clock
from market.data import Quote
from market.state import MarketState
from risk.context import ContractGreeks, HeldPosition, LossStreak
from risk.exposure import Exposure
from risk.journal import TradeJournal
from risk.members import BUY, OPEN
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
    #: Set by the daemon from the broker's connection listener: while the venue is
    #: unreachable (or its order stream is down) the connectivity rule refuses entries.
    broker_disconnected: bool = False
    journal: TradeJournal = field(default_factory=TradeJournal)
    _working: list[Order] | None = field(default=None, repr=False)
    _equity: float | None = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)
    _held: dict[str, Position] | None = field(default=None, repr=False)
    _held_key: tuple[int, int] = field(default=(-1, 0), repr=False)
    _book: _Book | None = field(default=None, repr=False)
    _book_fresh: bool = field(default=False, repr=False)
    _day: tuple[datetime, datetime, date] | None = field(default=None, repr=False)
    _checking: bool = field(default=False, repr=False)
    _sessions: dict[date, Session | None] = field(default_factory=dict, repr=False)
    _windows: dict[tuple[date, int], date] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.journal.load(self.orders.store.load_fills())
        self.orders.fill_listeners.append(self._on_fill)
        self.remember_recent_orders()

    def remember_recent_orders(self) -> int:
        """Give the order-rate throttle and the duplicate guard back the orders approved in
        their windows before a restart (decision 0167): one query for the last minute."""
        risk = self.orders.risk
        horizon = risk.memory
        if horizon is None:
            return 0
        now = self.clock.now()
        return risk.remember(self.orders.store.load_orders(since=now - horizon), now)

    def _on_fill(self, fill: Fill, _order: Order | None) -> None:
        self.journal.record(fill)

    def now(self) -> datetime:
        """The clock, read once per risk check."""
        if not self._checking:
            return self.clock.now()
        if self._now is None:
            self._now = self.clock.now()
        return self._now

    @property
    def equity(self) -> float:
        """Marked at the liquidation side over the open positions only; once per risk check."""
        if self._equity is None or not self._checking:
            held = self._open_positions()
            self._equity = self.portfolio.cash + self.portfolio.market_value(
                self.market.quotes, True, held.values()
            )
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
        return self._open_positions()

    def _open_positions(self) -> dict[str, Position]:
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
        """Within one risk check nothing changes, so the clock, equity and the open orders
        are read at most once; outside a check every read is fresh (decision 0165)."""
        self._checking = True
        self._working = self._equity = self._now = None
        self._book_fresh = False

    def end_check(self) -> None:
        self._checking = False
        self._working = self._equity = self._now = None
        self._book_fresh = False

    def working_orders(self) -> Sequence[Order]:
        """Open orders from the order manager's index, once per risk check."""
        if self._working is None or not self._checking:
            self._working = self.orders.open_orders()
        return self._working

    def _current_book(self) -> _Book:
        """Exposure and trade count, kept from one check to the next while the open
        positions and every working order (identity, request, filled quantity) are the same
        (decision 0166); rebuilt otherwise. Outside a check, always rebuilt."""
        if self._checking and self._book_fresh and self._book is not None:
            return self._book
        self.positions()  # refreshes the open positions and their key
        working = self.working_orders()
        book = self._book
        if book is None or not book.still(self._held_key, working):
            book = _Book.of(self, self._held_key, working)
            if not self._checking:
                return book
            self._book = book
        self._book_fresh = self._checking
        return book

    def exposure(self) -> Exposure:
        book = self._book
        if self._book_fresh and book is not None:  # fresh only inside a check
            return book.exposure
        return self._current_book().exposure

    def open_trade_count(self) -> int:
        """Positions held plus working entries in symbols not held; a spread is one trade
        (its held legs and its working leg orders count once, not once per leg)."""
        book = self._current_book()
        if book.trades is None:
            held = self.positions()
            working = {
                o.request.parent_id or o.request.symbol
                for o in book.working
                if o.request.intent is OPEN and o.request.symbol not in held
            }
            spreads = self.orders.combos.spreads_held(held)
            legs_past_first = sum(len(c.spec.legs) - 1 for c in spreads)
            book.trades = len(held) - legs_past_first + len(working)
        return book.trades

    def quote(self, symbol: str) -> Quote | None:
        return self.market.quote(symbol)

    def volume(self, symbol: str) -> int:
        return self.market.volume(symbol)

    def open_interest(self, symbol: str) -> int | None:
        return self.market.open_interest.get(symbol)

    def greeks(self, symbol: str) -> ContractGreeks | None:
        return None if self.greeks_source is None else self.greeks_source(symbol)

    def today(self) -> date:
        """The New York date of now. Time zone maths is not free, so the day is kept with the
        UTC instants it starts and ends at, and recomputed only outside them."""
        now = self.now()
        day = self._day
        if day is not None and day[0] <= now < day[1]:
            return day[2]
        today = now.astimezone(NEW_YORK).date()
        start = datetime.combine(today, time(), NEW_YORK).astimezone(UTC)
        end = datetime.combine(today + timedelta(days=1), time(), NEW_YORK).astimezone(UTC)
        self._day = (start, end, today)
        return today

    def session(self) -> Session | None:
        """Today's session, its times in `datetime.UTC`: the calendar's are in
        `ZoneInfo("UTC")`, and comparing those with the clock's costs ~1.5 µs each."""
        today = self.today()
        try:
            return self._sessions[today]
        except KeyError:
            cal = self.calendar
            session = None
            if cal is not None and cal.is_session(today):
                raw = cal.session(today)
                session = Session(raw.day, raw.open.astimezone(UTC), raw.close.astimezone(UTC))
            self._sessions[today] = session
            return session

    def premium_opened_today(self) -> float:
        return self.journal.premium_on(self.today())

    def day_trades_in_window(self, sessions: int) -> int:
        today = self.today()
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


@dataclass(slots=True)
class _Book:
    """What the exposure was computed from: the open positions' key and a snapshot of the
    working orders. `reusable` is False when a working buy has no limit price (its cost is
    the current ask, which moves without anything here changing)."""

    held_key: tuple[int, int]
    working: Sequence[Order]
    snapshot: tuple[tuple[Order, OrderRequest, int], ...]
    exposure: Exposure
    reusable: bool
    trades: int | None = None

    @classmethod
    def of(cls, view: AccountView, held_key: tuple[int, int], working: Sequence[Order]) -> _Book:
        snapshot = tuple((o, o.request, o.filled_quantity) for o in working)
        reusable = not any(
            r.intent is OPEN and r.side is BUY and r.limit_price is None for _o, r, _f in snapshot
        )
        return cls(held_key, working, snapshot, Exposure.of(view), reusable)

    def still(self, held_key: tuple[int, int], working: Sequence[Order]) -> bool:
        if not self.reusable or held_key != self.held_key:
            return False
        snapshot = self.snapshot
        if len(snapshot) != len(working):
            return False
        for (order, request, filled), now in zip(snapshot, working, strict=True):
            if order is not now or now.request is not request or now.filled_quantity != filled:
                return False
        self.working = working
        return True
