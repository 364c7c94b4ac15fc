"""A plain-values RiskContext for rule tests: no database, no broker, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from brokers.orders import Intent, Order, OrderRequest, OrderType, Side
from market.calendar import NEW_YORK, Session
from market.data import Quote
from risk.context import ContractGreeks, HeldPosition, LossStreak
from risk.exposure import Exposure
from risk.manager import RiskManager, RiskRule
from risk.state import TradingState

# 2015-12-24 was a half day: 09:30-13:00 New York = 14:30-18:00 UTC.
DAY = date(2015, 12, 24)
SESSION = Session(
    DAY, datetime(2015, 12, 24, 14, 30, tzinfo=UTC), datetime(2015, 12, 24, 18, 0, tzinfo=UTC)
)
NOON = datetime(2015, 12, 24, 17, 0, tzinfo=UTC)  # 12:00 New York
CALL = "GOOG151231C00750000"  # expires a week later
CALL_0DTE = "GOOG151224C00750000"
PUT = "GOOG151231P00745000"


@dataclass
class Held:
    quantity: int
    average_price: float = 1.0
    underlying: str = "GOOG"


@dataclass
class FakeContext:
    at: datetime = NOON
    equity: float = 100_000.0
    start_of_day_equity: float = 100_000.0
    buying_power: float = 100_000.0
    trading_state: TradingState = TradingState.ACTIVE
    entries_paused: bool = False
    feed_stale: bool = False
    broker_downtime: bool = False
    broker_disconnected: bool = False
    held: dict[str, Held] = field(default_factory=dict)
    working: list[Order] = field(default_factory=list)
    quotes: dict[str, Quote] = field(default_factory=dict)
    volumes: dict[str, int] = field(default_factory=dict)
    ois: dict[str, int] = field(default_factory=dict)
    greek_table: dict[str, ContractGreeks] = field(default_factory=dict)
    today_session: Session | None = SESSION
    premium_today: float = 0.0
    day_trades: int = 0
    streak: LossStreak = field(default_factory=LossStreak)

    def begin_check(self) -> None:
        pass

    def end_check(self) -> None:
        pass

    def now(self) -> datetime:
        return self.at

    def today(self) -> date:
        return self.at.astimezone(NEW_YORK).date()

    def position_quantity(self, symbol: str) -> int:
        pos = self.held.get(symbol)
        return 0 if pos is None else pos.quantity

    def positions(self) -> Mapping[str, HeldPosition]:
        return self.held

    def working_orders(self) -> Sequence[Order]:
        return self.working

    def exposure(self) -> Exposure:
        return Exposure.of(self)

    def open_trade_count(self) -> int:
        return sum(1 for p in self.held.values() if p.quantity) + sum(
            1 for o in self.working if o.request.intent is Intent.OPEN
        )

    def quote(self, symbol: str) -> Quote | None:
        return self.quotes.get(symbol)

    def volume(self, symbol: str) -> int:
        return self.volumes.get(symbol, 0)

    def open_interest(self, symbol: str) -> int | None:
        return self.ois.get(symbol)

    def greeks(self, symbol: str) -> ContractGreeks | None:
        return self.greek_table.get(symbol)

    def greeks_epoch(self) -> int | None:
        return None  # the table may change between checks

    def session(self) -> Session | None:
        return self.today_session

    def premium_opened_today(self) -> float:
        return self.premium_today

    def day_trades_in_window(self, sessions: int) -> int:
        return self.day_trades

    def losing_streak(self) -> LossStreak:
        return self.streak

    # -- helpers --------------------------------------------------------------------------
    def with_quote(
        self,
        symbol: str,
        bid: float,
        ask: float,
        ts: datetime | None = None,
        volume: int = 1_000,
        oi: int = 5_000,
    ) -> FakeContext:
        self.quotes[symbol] = Quote(symbol, ts or self.at, bid, ask, 10, 10, "GOOG")
        self.volumes[symbol] = volume
        self.ois[symbol] = oi
        return self


_ids = iter(range(1, 10**9))


def buy(
    symbol: str = CALL,
    quantity: int = 1,
    price: float | None = 2.0,
    intent: Intent = Intent.OPEN,
    order_type: OrderType = OrderType.LIMIT,
) -> OrderRequest:
    return OrderRequest(
        f"t-{next(_ids)}", symbol, Side.BUY, quantity, order_type, price, intent, underlying="GOOG"
    )


def sell(
    symbol: str = CALL,
    quantity: int = 1,
    price: float | None = 2.0,
    intent: Intent = Intent.CLOSE,
    order_type: OrderType = OrderType.LIMIT,
) -> OrderRequest:
    return OrderRequest(
        f"t-{next(_ids)}", symbol, Side.SELL, quantity, order_type, price, intent, underlying="GOOG"
    )


def working(request: OrderRequest, filled: int = 0) -> Order:
    return Order(request, NOON, filled_quantity=filled)


def passes(rule: RiskRule, request: OrderRequest, ctx: FakeContext) -> bool:
    """Whether the order gets through a manager holding only this rule (exits skip
    entry-only rules there, as in the bot)."""
    return RiskManager([rule]).check(request, ctx).approved
