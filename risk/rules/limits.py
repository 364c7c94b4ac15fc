"""The core limits: order sanity, trading state, daily loss, contracts per order, concurrent
trades, position size. Exits (position-reducing orders) pass every entry-only rule."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject, Resize
from risk.members import ACTIVE, CLOSE, LIMIT
from risk.rules.common import (
    fit,
    reduces_position,
    unit_cost,
)


@dataclass(frozen=True)
class OrderSanity:
    """Malformed orders never go out: positive quantity, a finite positive limit price."""

    name: str = "order_sanity"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if not request.symbol:
            return Reject(self.name, "order without a symbol")
        if request.quantity <= 0:
            return Reject(self.name, f"quantity {request.quantity} is not positive")
        price = request.limit_price
        if price is None:
            if request.order_type is LIMIT:
                return Reject(self.name, f"limit order for {request.symbol} without a price")
            return APPROVE
        if not math.isfinite(price) or price <= 0:
            return Reject(
                self.name, f"limit price {price} for {request.symbol} is not a positive number"
            )
        return APPROVE


@dataclass(frozen=True)
class TradingStateGate:
    """ACTIVE allows all; paused, REDUCING and HALTED allow only position-reducing orders."""

    name: str = "trading_state"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if reduces_position(request, ctx):
            return APPROVE
        state = ctx.trading_state
        if state is not ACTIVE:
            return Reject(
                self.name,
                f"{request.side} {request.symbol} would open or add while "
                f"trading is {state.value}: only exits are allowed",
            )
        if request.intent is CLOSE:
            return Reject(
                self.name,
                f"closing order for {request.symbol} but no position to "
                "reduce (or other exits already close it)",
            )
        if ctx.entries_paused:
            return Reject(self.name, "entries are paused")
        return APPROVE


@dataclass(frozen=True)
class DailyLossGuard:
    """Refuses entries once equity is down `max_pct` from the session's opening equity, even
    before the engine's breaker has latched REDUCING (it latches on the next mark)."""

    max_pct: float
    entry_only: ClassVar[bool] = True
    name: str = "daily_loss"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        start = ctx.start_of_day_equity
        if start <= 0:
            return APPROVE
        loss = start - ctx.equity
        if loss >= self.max_pct * start:
            return Reject(
                self.name,
                f"daily loss {loss:,.2f} ({loss / start:.2%}) reached the "
                f"{self.max_pct:.2%} limit of opening equity {start:,.2f}",
            )
        return APPROVE


@dataclass(frozen=True)
class MaxContractsPerOrder:
    limit: int
    entry_only: ClassVar[bool] = True
    name: str = "max_contracts_per_order"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if request.quantity <= self.limit:
            return APPROVE
        return Resize(
            self.limit, self.name, f"quantity {request.quantity} > max {self.limit} per order"
        )


@dataclass(frozen=True)
class MaxConcurrentTrades:
    """Positions held plus working entries; adding to a held position is not a new trade."""

    limit: int
    entry_only: ClassVar[bool] = True
    name: str = "max_concurrent_trades"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if ctx.position_quantity(request.symbol) != 0:
            return APPROVE
        open_trades = ctx.open_trade_count()
        if open_trades >= self.limit:
            return Reject(self.name, f"{open_trades} trades open or working, max {self.limit}")
        return APPROVE


@dataclass(frozen=True)
class MaxPositionSize:
    """Premium cost of one position (held, working and this order) ≤ a fraction of equity;
    larger orders are resized to what fits."""

    max_pct: float
    entry_only: ClassVar[bool] = True
    name: str = "max_position_size"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        per_unit = unit_cost(request, ctx)
        if per_unit is None:
            return Reject(self.name, f"no price to size {request.symbol}")
        used = ctx.exposure().cost_by_symbol.get(request.symbol, 0.0)
        budget = ctx.equity * self.max_pct
        if used + per_unit * request.quantity <= budget:
            return APPROVE
        return Resize(
            fit(budget, used, per_unit),
            self.name,
            f"{request.quantity} x {per_unit:,.2f} on top of {used:,.2f} held or "
            f"working > {self.max_pct:.0%} of equity {ctx.equity:,.2f}",
        )
