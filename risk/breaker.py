"""The daily-loss circuit breaker, measured on equity (realized plus unrealized P&L).

It compares equity marked at the liquidation side with the session's opening equity. Crossing
the first threshold latches REDUCING; the optional second threshold latches HALTED. The latch
only moves toward safety within a session; the store keeps it across restarts.
"""

from __future__ import annotations

from risk.config import RiskConfig
from risk.state import TradingState

_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}


class DailyLossBreaker:
    def __init__(self, config: RiskConfig) -> None:
        self._limit = config.max_daily_loss_pct
        self._halt = config.halt_daily_loss_pct

    def evaluate(self, equity: float, start_of_day_equity: float,
                 current: TradingState) -> tuple[TradingState, str] | None:
        """The state to latch and why, or None when nothing changes."""
        if start_of_day_equity <= 0:
            return None
        # Compared in money, the same way as the `daily_loss` rule, so both agree at the line.
        loss_money = start_of_day_equity - equity
        loss = loss_money / start_of_day_equity
        target, limit = TradingState.ACTIVE, 0.0
        if self._halt is not None and loss_money >= self._halt * start_of_day_equity:
            target, limit = TradingState.HALTED, self._halt
        elif loss_money >= self._limit * start_of_day_equity:
            target, limit = TradingState.REDUCING, self._limit
        if _SEVERITY[target] <= _SEVERITY[current]:
            return None
        return target, (f"daily loss {loss:.2%} of opening equity {start_of_day_equity:,.2f} "
                        f"reached the {limit:.2%} limit")
