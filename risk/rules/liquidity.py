"""Market quality of the contract being entered: a fresh quote, a tight spread, enough
volume today and enough open interest. Exits never wait for a good market."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from typing import ClassVar

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject


@dataclass(frozen=True)
class StaleQuote:
    max_age_seconds: float
    entry_only: ClassVar[bool] = True
    name: str = "stale_quote"

    @cached_property
    def _max_age(self) -> timedelta:
        return timedelta(seconds=self.max_age_seconds)

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        quote = ctx.quote(request.symbol)
        if quote is None:
            return Reject(self.name, f"no quote for {request.symbol}")
        if ctx.now() - quote.ts <= self._max_age:  # one subtraction, one comparison
            return APPROVE
        age = (ctx.now() - quote.ts).total_seconds()
        if age > self.max_age_seconds:
            return Reject(
                self.name,
                f"quote for {request.symbol} is {age:.0f}s old (max {self.max_age_seconds:g}s)",
            )
        return APPROVE


@dataclass(frozen=True)
class MaxSpread:
    """Rejects when the spread is wider than `max_abs` dollars or `max_pct` of mid."""

    max_abs: float | None
    max_pct: float | None
    entry_only: ClassVar[bool] = True
    name: str = "spread"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        quote = ctx.quote(request.symbol)
        if quote is None or not quote.bid > 0 or not quote.ask >= quote.bid:
            return Reject(self.name, f"no two-sided market for {request.symbol}")
        spread = quote.ask - quote.bid
        if self.max_abs is not None and spread > self.max_abs + 1e-9:
            return Reject(
                self.name, f"spread {spread:.2f} of {request.symbol} > max {self.max_abs:.2f}"
            )
        mid = (quote.ask + quote.bid) / 2.0
        if self.max_pct is not None and spread > self.max_pct * mid + 1e-9:
            return Reject(
                self.name,
                f"spread {spread:.2f} is {spread / mid:.1%} of mid "
                f"{mid:.2f} for {request.symbol}, max {self.max_pct:.1%}",
            )
        return APPROVE


@dataclass(frozen=True)
class MinVolume:
    minimum: int
    entry_only: ClassVar[bool] = True
    name: str = "volume"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        volume = ctx.volume(request.symbol)
        if volume < self.minimum:
            return Reject(self.name, f"{request.symbol} traded {volume} today, min {self.minimum}")
        return APPROVE


@dataclass(frozen=True)
class MinOpenInterest:
    minimum: int
    reject_unknown: bool = False
    entry_only: ClassVar[bool] = True
    name: str = "open_interest"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        oi = ctx.open_interest(request.symbol)
        if oi is None:
            if self.reject_unknown:
                return Reject(self.name, f"open interest of {request.symbol} unknown")
            return APPROVE
        if oi < self.minimum:
            return Reject(
                self.name, f"open interest of {request.symbol} is {oi}, min {self.minimum}"
            )
        return APPROVE
