"""Helpers every rule family shares: is this order an exit, what does it cost, what fits."""

from __future__ import annotations

from functools import lru_cache

from brokers.orders import OrderRequest
from market.instruments import CONTRACT_MULTIPLIER, OptionSymbol, is_option_symbol
from risk.context import RiskContext
from risk.members import BUY
from risk.reducing import is_entry, reduces_position

__all__ = [
    "fit",
    "is_entry",
    "multiplier",
    "option_of",
    "order_price",
    "reduces_position",
    "underlying_of",
    "unit_cost",
]


@lru_cache(maxsize=16384)
def option_of(symbol: str) -> OptionSymbol | None:
    """The parsed OCC symbol, None for a non-option (cached: symbols repeat all day)."""
    return OptionSymbol.parse(symbol) if is_option_symbol(symbol) else None


@lru_cache(maxsize=16384)
def multiplier(symbol: str) -> int:
    """Contract multiplier: 100 for an option, 1 for a share (cached: asked on every check)."""
    return 1 if option_of(symbol) is None else CONTRACT_MULTIPLIER


def order_price(request: OrderRequest, ctx: RiskContext) -> float | None:
    """The price the order would pay or receive: its limit, else the touch it would hit."""
    if request.limit_price is not None:
        return request.limit_price
    quote = ctx.quote(request.symbol)
    if quote is None:
        return None
    return quote.ask if request.side is BUY else quote.bid


def unit_cost(request: OrderRequest, ctx: RiskContext) -> float | None:
    """Premium of one contract (or one share) of this order, dollars; None if unpriced.
    Five sizing rules ask it per order, so a limit order's answer takes no further call."""
    price = request.limit_price
    if price is None:
        price = order_price(request, ctx)
        if price is None:
            return None
    if not price > 0:
        return None
    return price * multiplier(request.symbol)


def underlying_of(symbol: str, hint: str = "") -> str:
    """The underlying a contract belongs to: the given hint, else the OCC root."""
    if hint:
        return hint
    option = option_of(symbol)
    return symbol if option is None else option.root


def fit(limit: float, used: float, unit: float) -> int:
    """How many units of `unit` fit under `limit` once `used` is spent (never negative)."""
    room = limit - used
    if unit <= 0 or room < unit:
        return 0
    units = int(room // unit)
    if (units + 1) * unit <= room:  # floor division may land one short of an exact fit
        units += 1
    while units > 0 and units * unit > room:
        units -= 1
    return units
