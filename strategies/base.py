"""The strategy interface: market events in, `Signal`s out. Never orders, never a broker.

Optional hooks return no signals by default, so a strategy implements only what it uses.
`INTERFACE_VERSION` changes when a hook's meaning changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from market.clock import Clock
from market.data import Bar, Quote, Trade
from market.state import MarketState


class SignalAction(StrEnum):
    BUY_TO_OPEN = "buy_to_open"
    SELL_TO_CLOSE = "sell_to_close"


@dataclass(frozen=True, slots=True)
class SignalLeg:
    """One leg of a multi-leg signal: a contract, bought or sold, and how many per combo.
    Plain values, so a strategy never needs a broker's types."""

    symbol: str
    side: Literal["buy", "sell"]
    ratio: int = 1


@dataclass(frozen=True, slots=True)
class Signal:
    """A strategy's wish to trade, with everything sizing, risk and a person need to judge it.

    With `legs` (2-4, e.g. a vertical spread) the signal is one combo, sent as one order and
    never legged in: `entry_limit` is then the net price per combo (a debit > 0, a credit < 0)
    and `symbol` only names it for people. BUY_TO_OPEN opens the legs as given; SELL_TO_CLOSE
    closes the spread held in those legs (each leg reversed).
    """

    strategy: str
    action: SignalAction
    symbol: str
    ts: datetime
    entry_limit: float
    confidence: float
    reason: str
    underlying: str = ""
    target: float | None = None
    stop: float | None = None
    time_stop: timedelta | None = None
    legs: tuple[SignalLeg, ...] = ()


@dataclass(frozen=True, slots=True)
class FillNotice:
    """What a strategy learns about its own fills (no broker types cross this line)."""

    symbol: str
    quantity: int  # signed: bought > 0, sold < 0
    price: float
    ts: datetime


class StrategyConfig(BaseModel):
    """Base of every strategy's config: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(True, description="Run this strategy.")
    max_capital_pct: float | None = Field(
        0.25, gt=0, le=1, description="Safeguard: premium this strategy may hold or have "
        "working, as a fraction of equity; None = no limit of its own.")
    max_entries_per_day: int | None = Field(
        30, ge=1, description="Safeguard: entries per session; None = no limit.")
    max_open_positions: int | None = Field(
        3, ge=1, description="Safeguard: positions this strategy may hold at once.")


class Strategy:
    """Base class. Subclasses set `name`, take their config, and override the hooks they use."""

    INTERFACE_VERSION: ClassVar[int] = 1
    name: ClassVar[str] = "strategy"

    def __init__(self, config: Any, market: MarketState, clock: Clock) -> None:
        self.config = config
        self.market = market
        self.clock = clock

    def on_start(self) -> list[Signal]:
        return []

    def on_bar(self, bar: Bar) -> list[Signal]:
        return []

    def on_quote(self, quote: Quote) -> list[Signal]:
        return []

    def on_trade(self, trade: Trade) -> list[Signal]:
        return []

    def on_chain(self, chain: Any) -> list[Signal]:
        return []

    def on_fill(self, fill: FillNotice) -> list[Signal]:
        return []
