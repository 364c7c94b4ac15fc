"""A multi-leg options order (spread, straddle, condor), neutral across venues.

Sent atomically as one order (Alpaca `mleg`, IBKR `BAG` combo), never legged in one leg at a
time: a venue that cannot do that refuses it. Validated here, before any venue sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from brokers.orders import Intent, OrderType, Side, TimeInForce
from market.instruments import OptionSymbol

MIN_LEGS, MAX_LEGS = 2, 4


@dataclass(frozen=True, slots=True)
class Leg:
    symbol: str  # OCC option symbol
    side: Side
    ratio: int = 1
    intent: Intent = Intent.OPEN


@dataclass(frozen=True, slots=True)
class MultiLegOrder:
    """`quantity` combos of `legs`; a limit price is the net price per combo (debit > 0)."""

    client_order_id: str
    legs: tuple[Leg, ...]
    quantity: int
    order_type: OrderType = OrderType.LIMIT
    limit_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY

    def __post_init__(self) -> None:
        if not MIN_LEGS <= len(self.legs) <= MAX_LEGS:
            raise ValueError(f"a multi-leg order has {MIN_LEGS}-{MAX_LEGS} legs, "
                             f"got {len(self.legs)}")
        symbols = [leg.symbol for leg in self.legs]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"multi-leg order repeats a leg symbol: {symbols}")
        for leg in self.legs:
            OptionSymbol.parse(leg.symbol)  # raises a clear ValueError on a bad symbol
            if leg.ratio < 1:
                raise ValueError(f"leg {leg.symbol}: ratio must be >= 1, got {leg.ratio}")
        if self.quantity < 1:
            raise ValueError(f"quantity must be >= 1, got {self.quantity}")
        if self.order_type is OrderType.LIMIT and self.limit_price is None:
            raise ValueError("a limit multi-leg order needs a limit price")

    @property
    def underlying(self) -> str:
        return OptionSymbol.parse(self.legs[0].symbol).root
