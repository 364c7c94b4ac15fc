"""The trade journal: what the account-level rules need to know about past fills.

Fed with every fill (and rebuilt from the stored fills at start-up, so a restart forgets
nothing), it keeps three running figures that would otherwise need a query per order:

- premium paid by opening fills per session day (the premium-per-day limit);
- day trades per session day: a closing order that reduces quantity opened the same day counts
  once, however many partial fills it has (the pattern-day-trader counter);
- the losing streak: consecutive round trips (flat → position → flat) whose P&L after fees is
  negative, and when the last one closed (the losing-streak cooldown).

Days are New York calendar days, the days sessions are named by.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from brokers.orders import Fill
from market.calendar import NEW_YORK
from market.instruments import CONTRACT_MULTIPLIER, is_option_symbol
from risk.context import LossStreak


def multiplier_of(symbol: str) -> int:
    return CONTRACT_MULTIPLIER if is_option_symbol(symbol) else 1


@dataclass(slots=True)
class _Book:
    """One symbol's round trip in progress."""

    quantity: int = 0
    average_price: float = 0.0
    pnl: float = 0.0  # realized P&L of the current round trip, after fees
    opened_day: date | None = None
    opened_today: int = 0  # contracts opened on `opened_day`, not yet closed


@dataclass
class TradeJournal:
    premium_by_day: dict[date, float] = field(default_factory=dict)
    day_trades_by_day: dict[date, int] = field(default_factory=dict)
    streak: LossStreak = field(default_factory=LossStreak)
    _books: dict[str, _Book] = field(default_factory=dict)
    _day_trade_orders: set[str] = field(default_factory=set)
    _seen: set[str] = field(default_factory=set)
    _since: tuple[date, int, int] | None = None  # (first day, day trades then, the sum)
    _changes: int = 0  # day trades recorded: a new one invalidates `_since`

    def load(self, fills: Iterable[Fill]) -> None:
        """Replay stored fills in time order (start-up)."""
        for fill in sorted(fills, key=lambda f: f.ts):
            self.record(fill)

    def record(self, fill: Fill) -> None:
        """Account for one fill; a fill id seen before is ignored."""
        if fill.fill_id in self._seen:
            return
        self._seen.add(fill.fill_id)
        day = fill.ts.astimezone(NEW_YORK).date()
        book = self._books.get(fill.symbol)
        if book is None:
            book = self._books[fill.symbol] = _Book()
        if book.opened_day != day:
            book.opened_day, book.opened_today = day, 0
        mult = multiplier_of(fill.symbol)
        signed = fill.side.sign * fill.quantity
        book.pnl -= fill.commission
        if book.quantity == 0 or (book.quantity > 0) == (signed > 0):
            self._open(book, fill, signed, day, mult)
            return
        self._close(book, fill, signed, day, mult)

    def _open(self, book: _Book, fill: Fill, signed: int, day: date, mult: int) -> None:
        if book.quantity == 0:
            book.pnl = -fill.commission
        total = abs(book.quantity) + abs(signed)
        book.average_price = (
            book.average_price * abs(book.quantity) + fill.price * abs(signed)
        ) / total
        book.quantity += signed
        book.opened_today += abs(signed)
        if signed > 0:
            self.premium_by_day[day] = (
                self.premium_by_day.get(day, 0.0) + fill.price * fill.quantity * mult
            )

    def _close(self, book: _Book, fill: Fill, signed: int, day: date, mult: int) -> None:
        closing = min(abs(signed), abs(book.quantity))
        direction = 1 if book.quantity > 0 else -1
        book.pnl += (fill.price - book.average_price) * closing * direction * mult
        if book.opened_today > 0 and fill.client_order_id not in self._day_trade_orders:
            self._day_trade_orders.add(fill.client_order_id)
            self.day_trades_by_day[day] = self.day_trades_by_day.get(day, 0) + 1
            self._changes += 1
        book.opened_today = max(0, book.opened_today - closing)
        book.quantity += signed
        if book.quantity != 0 and (book.quantity > 0) == (direction > 0):
            return
        self._end_round_trip(book.pnl, fill.ts)
        rest = book.quantity  # a fill through zero opens the other way at this price
        book.quantity, book.average_price, book.pnl = 0, 0.0, 0.0
        if rest:
            book.quantity, book.average_price = rest, fill.price
            book.opened_today = abs(rest)

    def _end_round_trip(self, pnl: float, ts: datetime) -> None:
        if pnl < 0:
            self.streak = LossStreak(self.streak.losses + 1, ts)
        else:
            self.streak = LossStreak()

    # -- queries --------------------------------------------------------------------------
    def premium_on(self, day: date) -> float:
        return self.premium_by_day.get(day, 0.0)

    def day_trades_since(self, first_day: date) -> int:
        """Asked on every entry by the pattern-day-trader rule: the sum over the days is kept
        until a day trade is recorded or another window is asked for."""
        memo = self._since
        if memo is not None and memo[0] == first_day and memo[1] == self._changes:
            return memo[2]
        total = sum(n for d, n in self.day_trades_by_day.items() if d >= first_day)
        self._since = (first_day, self._changes, total)
        return total
