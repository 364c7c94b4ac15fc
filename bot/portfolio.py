"""Positions, cash and P&L, built from fills.

Unrealized P&L is marked two ways: at the NBBO mid (what a position is "worth") and at the
liquidation side (what closing it now would fetch: the bid for a long, the ask for a short).
Risk uses the liquidation mark, because that is the money a breaker protects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from bot.store.store import StoredPosition
from brokers.orders import Fill
from market.data import Quote
from market.instruments import CONTRACT_MULTIPLIER, is_option_symbol


@lru_cache(maxsize=16384)
def multiplier(symbol: str) -> int:
    """Contract multiplier (cached: marking the book asks it per position per risk check)."""
    return CONTRACT_MULTIPLIER if is_option_symbol(symbol) else 1


@dataclass(slots=True)
class Position:
    symbol: str
    underlying: str = ""
    quantity: int = 0  # signed contracts
    average_price: float = 0.0
    realized_pnl: float = 0.0  # after fees
    fees: float = 0.0

    def apply(self, fill: Fill) -> None:
        """Update quantity, cost basis and realized P&L with one fill."""
        signed = fill.side.sign * fill.quantity
        mult = multiplier(self.symbol)
        self.fees += fill.commission
        self.realized_pnl -= fill.commission
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            total = abs(self.quantity) + abs(signed)
            self.average_price = (
                self.average_price * abs(self.quantity) + fill.price * abs(signed)
            ) / total
            self.quantity += signed
            return
        closing = min(abs(signed), abs(self.quantity))
        direction = 1 if self.quantity > 0 else -1
        self.realized_pnl += (fill.price - self.average_price) * closing * direction * mult
        self.quantity += signed
        if self.quantity == 0:
            self.average_price = 0.0
        elif (self.quantity > 0) != (direction > 0):
            self.average_price = fill.price  # flipped through zero

    def stored(self) -> StoredPosition:
        return StoredPosition(
            self.symbol,
            self.underlying,
            self.quantity,
            self.average_price,
            self.realized_pnl,
            self.fees,
        )


@dataclass
class Portfolio:
    starting_cash: float
    cash: float = 0.0
    positions: dict[str, Position] = field(default_factory=dict)
    fills_seen: int = 0
    #: Moves whenever cash or any position changes (a committed fill, a restore): readers that
    #: keep sums over the book (the risk view) recompute only when it moved (decision 0355).
    version: int = 0
    #: The positions with a quantity (`positions` also keeps every symbol flattened today),
    #: kept by `commit` and `restore` so readers need not scan the whole book.
    held: dict[str, Position] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.cash == 0.0:
            self.cash = self.starting_cash
        self.held = {s: p for s, p in self.positions.items() if p.quantity}

    def position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = Position(symbol)
        return pos

    def quantity(self, symbol: str) -> int:
        pos = self.positions.get(symbol)
        return 0 if pos is None else pos.quantity

    def preview(self, fill: Fill) -> Position:
        """The position this fill would produce, without applying it (for the atomic write)."""
        cur = self.positions.get(fill.symbol) or Position(fill.symbol, fill.underlying)
        nxt = Position(
            cur.symbol,
            cur.underlying or fill.underlying,
            cur.quantity,
            cur.average_price,
            cur.realized_pnl,
            cur.fees,
        )
        nxt.apply(fill)
        return nxt

    def commit(self, fill: Fill, position: Position) -> None:
        self.positions[fill.symbol] = position
        if position.quantity:
            self.held[fill.symbol] = position
        else:
            self.held.pop(fill.symbol, None)
        self.cash -= fill.side.sign * fill.price * fill.quantity * multiplier(fill.symbol)
        self.cash -= fill.commission
        self.fills_seen += 1
        self.version += 1

    def restore(self, positions: list[StoredPosition], cash: float) -> None:
        self.positions = {
            p.symbol: Position(
                p.symbol, p.underlying, p.quantity, p.average_price, p.realized_pnl, p.fees
            )
            for p in positions
        }
        self.held = {s: p for s, p in self.positions.items() if p.quantity}
        self.cash = cash
        self.version += 1

    def open_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.quantity != 0]

    @property
    def realized_pnl(self) -> float:
        return sum(p.realized_pnl for p in self.positions.values())

    @property
    def fees(self) -> float:
        return sum(p.fees for p in self.positions.values())

    def market_value(
        self,
        quotes: dict[str, Quote],
        at_liquidation: bool,
        positions: Iterable[Position] | None = None,
    ) -> float:
        """Value of open positions; a position without a usable quote is held at cost.
        `positions` narrows the scan to a caller's index of open ones (the risk view keeps one,
        so a check does not walk every symbol flattened today)."""
        total = 0.0
        for pos in self.positions.values() if positions is None else positions:
            if pos.quantity == 0:
                continue
            q = quotes.get(pos.symbol)
            if q is None or q.ask <= 0:
                price = pos.average_price
            elif at_liquidation:
                price = q.bid if pos.quantity > 0 else q.ask
            else:
                price = q.mid
            total += pos.quantity * price * multiplier(pos.symbol)
        return total

    def equity(self, quotes: dict[str, Quote], at_liquidation: bool = True) -> float:
        return self.cash + self.market_value(quotes, at_liquidation)

    def unrealized_pnl(self, quotes: dict[str, Quote], at_liquidation: bool = True) -> float:
        cost = sum(
            p.quantity * p.average_price * multiplier(p.symbol)
            for p in self.positions.values()
            if p.quantity
        )
        return self.market_value(quotes, at_liquidation) - cost
