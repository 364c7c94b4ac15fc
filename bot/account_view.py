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
from brokers.orders import Fill, Order
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
    _now: datetime | None = field(default=None, repr=False)
    _book: _Book | None = field(default=None, repr=False)
    _book_fresh: bool = field(default=False, repr=False)  # validated in this check
    _equity: float = field(default=0.0, repr=False)
    _equity_version: int = field(default=-1, repr=False)
    _equity_marks: int = field(default=-1, repr=False)
    _day: _Day | None = field(default=None, repr=False)
    _epoch_of: tuple[object, Callable[[datetime], int] | None] = field(
        default=(None, None), repr=False
    )
    _checking: bool = field(default=False, repr=False)
    _sessions: dict[date, Session | None] = field(default_factory=dict, repr=False)
    _windows: dict[tuple[date, int], date] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.journal.load(self.orders.store.load_fills())
        self.orders.fill_listeners.append(self._on_fill)
        self.orders.status_listeners.append(self._on_status)
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
        self.refresh()

    def _on_status(self, _order: Order) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Rebuild now what a change of the books made stale (the kept sums, equity), in the
        handler of the fill or status change that moved them, so the next risk check reads
        them instead of paying for the rebuild (decision 0355). Reads are exact either way."""
        if not self._checking:
            self.open_trade_count()  # rebuilds the book if it moved, and counts the trades
            self.equity  # noqa: B018 - re-marks equity if the portfolio moved
            self.orders.risk.warm(self)  # the Greeks limit sums the new book

    def now(self) -> datetime:
        """The clock, read once per risk check (at `begin_check`)."""
        now = self._now
        return self.clock.now() if now is None else now

    @property
    def equity(self) -> float:
        """Cash plus the open positions marked at the liquidation side. Kept until the portfolio
        changes or a quote of a held contract arrives (decision 0355)."""
        portfolio, market = self.portfolio, self.market
        if self._equity_version != portfolio.version or self._equity_marks != market.watched_quotes:
            held = self._current_book().held  # also points the quote watch at what is held
            self._equity = portfolio.cash + portfolio.market_value(
                market.quotes, True, held.values()
            )
            self._equity_version, self._equity_marks = portfolio.version, market.watched_quotes
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
        pos = self.portfolio.positions.get(symbol)
        return 0 if pos is None else pos.quantity

    def positions(self) -> Mapping[str, HeldPosition]:
        """Open positions only (the portfolio also keeps every symbol flattened today)."""
        return self._current_book().held

    def begin_check(self) -> None:
        """Within one risk check nothing changes: the clock is read once and the book is
        validated once (decision 0165); the sums themselves live across checks."""
        self._checking = True
        self._now = self.clock.now()
        self._book_fresh = False

    def end_check(self) -> None:
        self._checking = False
        self._now = None
        self._book_fresh = False

    def working_orders(self) -> Sequence[Order]:
        """Open orders from the order manager's index (a list kept until the book changes)."""
        return self._current_book().working

    def _current_book(self) -> _Book:
        """The sums over positions held and working orders, rebuilt only when the portfolio or
        the order book has moved since (their version counters, decision 0355), or when a
        working buy has no limit price (its cost is the ask, which moves on its own)."""
        book = self._book
        if self._book_fresh and book is not None:
            return book
        portfolio, orders = self.portfolio.version, self.orders.version
        if (
            book is None
            or book.portfolio_version != portfolio
            or book.orders_version != orders
            or not book.reusable
        ):
            book = self._book = self._rebuild(book, portfolio, orders)
        self._book_fresh = self._checking
        return book

    def _rebuild(self, old: _Book | None, portfolio: int, orders: int) -> _Book:
        if old is not None and old.portfolio_version == portfolio:
            held = old.held
        else:
            held = dict(self.portfolio.held)
            symbols = frozenset(held)
            if symbols != self.market.watched:
                self.market.watch(symbols)
        working = self.orders.open_orders()
        reusable = not any(
            o.request.intent is OPEN and o.request.side is BUY and o.request.limit_price is None
            for o in working
        )
        exposure = Exposure.over(held, working, self)
        return _Book(portfolio, orders, held, working, exposure, reusable)

    def exposure(self) -> Exposure:
        book = self._book
        if self._book_fresh and book is not None:  # six rules ask: the first one validates
            return book.exposure
        return self._current_book().exposure

    def open_trade_count(self) -> int:
        """Positions held plus working entries in symbols not held; a spread is one trade
        (its held legs and its working leg orders count once, not once per leg)."""
        book = self._current_book()
        if book.trades is None:
            held = book.held
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
        return self.market.quotes.get(symbol)

    def volume(self, symbol: str) -> int:
        return self.market.volume(symbol)

    def open_interest(self, symbol: str) -> int | None:
        return self.market.open_interest.get(symbol)

    def greeks(self, symbol: str) -> ContractGreeks | None:
        return None if self.greeks_source is None else self.greeks_source(symbol)

    def greeks_epoch(self) -> int | None:
        """The source's epoch (`QuoteGreeks.epoch`), None for a source without one."""
        source = self.greeks_source
        known = self._epoch_of
        if known[0] is not source:
            known = self._epoch_of = (source, getattr(source, "epoch", None))
        epoch = known[1]
        return None if epoch is None else epoch(self._now or self.clock.now())  # type: ignore[no-any-return]

    def today(self) -> date:
        """The New York date of now."""
        return self._today().date

    def session(self) -> Session | None:
        """Today's session, its times in `datetime.UTC`: the calendar's are in
        `ZoneInfo("UTC")`, and comparing those with the clock's costs ~1.5 µs each."""
        return self._today().session

    def _today(self) -> _Day:
        """Time zone maths is not free, so the day is kept with the UTC instants it starts and
        ends at, and its session, and recomputed only outside them (two comparisons a check)."""
        now = self._now or self.clock.now()
        day = self._day
        if day is not None and day.start <= now < day.end:
            return day
        today = now.astimezone(NEW_YORK).date()
        start = datetime.combine(today, time(), NEW_YORK).astimezone(UTC)
        end = datetime.combine(today + timedelta(days=1), time(), NEW_YORK).astimezone(UTC)
        day = self._day = _Day(start, end, today, self._session_on(today))
        return day

    def _session_on(self, today: date) -> Session | None:
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
        return self.journal.premium_on(self._today().date)

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


@dataclass(frozen=True, slots=True)
class _Day:
    """One New York calendar day: the UTC instants it starts and ends at, and its session."""

    start: datetime
    end: datetime
    date: date
    session: Session | None


@dataclass(slots=True)
class _Book:
    """Sums over the open positions and the working orders, as of one version of the portfolio
    and of the order book. `reusable` is False when a working buy has no limit price (its cost
    is the current ask, which moves without either version moving)."""

    portfolio_version: int
    orders_version: int
    held: dict[str, Position]
    working: list[Order]
    exposure: Exposure
    reusable: bool
    trades: int | None = None
