"""Portfolio Greeks limits in dollars: net delta, gamma, vega and daily theta after the order.

The portfolio counts positions held and working entries as if filled (the exposure we could
have). Per-contract Greeks come from the context; a share has delta 1 and nothing else. When a
limit is on and a contract's Greeks are unknown, the entry is rejected (`on_unknown = "reject"`,
the default) or that contract is left out of the sums (`"ignore"`). An entry that brings a
Greek back toward zero is always allowed; otherwise it is resized to the largest quantity that
keeps every Greek within its limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

from brokers.orders import OrderRequest
from risk.config import GreeksLimits
from risk.context import ContractGreeks, RiskContext
from risk.decision import APPROVE, Decision, Reject, Resize
from risk.exposure import Exposure
from risk.members import BUY
from risk.rules.common import multiplier, option_of

GREEKS = ("delta", "gamma", "vega", "theta")


def dollar_greeks(greeks: ContractGreeks, signed_quantity: int, mult: int) -> tuple[float, ...]:
    """(delta $, gamma $, vega $, theta $) of `signed_quantity` contracts."""
    scale = signed_quantity * mult
    s = greeks.underlying_price
    return (
        greeks.delta * scale * s,
        greeks.gamma * scale * s * s / 100.0,
        greeks.vega * scale,
        greeks.theta * scale,
    )


@dataclass(frozen=True)
class GreeksLimit:
    limits: GreeksLimits
    entry_only: ClassVar[bool] = True
    name: str = "greeks"
    _last: _Totals = field(init=False, repr=False, compare=False, default_factory=lambda: _Totals())

    @cached_property
    def _limited(self) -> tuple[tuple[int, str, float, float], ...]:
        """(index, Greek, low, high) of each Greek with a limit, read from the config once."""
        out = []
        for i, greek in enumerate(GREEKS):
            low, high = self._bounds(i)
            if low is not None and high is not None:
                out.append((i, greek, low, high))
        return tuple(out)

    @cached_property
    def _on(self) -> tuple[bool, bool]:
        """(any limit on, reject on unknown Greeks), read from the config once."""
        return self.limits.enabled, self.limits.on_unknown == "reject"

    def _greeks(self, symbol: str, ctx: RiskContext) -> ContractGreeks | None:
        if option_of(symbol) is not None:
            return ctx.greeks(symbol)
        quote = ctx.quote(symbol)
        return None if quote is None else ContractGreeks(1.0, 0.0, 0.0, 0.0, quote.mid)

    def _own(self, symbol: str, ctx: RiskContext, epoch: int | None) -> ContractGreeks | None:
        """The order's own contract's Greeks; within one epoch each contract is asked once."""
        last = self._last
        if epoch is None or epoch != last.epoch:
            return self._greeks(symbol, ctx)
        memo = last.by_symbol
        if symbol in memo:
            return memo[symbol]
        greeks = self._greeks(symbol, ctx)
        if option_of(symbol) is not None:
            memo[symbol] = greeks
        return greeks

    def _portfolio(self, ctx: RiskContext, epoch: int | None) -> tuple[list[float], str | None]:
        """Net dollar Greeks of what is held and working, and the first contract whose Greeks
        are unknown when that rejects. The sums are kept while the exposure is the same object
        (the view rebuilds it only when the book changes) and either the Greeks source's epoch
        is the same (one comparison, decision 0355) or, for a source without epochs, every
        contract's Greeks are the same objects as last time. Shares are marked at their quote,
        which moves on its own, so a book holding shares is summed again each time."""
        exposure = ctx.exposure()
        last = self._last
        if exposure is not last.exposure or last.shares:
            return self._sum(exposure, ctx, epoch)
        if epoch is not None:
            if epoch == last.epoch:
                return last.totals, last.unknown
            return self._sum(exposure, ctx, epoch)
        fetch = ctx.greeks
        for sym, before in zip(last.symbols, last.greeks, strict=True):
            if fetch(sym) is not before:
                return self._sum(exposure, ctx, epoch)
        return last.totals, last.unknown

    def _sum(
        self, exposure: Exposure, ctx: RiskContext, epoch: int | None
    ) -> tuple[list[float], str | None]:
        reject_unknown = self._on[1]
        last = self._last
        delta = gamma = vega = theta = 0.0
        unknown = None
        shares = False
        symbols: list[str] = []
        seen: list[ContractGreeks | None] = []
        memo = last.by_symbol if epoch is not None and epoch == last.epoch else {}
        for sym, qty in exposure.signed_by_symbol.items():
            if not qty:
                continue
            if option_of(sym) is None:
                shares = True
                g = self._greeks(sym, ctx)
            else:
                # Within one epoch a contract's Greeks do not change: ask the source once.
                g = memo[sym] if sym in memo else self._greeks(sym, ctx)
                symbols.append(sym)
                seen.append(g)
            if g is None:
                if reject_unknown:
                    unknown = sym
                    break
                continue
            d, ga, v, t = dollar_greeks(g, qty, multiplier(sym))
            delta, gamma, vega, theta = delta + d, gamma + ga, vega + v, theta + t
        totals = [delta, gamma, vega, theta]
        last.by_symbol = dict(zip(symbols, seen, strict=True))
        last.exposure, last.epoch, last.shares = exposure, epoch, shares
        last.symbols, last.greeks = symbols, seen
        last.totals, last.unknown = totals, unknown
        return totals, unknown

    def warm(self, ctx: RiskContext) -> None:
        """Sum the portfolio's Greeks now (the books changed), not in the next check."""
        if self._on[0]:
            self._portfolio(ctx, ctx.greeks_epoch())

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        enabled, reject_unknown = self._on
        if not enabled:
            return APPROVE
        epoch = ctx.greeks_epoch()
        totals, unknown = self._portfolio(ctx, epoch)  # first: it may start the epoch's memo
        own = self._own(request.symbol, ctx, epoch)
        if own is None:
            if reject_unknown:
                return Reject(
                    self.name,
                    f"Greeks of {request.symbol} unknown: cannot check the portfolio Greeks limits",
                )
            return APPROVE
        if unknown is not None:
            return Reject(
                self.name,
                f"Greeks of held {unknown} unknown: cannot check the portfolio Greeks limits",
            )
        unit = self._unit(own, request)
        wanted = request.quantity
        allowed, why = wanted, ""
        for i, greek, low, high in self._limited:
            if low <= totals[i] + unit[i] * wanted <= high:
                continue  # inside the limit: `_max_quantity` would say `wanted`
            fits = _max_quantity(totals[i], unit[i], low, high, wanted)
            if fits < allowed:
                allowed = fits
                after = totals[i] + unit[i] * request.quantity
                why = (
                    f"net {greek} $ {totals[i]:,.0f} → {after:,.0f} with {request.quantity} "
                    f"{request.symbol}, limit {low:,.0f}..{high:,.0f}"
                )
        if allowed >= request.quantity:
            return APPROVE
        if allowed <= 0:
            return Reject(self.name, why)
        return Resize(allowed, self.name, why)

    def _unit(self, own: ContractGreeks, request: OrderRequest) -> tuple[float, ...]:
        """Dollar Greeks of one contract of the order, kept for the last (Greeks, side,
        contract)."""
        last = self._last
        buy, symbol = request.side is BUY, request.symbol
        if own is not last.own or buy is not last.own_buy or symbol != last.own_symbol:
            last.unit = dollar_greeks(own, 1 if buy else -1, multiplier(symbol))
            last.own, last.own_buy, last.own_symbol = own, buy, symbol
        return last.unit

    def _bounds(self, index: int) -> tuple[float | None, float | None]:
        lim = self.limits
        if index == 3:
            decay = lim.max_theta_decay_dollars
            return (None, None) if decay is None else (-decay, math.inf)
        value = (lim.max_abs_delta_dollars, lim.max_abs_gamma_dollars, lim.max_abs_vega_dollars)[
            index
        ]
        return (None, None) if value is None else (-value, value)


