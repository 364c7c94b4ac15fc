"""Account rules: buying power, the pattern-day-trader counter, the losing-streak cooldown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from brokers.orders import OrderRequest
from market.calendar import NEW_YORK
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject, Resize
from risk.members import BUY
from risk.rules.common import fit, unit_cost


@dataclass(frozen=True)
class BuyingPower:
    """An entry's premium, with what working entries will still pay, ≤ buying power."""

    entry_only: ClassVar[bool] = True
    name: str = "buying_power"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if request.side is not BUY:
            return APPROVE
        per_unit = unit_cost(request, ctx)
        if per_unit is None:
            return Reject(self.name, f"no price for the cost of {request.symbol}")
        power = ctx.buying_power
        committed = ctx.exposure().entry_cost
        if committed + per_unit * request.quantity <= power:
            return APPROVE
        allowed = fit(power, committed, per_unit)
        why = (
            f"cost {per_unit * request.quantity:,.2f} + {committed:,.2f} working > buying "
            f"power {power:,.2f}"
        )
        return Reject(self.name, why) if allowed <= 0 else Resize(allowed, self.name, why)


@dataclass(frozen=True)
class PatternDayTrader:
    """Below the equity threshold, once the day trades allowed in the window are used, new
    entries stop: any entry would need a day trade to exit the same day. Exits always pass (a
    forced day trade beats an unmanaged position)."""

    equity_threshold: float
    max_day_trades: int
    window_sessions: int
    entry_only: ClassVar[bool] = True
    name: str = "pattern_day_trader"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if ctx.equity >= self.equity_threshold:
            return APPROVE
        used = ctx.day_trades_in_window(self.window_sessions)
        if used >= self.max_day_trades:
            return Reject(
                self.name,
                f"{used} day trades in the last {self.window_sessions} "
                f"sessions with equity {ctx.equity:,.2f} < "
                f"{self.equity_threshold:,.0f}: pattern-day-trader limit "
                f"of {self.max_day_trades}",
            )
        return APPROVE


@dataclass(frozen=True)
class LosingStreakCooldown:
    """After `losses` consecutive losing round trips, no entries for `cooldown` after the last
    one. A further loss restarts the cooldown; a win ends the streak."""

    losses: int
    cooldown: timedelta
    entry_only: ClassVar[bool] = True
    name: str = "losing_streak"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        streak = ctx.losing_streak()
        if streak.losses < self.losses or streak.last_loss_at is None:
            return APPROVE
        until = streak.last_loss_at + self.cooldown
        if ctx.now() >= until:
            return APPROVE
        return Reject(
            self.name,
            f"{streak.losses} losing trades in a row: entries resume at "
            f"{until.astimezone(NEW_YORK):%H:%M:%S} New York",
        )
