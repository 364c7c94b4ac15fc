"""Market events: quotes, trades and bars.

These sit on the hot path (hundreds of thousands per replayed day), so they are frozen slotted
dataclasses rather than pydantic models: constructing one costs well under a microsecond.
Validation happens once, at the feed boundary (`quote_problem`), not in the constructor, so a
bad quote can be counted and dropped instead of crashing the reader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Quote:
    """Top of book (NBBO) for one instrument at `ts` (the time it became known)."""

    symbol: str
    ts: datetime
    bid: float
    ask: float
    bid_size: int = 0
    ask_size: int = 0
    underlying: str = ""

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0

    @property
    def spread(self) -> float:
        return self.ask - self.bid


@dataclass(frozen=True, slots=True)
class Trade:
    """A print (or a minute of prints aggregated: price is the last, size the total)."""

    symbol: str
    ts: datetime
    price: float
    size: int
    underlying: str = ""
    exchange: str = ""


@dataclass(frozen=True, slots=True)
class Bar:
    """OHLCV over [start, start + span). `ts` is when the bar closed (when it became known)."""

    symbol: str
    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    timeframe: str = "1m"


def quote_problem(q: Quote) -> str | None:
    """Why a quote must not be used, or None if it is fine.

    The reasons are stable strings: they label the dropped-quote counter in metrics.
    """
    bid, ask = q.bid, q.ask
    # Fast path first (NaN fails every comparison, so it falls through to the checks below).
    if 0.0 <= bid <= ask < math.inf and ask > 0.0 and q.bid_size >= 0 and q.ask_size >= 0:
        return None
    if not (math.isfinite(bid) and math.isfinite(ask)):
        return "nan"
    if bid < 0 or ask < 0:
        return "negative"
    if ask <= 0:
        return "no_ask"
    if bid > ask:
        return "crossed"
    if q.bid_size < 0 or q.ask_size < 0:
        return "negative_size"
    return None
