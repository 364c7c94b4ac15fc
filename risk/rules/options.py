"""Options-aware exposure: premium per trade and per day, contracts per underlying, premium
per expiry, and no naked short options. Each resizes an entry down to what fits, if anything."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject, Resize
from risk.members import BUY, SELL
from risk.rules.common import (
    fit,
    option_of,
    underlying_of,
    unit_cost,
)


def _resize_or_reject(name: str, allowed: int, request: OrderRequest, why: str) -> Decision:
    if allowed <= 0:
        return Reject(name, why)
    return Resize(allowed, name, why)


@dataclass(frozen=True)
class PremiumPerTrade:
    """Premium of one opening order ≤ a dollar amount."""

    max_premium: float
    entry_only: ClassVar[bool] = True
    name: str = "premium_per_trade"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if request.side is not BUY:
            return APPROVE
        per_unit = unit_cost(request, ctx)
        if per_unit is None:
            return Reject(self.name, f"no price for the premium of {request.symbol}")
        if per_unit * request.quantity <= self.max_premium:
            return APPROVE
        return _resize_or_reject(
            self.name,
            fit(self.max_premium, 0.0, per_unit),
            request,
            f"premium {per_unit * request.quantity:,.2f} > max {self.max_premium:,.2f} per trade",
        )


@dataclass(frozen=True)
class PremiumPerDay:
    """Premium paid to open today (filled and working, plus this order) ≤ a fraction of the
    session's opening equity."""

    max_pct: float
    entry_only: ClassVar[bool] = True
    name: str = "premium_per_day"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if request.side is not BUY:
            return APPROVE
        per_unit = unit_cost(request, ctx)
        if per_unit is None:
            return Reject(self.name, f"no price for the premium of {request.symbol}")
        budget = self.max_pct * (ctx.start_of_day_equity or ctx.equity)
        used = ctx.premium_opened_today() + ctx.exposure().entry_cost
        if used + per_unit * request.quantity <= budget:
            return APPROVE
        return _resize_or_reject(
            self.name,
            fit(budget, used, per_unit),
            request,
            f"premium today {used:,.2f} + {per_unit * request.quantity:,.2f} > "
            f"{self.max_pct:.0%} of opening equity ({budget:,.2f})",
        )


@dataclass(frozen=True)
class ContractsPerUnderlying:
    """Contracts held plus working entries across one underlying's contracts ≤ a limit."""

    limit: int
    entry_only: ClassVar[bool] = True
    name: str = "contracts_per_underlying"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        underlying = underlying_of(request.symbol, request.underlying)
        used = ctx.exposure().contracts_by_underlying.get(underlying, 0)
        if used + request.quantity <= self.limit:
            return APPROVE
        return _resize_or_reject(
            self.name,
            self.limit - used,
            request,
            f"{used} contracts of {underlying} held or working + {request.quantity} > max "
            f"{self.limit}",
        )


@dataclass(frozen=True)
class SameExpiryExposure:
    """Premium cost of everything expiring on the order's expiration day ≤ a fraction of
    equity, so one expiry's pin or crush cannot take the account."""

    max_pct: float
    entry_only: ClassVar[bool] = True
    name: str = "same_expiry_exposure"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        option = option_of(request.symbol)
        if option is None or request.side is not BUY:
            return APPROVE
        per_unit = unit_cost(request, ctx)
        if per_unit is None:
            return Reject(self.name, f"no price for the premium of {request.symbol}")
        expiry = option.expiration
        used = ctx.exposure().cost_by_expiry.get(expiry, 0.0)
        budget = self.max_pct * ctx.equity
        if used + per_unit * request.quantity <= budget:
            return APPROVE
        return _resize_or_reject(
            self.name,
            fit(budget, used, per_unit),
            request,
            f"premium expiring {expiry} {used:,.2f} + {per_unit * request.quantity:,.2f} > "
            f"{self.max_pct:.0%} of equity ({budget:,.2f})",
        )


@dataclass(frozen=True)
class NoShortOptions:
    """Selling an option to open (naked) is refused: its margin is not modelled here."""

    entry_only: ClassVar[bool] = True
    name: str = "no_short_options"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if request.side is SELL and option_of(request.symbol) is not None:
            return Reject(
                self.name,
                f"selling {request.symbol} to open (short option) is not "
                "allowed; set risk.options.allow_short_options to permit",
            )
        return APPROVE
