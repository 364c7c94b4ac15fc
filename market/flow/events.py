"""What the flow analytics report: notable prints for strategies and notifiers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from market.flow.classify import TradeSide


@dataclass(frozen=True, slots=True)
class BlockTrade:
    """One large print."""

    symbol: str
    underlying: str
    ts: datetime
    price: float
    size: int
    premium: float  # dollars: price x size x multiplier
    side: TradeSide


@dataclass(frozen=True, slots=True)
class Sweep:
    """Prints of one contract on several exchanges within a short window: an order that took
    liquidity wherever it was, i.e. urgency."""

    symbol: str
    underlying: str
    first_ts: datetime
    last_ts: datetime
    exchanges: tuple[str, ...]
    size: int
    premium: float
    side: TradeSide  # the side holding most of the premium (UNKNOWN if none signed)


FlowEvent = BlockTrade | Sweep
