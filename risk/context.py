"""The read-only view of the account that risk rules decide on.

The bot implements it over its portfolio and market state; tests implement it with plain
values. Rules never reach further than this.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from market.data import Quote
from risk.state import TradingState


class RiskContext(Protocol):
    def now(self) -> datetime: ...

    @property
    def equity(self) -> float:
        """Account equity now, positions marked at the side we would liquidate at."""

    @property
    def start_of_day_equity(self) -> float: ...

    @property
    def trading_state(self) -> TradingState: ...

    @property
    def entries_paused(self) -> bool: ...

    def position_quantity(self, symbol: str) -> int:
        """Signed contracts held (short is negative)."""

    def open_trade_count(self) -> int:
        """Positions held plus entries working at the broker."""

    def quote(self, symbol: str) -> Quote | None: ...
