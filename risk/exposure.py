"""What the account holds and has working, summed once per order.

Six rules need sums over the same positions and working entries (premium per symbol, per
expiry, per underlying, what working buys will still pay, signed exposure for Greeks).
The bot's view computes them once per change of the book (a fill, an order's status), not
once per rule nor once per check (decision 0355).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from market.instruments import CONTRACT_MULTIPLIER
from risk.members import BUY, OPEN
from risk.rules.common import option_of, underlying_of, unit_cost

if TYPE_CHECKING:
    from brokers.orders import Order
    from risk.context import HeldPosition, RiskContext


@dataclass(slots=True)
class Exposure:
    held: Mapping[str, HeldPosition]
    entry_cost: float = 0.0  # premium working buy entries will still pay
    cost_by_symbol: dict[str, float] = field(default_factory=dict)  # held cost + working buys
    cost_by_expiry: dict[date, float] = field(default_factory=dict)  # options only
    contracts_by_underlying: dict[str, int] = field(default_factory=dict)
    signed_by_symbol: dict[str, int] = field(default_factory=dict)  # held + working entries

    @classmethod
    def of(cls, ctx: RiskContext) -> Exposure:
        return cls.over(ctx.positions(), ctx.working_orders(), ctx)

    @classmethod
    def over(
        cls, held: Mapping[str, HeldPosition], working: Iterable[Order], ctx: RiskContext
    ) -> Exposure:
        """The sums over `held` and `working` (a view that keeps both passes them; `ctx` only
        prices working entries without a limit)."""
        out = cls(held)
        by_symbol, by_expiry = out.cost_by_symbol, out.cost_by_expiry
        by_underlying, signed = out.contracts_by_underlying, out.signed_by_symbol
        for sym, pos in held.items():
            qty = pos.quantity
            if not qty:
                continue
            option = option_of(sym)
            cost = abs(qty) * pos.average_price * (1 if option is None else CONTRACT_MULTIPLIER)
            by_symbol[sym] = by_symbol.get(sym, 0.0) + cost
            if option is not None:
                by_expiry[option.expiration] = by_expiry.get(option.expiration, 0.0) + cost
            und = underlying_of(sym, pos.underlying)
            by_underlying[und] = by_underlying.get(und, 0) + abs(qty)
            signed[sym] = signed.get(sym, 0) + qty
        for order in working:
            r = order.request
            if r.intent is not OPEN:
                continue
            sym, remaining = r.symbol, order.remaining
            und = underlying_of(sym, r.underlying)
            by_underlying[und] = by_underlying.get(und, 0) + remaining
            signed[sym] = signed.get(sym, 0) + r.side.sign * remaining
            if r.side is not BUY:
                continue
            per_unit = unit_cost(r, ctx)
            if per_unit is None:
                continue
            cost = per_unit * remaining
            out.entry_cost += cost
            by_symbol[sym] = by_symbol.get(sym, 0.0) + cost
            option = option_of(sym)
            if option is not None:
                by_expiry[option.expiration] = by_expiry.get(option.expiration, 0.0) + cost
        return out
