"""Synthetic brackets: take-profit, stop and time stop held by the bot, one cancels the others.

Options brokers rarely accept true OCO brackets on options, so the bot watches the quote and
sends one closing order when the first condition fires. Brackets are stored with the entry,
in the same transaction, so a restart resumes watching them (`bot.reconcile.resume_brackets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(slots=True)
class Bracket:
    entry_id: str
    symbol: str
    target: float | None
    stop: float | None
    time_stop_at: datetime | None
    exit_id: str | None = None  # the closing order working now, if any
    retry_at: datetime | None = None  # an exit was refused: not before this
    pause: float = 0.0  # seconds of the last pause after a refusal

    def may_fire(self, now: datetime) -> bool:
        """No exit working and no pause after a refused one."""
        return self.exit_id is None and (self.retry_at is None or now >= self.retry_at)

    def refused(self, now: datetime, first: float, longest: float) -> None:
        """The exit it fired was refused: pause before the next try, twice as long as the
        last pause (from `first`, at most `longest`), so a contract with no bid is not sent
        an order — and the trader an alert — on every quote."""
        self.pause = first if self.pause <= 0 else min(self.pause * 2, longest)
        self.retry_at = now + timedelta(seconds=self.pause)

    def sent(self, exit_id: str | None) -> None:
        """The exit went out (working, or filled at once): no pause any more."""
        self.exit_id, self.retry_at, self.pause = exit_id, None, 0.0

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
                if b.may_fire(now) and b.time_stop_at is not None and now >= b.time_stop_at]