class _Totals:
    """The last portfolio sums and what they were computed from: the exposure (compared by
    identity), the Greeks source's epoch, and each option's Greeks (identity, for a source
    without epochs)."""

    __slots__ = (
        "by_symbol",
        "epoch",
        "exposure",
        "greeks",
        "own",
        "own_buy",
        "own_symbol",
        "shares",
        "symbols",
        "totals",
        "unit",
        "unknown",
    )

    def __init__(self) -> None:
        self.exposure: object = None
        self.epoch: int | None = None
        self.shares = False  # the book holds shares, marked at their quote
        self.symbols: list[str] = []  # options only
        self.greeks: list[ContractGreeks | None] = []
        self.totals: list[float] = []
        self.unknown: str | None = None
        self.own: ContractGreeks | None = None  # the last order's contract Greeks and side
        self.by_symbol: dict[str, ContractGreeks | None] = {}  # options' Greeks in `epoch`
        self.own_buy = False
        self.own_symbol = ""
        self.unit: tuple[float, ...] = ()


def _max_quantity(total: float, unit: float, low: float, high: float, wanted: int) -> int:
    """Largest q ≤ wanted with total + q·unit inside [low, high], or not moving away from it."""
    after = total + unit * wanted
    if low <= after <= high:
        return wanted
    if abs(after) <= abs(total) or unit == 0:
        return wanted  # already outside and this order brings it back toward zero
    bound = high if unit > 0 else low
    room = (bound - total) / unit
    if room < 0:
        return 0
    return min(wanted, math.floor(room))
