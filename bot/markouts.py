"""Mark-outs: where the mid went 1 and 5 minutes after each fill.

A fill that the market immediately moves against was adverse selection, whatever price
improvement it showed; the mark-outs make that visible per strategy. Recorded on the first
usable quote at or after each horizon (history, buffered like signals).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.store.store import Store, StoreError
from brokers.orders import Fill
from market.data import Quote

HORIZONS = (1, 5)


@dataclass(slots=True)
class _Due:
    fill_id: str
    at: datetime
    minutes: int


@dataclass
class MarkoutTracker:
    store: Store
    pending: dict[str, list[_Due]] = field(default_factory=dict)

    def on_fill(self, fill: Fill) -> None:
        due = self.pending.setdefault(fill.symbol, [])
        due.extend(_Due(fill.fill_id, fill.ts + timedelta(minutes=m), m) for m in HORIZONS)

    def on_quote(self, quote: Quote) -> None:
        due = self.pending.get(quote.symbol)
        if not due:
            return
        still = []
        for item in due:
            if quote.ts >= item.at:
                # History only: the order path reports store trouble itself.
                with suppress(StoreError, SQLAlchemyError):
                    self.store.record_markout(item.fill_id, item.minutes, quote.mid)
            else:
                still.append(item)
        if still:
            self.pending[quote.symbol] = still
        else:
            del self.pending[quote.symbol]
