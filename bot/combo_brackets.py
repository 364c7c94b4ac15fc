"""Brackets for spreads: a stop, a target and a time stop on the combo's net price.

A spread opened as one combo is protected as one. Its value is its net bid — what selling the
combo would get now: the bids of its long legs less the asks of its short legs — so a stop
fires on what the spread is worth, not on one leg's move. When the first condition fires, the
spread closes as one combo through the execution policy of that kind (never leg by leg), and no
second exit is sent while it works. The bracket is stored with the entry combo in the same
transaction and resumed at start-up, like a single contract's (decision 0360).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from bot.brackets import Bracket
from brokers.multileg import Leg, net_quote
from market.data import Quote

QuoteOf = Callable[[str], Quote | None]


@dataclass(slots=True)
class SpreadBracket:
    """A bracket on a combo: `bracket.entry_id` is the entry combo's id, `bracket.symbol` its
    label; prices are net prices per combo."""

    bracket: Bracket
    legs: tuple[Leg, ...]

    @property
    def entry_id(self) -> str:
        return self.bracket.entry_id

    def trigger(self, quote_of: QuoteOf, now: datetime) -> tuple[str, str] | None:
        """Which exit fires now — its execution kind and the reason — or None (also when a
        leg has no two-sided market to value the spread on)."""
        market = net_quote(self.legs, quote_of)
        if market is None:
            return None
        return self.bracket.trigger(market.bid, now, what="net bid")


class SpreadBracketBook:
    """The spreads being watched, found by the entry combo's id or by any of their legs."""

    def __init__(self) -> None:
        self.by_entry: dict[str, SpreadBracket] = {}
        self._by_leg: dict[str, set[str]] = {}

    def __bool__(self) -> bool:
        return bool(self.by_entry)

    def add(self, spread: SpreadBracket) -> None:
        self.by_entry[spread.entry_id] = spread
        for leg in spread.legs:
            self._by_leg.setdefault(leg.symbol, set()).add(spread.entry_id)

    def remove(self, entry_id: str) -> SpreadBracket | None:
        spread = self.by_entry.pop(entry_id, None)
        if spread is not None:
            for leg in spread.legs:
                self._by_leg.get(leg.symbol, set()).discard(entry_id)
        return spread

    def with_leg(self, symbol: str) -> Iterator[SpreadBracket]:
        """The spreads `symbol` is a leg of (safe to remove from the book meanwhile)."""
        for entry_id in sorted(self._by_leg.get(symbol, ())):
            spread = self.by_entry.get(entry_id)
            if spread is not None:
                yield spread

    def due_time_stops(self, now: datetime) -> list[SpreadBracket]:
        return [s for s in self.by_entry.values()
                if s.bracket.may_fire(now) and s.bracket.time_stop_at is not None
                and now >= s.bracket.time_stop_at]
