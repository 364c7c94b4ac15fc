"""A multi-leg options order (spread, straddle, condor), neutral across venues.

Sent atomically as one order (Alpaca `mleg`, IBKR `BAG` combo, the paper venue's combo book),
never legged in one leg at a time: a venue that cannot do that refuses it. Validated here,
before any venue sees it.

Every combo is *bought* at a net price per combo: a debit is positive, a credit negative (the
convention of Alpaca's `mleg` limit and IB's BAG BUY limit). A credit spread is therefore a
combo whose legs sell the richer option; closing a combo buys the reversed legs. Its natural
price is what crossing every leg's spread costs (buy legs at the ask, sell legs at the bid).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol, runtime_checkable

from brokers.orders import Intent, OrderType, Side, TimeInForce
from market.data import Quote
from market.instruments import OptionSymbol

MIN_LEGS, MAX_LEGS = 2, 4
#: Between a combo's client order id and a leg's index: the id of a leg in our books.
LEG_MARK = ".L"


@lru_cache(maxsize=4096)
def parsed(symbol: str) -> OptionSymbol:
    """A leg's OCC symbol, parsed once (combos are checked and priced over and over)."""
    return OptionSymbol.parse(symbol)


@dataclass(frozen=True, slots=True)
class Leg:
    symbol: str  # OCC option symbol
    side: Side
    ratio: int = 1
    intent: Intent = Intent.OPEN

    @property
    def reversed(self) -> Leg:
        """The leg that closes this one."""
        return Leg(self.symbol, self.side.opposite, self.ratio, Intent.CLOSE)


@dataclass(frozen=True, slots=True)
class MultiLegOrder:
    """`quantity` combos of `legs`; a limit price is the net price per combo (debit > 0)."""

    client_order_id: str
    legs: tuple[Leg, ...]
    quantity: int
    order_type: OrderType = OrderType.LIMIT
    limit_price: float | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    strategy: str = ""
    reason: str = ""  # human readable: why this combo exists
    replaces: str | None = None  # the combo this one replaced (a net-price step)

    def __post_init__(self) -> None:
        if not MIN_LEGS <= len(self.legs) <= MAX_LEGS:
            raise ValueError(
                f"a multi-leg order has {MIN_LEGS}-{MAX_LEGS} legs, got {len(self.legs)}"
            )
        symbols = [leg.symbol for leg in self.legs]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"multi-leg order repeats a leg symbol: {symbols}")
        roots = {parsed(s).root for s in symbols}  # raises on a bad symbol
        if len(roots) != 1:
            raise ValueError(f"multi-leg order spans several underlyings: {sorted(roots)}")
        for leg in self.legs:
            if leg.ratio < 1:
                raise ValueError(f"leg {leg.symbol}: ratio must be >= 1, got {leg.ratio}")
        if self.quantity < 1:
            raise ValueError(f"quantity must be >= 1, got {self.quantity}")
        if self.order_type is OrderType.LIMIT and (
            self.limit_price is None or not math.isfinite(self.limit_price)
        ):
            raise ValueError("a limit multi-leg order needs a finite limit price")

    @property
    def underlying(self) -> str:
        return parsed(self.legs[0].symbol).root

    @property
    def symbol(self) -> str:
        """The legs joined by `|`: how venues list a combo (and the duplicate guard's key)."""
        return "|".join(leg.symbol for leg in self.legs)

    @property
    def label(self) -> str:
        """A short name for people and the store's 32-character symbol column."""
        return f"{self.underlying} {len(self.legs)}-leg combo"

    @property
    def contracts_per_combo(self) -> int:
        return sum(leg.ratio for leg in self.legs)

    @property
    def closes(self) -> bool:
        """Every leg closes a position: the combo is an exit."""
        return all(leg.intent is Intent.CLOSE for leg in self.legs)

    @property
    def intent(self) -> Intent:
        return Intent.CLOSE if self.closes else Intent.OPEN

    def leg_id(self, index: int) -> str:
        return f"{self.client_order_id}{LEG_MARK}{index}"

    def with_quantity(self, quantity: int) -> MultiLegOrder:
        return replace(self, quantity=quantity)

    def reversed(self, client_order_id: str, reason: str = "") -> MultiLegOrder:
        """The combo that closes this one, as a market order (price it before sending)."""
        return MultiLegOrder(
            client_order_id,
            tuple(leg.reversed for leg in self.legs),
            self.quantity,
            OrderType.MARKET,
            None,
            self.time_in_force,
            self.strategy,
            reason or f"close {self.client_order_id}",
        )


def combo_id_of(client_order_id: str) -> str | None:
    """The combo a leg id belongs to, None when the id is not a leg's."""
    head, mark, index = client_order_id.rpartition(LEG_MARK)
    return head if mark and index.isdigit() else None


@dataclass(frozen=True, slots=True)
class NetQuote:
    """The market for one combo: `ask` is what buying it costs now (the natural price),
    `bid` what selling it back would bring; both may be negative (a credit)."""

    bid: float
    ask: float
    size: int  # combos the displayed leg sizes can fill at once

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


def net_quote(legs: Iterable[Leg], quote_of: Callable[[str], Quote | None]) -> NetQuote | None:
    """The combo's net market from its legs' quotes; None when a leg has no two-sided quote."""
    bid = ask = 0.0
    size: int | None = None
    for leg in legs:
        q = quote_of(leg.symbol)
        if q is None or not q.bid > 0 or not q.ask >= q.bid:
            return None
        if leg.side is Side.BUY:
            ask += leg.ratio * q.ask
            bid += leg.ratio * q.bid
            shown = q.ask_size // leg.ratio
        else:
            ask -= leg.ratio * q.bid
            bid -= leg.ratio * q.ask
            shown = q.bid_size // leg.ratio
        size = shown if size is None else min(size, shown)
    return NetQuote(round(bid, 6), round(ask, 6), max(size or 0, 0))


@runtime_checkable
class ComboVenue(Protocol):
    """A venue that takes a multi-leg order as one order. Like `Broker.submit`, never blocks:
    the outcome comes back through the listener, keyed by the combo's client order id, and
    each leg's fill arrives as a `Fill` of that leg's symbol under the combo's id."""

    def submit_multileg(self, order: MultiLegOrder) -> None: ...
