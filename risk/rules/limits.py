"""The core limits: trading state, contracts per order, concurrent trades, position size."""

from __future__ import annotations

from dataclasses import dataclass

from brokers.orders import Intent, OrderRequest
from market.instruments import CONTRACT_MULTIPLIER, is_option_symbol
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject, Resize
from risk.state import TradingState


def reduces_position(request: OrderRequest, ctx: RiskContext) -> bool:
    """True when the order only shrinks an existing position toward zero."""
    held = ctx.position_quantity(request.symbol)
    signed = request.side.sign * request.quantity
    return held != 0 and (held > 0) != (signed > 0) and abs(signed) <= abs(held)


@dataclass(frozen=True)
class TradingStateGate:
    """ACTIVE allows all; paused, REDUCING and HALTED allow only position-reducing orders."""

    name: str = "trading_state"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if reduces_position(request, ctx):
            return APPROVE
        state = ctx.trading_state
        if state is not TradingState.ACTIVE:
            return Reject(self.name, f"{request.side} {request.symbol} would open or add while "
                                     f"trading is {state.value}: only exits are allowed")
        if request.intent is Intent.CLOSE:
            return Reject(self.name, f"closing order for {request.symbol} but no position to "
                                     "reduce")
        if ctx.entries_paused:
            return Reject(self.name, "entries are paused")
        return APPROVE


@dataclass(frozen=True)
class MaxContractsPerOrder:
    limit: int
    name: str = "max_contracts_per_order"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if request.quantity <= self.limit:
            return APPROVE
        return Resize(self.limit, self.name,
                      f"quantity {request.quantity} > max {self.limit} per order")


@dataclass(frozen=True)
class MaxConcurrentTrades:
    limit: int
    name: str = "max_concurrent_trades"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if reduces_position(request, ctx) or ctx.position_quantity(request.symbol) != 0:
            return APPROVE
        open_trades = ctx.open_trade_count()
        if open_trades >= self.limit:
            return Reject(self.name, f"{open_trades} trades open, max {self.limit}")
        return APPROVE


@dataclass(frozen=True)
class MaxPositionSize:
    """Premium outlay of one opening order ≤ a fraction of equity; larger orders are resized."""

    max_pct: float
    name: str = "max_position_size"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if reduces_position(request, ctx):
            return APPROVE
        price = request.limit_price
        if price is None:
            quote = ctx.quote(request.symbol)
            price = None if quote is None else quote.ask
        if price is None or price <= 0:
            return Reject(self.name, f"no price to size {request.symbol}")
        multiplier = CONTRACT_MULTIPLIER if is_option_symbol(request.symbol) else 1
        per_unit = price * multiplier
        budget = ctx.equity * self.max_pct
        allowed = int(budget // per_unit)
        if allowed >= request.quantity:
            return APPROVE
        return Resize(allowed, self.name,
                      f"{request.quantity} x {per_unit:,.2f} > {self.max_pct:.0%} of equity "
                      f"{ctx.equity:,.2f}")
