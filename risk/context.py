"""The read-only view of the account that risk rules decide on.

The bot implements it over its portfolio, order book, market state and calendar
(`bot.account_view.AccountView`); tests implement it with plain values. Rules never reach
further than this, so every rule is testable without a database or a broker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from brokers.orders import Order
from market.calendar import Session
from market.data import Quote
from risk.state import TradingState

if TYPE_CHECKING:
    from risk.exposure import Exposure


@dataclass(frozen=True, slots=True)
class ContractGreeks:
    """Per-share Greeks of one contract: delta, gamma per $1 of the underlying, vega per
    volatility point (0.01), theta per calendar day, and the underlying price they were
    computed at (needed for delta and gamma in dollars)."""

    delta: float
    gamma: float
    vega: float
    theta: float
    underlying_price: float


@dataclass(frozen=True, slots=True)
class LossStreak:
    """Consecutive losing round trips up to now, and when the last of them closed."""

    losses: int = 0
    last_loss_at: datetime | None = None


class HeldPosition(Protocol):
    """What rules read of one position (the bot's `Position` satisfies it as is)."""

    @property
    def quantity(self) -> int: ...

    @property
    def average_price(self) -> float: ...

    @property
    def underlying(self) -> str: ...


class RiskContext(Protocol):
    def begin_check(self) -> None:
        """Called by the manager before each order: a view may cache what it computes until
        `end_check` (nothing changes while the rules run)."""

    def end_check(self) -> None: ...

    def now(self) -> datetime: ...

    def today(self) -> date:
        """The New York calendar day of `now()`: the day sessions and expiries are named by."""

    @property
    def equity(self) -> float:
        """Account equity now, positions marked at the side we would liquidate at."""

    @property
    def start_of_day_equity(self) -> float: ...

    @property
    def buying_power(self) -> float:
        """Money available for new premium, before working entries are taken off."""

    @property
    def trading_state(self) -> TradingState: ...

    @property
    def entries_paused(self) -> bool: ...

    @property
    def feed_stale(self) -> bool:
        """The live market-data feed is stale (silent or disconnected): no new entries."""

    @property
    def broker_downtime(self) -> bool:
        """The broker is inside a planned downtime window (IBKR's nightly restart)."""

    @property
    def broker_disconnected(self) -> bool:
        """The broker is unreachable or its order-update stream is down (unplanned)."""

    def position_quantity(self, symbol: str) -> int:
        """Signed contracts held (short is negative)."""

    def positions(self) -> Mapping[str, HeldPosition]:
        """Positions by symbol; entries with quantity 0 may be present and mean flat."""

    def working_orders(self) -> Sequence[Order]:
        """Orders sent and not yet in a terminal state (their remaining quantity works)."""

    def exposure(self) -> Exposure:
        """Sums over positions and working entries (`Exposure.of(self)`); a view may compute
        it once per check."""

    def open_trade_count(self) -> int:
        """Positions held plus entries working at the broker."""

    def quote(self, symbol: str) -> Quote | None: ...

    def volume(self, symbol: str) -> int:
        """Contracts traded this session."""

    def open_interest(self, symbol: str) -> int | None:
        """Latest open interest, None when the feed has not said."""

    def greeks(self, symbol: str) -> ContractGreeks | None:
        """Greeks of a contract, None when unknown."""

    def greeks_epoch(self) -> int | None:
        """A number that stays the same while no contract's Greeks change (the Greeks source
        refreshes them once per epoch), so sums over held contracts can be kept; None when the
        source cannot tell, and every contract is asked again."""

    def session(self) -> Session | None:
        """Today's regular session, None on a day without one."""

    def premium_opened_today(self) -> float:
        """Premium paid by today's opening fills, dollars."""

    def day_trades_in_window(self, sessions: int) -> int:
        """Day trades in the last `sessions` sessions, today included."""

    def losing_streak(self) -> LossStreak: ...
