"""Round-trip trades rebuilt from what the store recorded: fills, orders and signals.

A trade opens when a symbol's position leaves zero and closes when it returns to zero, so
partial fills, scaled exits and expiry settlements all fold into one record. Nothing here comes
from the backtester's own bookkeeping: the numbers are the live books' numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from brokers.orders import Fill, Order
from market.instruments import CONTRACT_MULTIPLIER, is_option_symbol


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One round trip. P&L in dollars; `net_pnl` is after commissions and fees."""

    symbol: str
    underlying: str
    strategy: str
    side: str  # "long" or "short"
    quantity: int
    entry_ts: datetime
    exit_ts: datetime
    entry_price: float
    exit_price: float
    gross_pnl: float
    fees: float
    net_pnl: float
    confidence: float | None
    exit_reason: str
    entry_order_id: str

    @property
    def hold_seconds(self) -> float:
        return (self.exit_ts - self.entry_ts).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["entry_ts"], out["exit_ts"] = self.entry_ts.isoformat(), self.exit_ts.isoformat()
        return out


@dataclass(slots=True)
class _Open:
    first: Fill
    quantity: int = 0
    peak: int = 0
    cash: float = 0.0
    fees: float = 0.0
    opened_qty: int = 0
    opened_value: float = 0.0
    closed_qty: int = 0
    closed_value: float = 0.0
    last: Fill | None = None


def round_trips(fills: Iterable[Fill], orders: Mapping[str, Order],
                confidence_by_order: Mapping[str, float]) -> tuple[list[TradeRecord], int]:
    """Trades closed by the end of the fills, and how many positions were still open."""
    books: dict[str, _Open] = {}
    done: list[TradeRecord] = []
    for fill in sorted(fills, key=lambda f: f.ts):
        book = books.get(fill.symbol)
        signed = fill.side.sign * fill.quantity
        if book is None:
            book = books[fill.symbol] = _Open(fill)
        mult = CONTRACT_MULTIPLIER if is_option_symbol(fill.symbol) else 1
        opening = book.quantity == 0 or (book.quantity > 0) == (signed > 0)
        if opening:
            book.opened_qty += fill.quantity
            book.opened_value += fill.price * fill.quantity
        else:
            book.closed_qty += fill.quantity
            book.closed_value += fill.price * fill.quantity
        book.quantity += signed
        book.peak = max(book.peak, abs(book.quantity))
        book.cash -= signed * fill.price * mult
        book.fees += fill.commission
        book.last = fill
        if book.quantity == 0:
            done.append(_close(book, orders, confidence_by_order))
            del books[fill.symbol]
    return done, len(books)


def _close(book: _Open, orders: Mapping[str, Order],
           confidence_by_order: Mapping[str, float]) -> TradeRecord:
    first, last = book.first, book.last
    assert last is not None
    entry = orders.get(first.client_order_id)
    exit_order = orders.get(last.client_order_id)
    if exit_order is not None:
        reason = exit_order.request.reason or exit_order.request.strategy
    elif last.client_order_id.startswith("expiry-"):
        reason = "expired (settled at intrinsic value)"
    else:
        reason = "unknown order"
    return TradeRecord(
        symbol=first.symbol, underlying=first.underlying or (
            entry.request.underlying if entry else ""),
        strategy=entry.request.strategy if entry and entry.request.strategy else "manual",
        side="long" if first.side.sign > 0 else "short", quantity=book.peak,
        entry_ts=first.ts, exit_ts=last.ts,
        entry_price=book.opened_value / book.opened_qty,
        exit_price=book.closed_value / book.closed_qty if book.closed_qty else 0.0,
        gross_pnl=round(book.cash, 6), fees=round(book.fees, 6),
        net_pnl=round(book.cash - book.fees, 6),
        confidence=confidence_by_order.get(first.client_order_id),
        exit_reason=_short_reason(reason), entry_order_id=first.client_order_id)


def _short_reason(reason: str) -> str:
    """The kind of exit ("stop", "take-profit", …) without the prices, for grouping."""
    head = reason.split(":", 1)[0].strip()
    for kind in ("end-of-day flatten", "time stop", "breaker"):
        if reason.startswith(kind):
            return kind
    return head or reason
