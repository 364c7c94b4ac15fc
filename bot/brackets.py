"""Synthetic brackets: take-profit, stop and time stop held by the bot, one cancels the others.

Options brokers rarely accept true OCO brackets on options, so the bot watches the quote and
sends one closing order when the first condition fires. Brackets are stored with the entry,
in the same transaction, so a restart resumes watching them (`bot.reconcile.resume_brackets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class Bracket:
    entry_id: str
    symbol: str
    target: float | None
    stop: float | None
    time_stop_at: datetime | None
    exit_id: str | None = None  # the closing order working now, if any

    def trigger(self, bid: float, now: datetime, what: str = "bid") -> tuple[str, str] | None:
        """Which exit fires at this bid (for a long position) — its execution kind and the
        reason — or None. `what` names the price in the reason (a spread's is its net bid)."""
        if self.stop is not None and bid <= self.stop:
            return "stop", f"stop: {what} {bid:.2f} <= {self.stop:.2f}"
        if self.target is not None and bid >= self.target:
            return "take_profit", f"take-profit: {what} {bid:.2f} >= {self.target:.2f}"
        if self.time_stop_at is not None and now >= self.time_stop_at:
            return "stop", f"time stop at {self.time_stop_at:%H:%M:%S}"
        return None


class BracketBook:
    def __init__(self) -> None:
        self.by_symbol: dict[str, Bracket] = {}

    def add(self, bracket: Bracket) -> None:
        self.by_symbol[bracket.symbol] = bracket

    def get(self, symbol: str) -> Bracket | None:
        return self.by_symbol.get(symbol)

    def remove(self, symbol: str) -> Bracket | None:
        return self.by_symbol.pop(symbol, None)

    def due_time_stops(self, now: datetime) -> list[Bracket]:
        return [b for b in self.by_symbol.values()
                if b.exit_id is None and b.time_stop_at is not None and now >= b.time_stop_at]
