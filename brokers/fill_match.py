"""Recognising one execution reported twice under two ids (decision 0251).

Alpaca reports a fill live on the trade-updates stream (`execution_id`) and again as a FILL
account activity (`<time>::<uuid>`). Nothing documents that the uuid is the execution id, so
when ids differ the execution is recognised by what it is: the same order, side, quantity and
price within a few seconds. Matching is one to one (two identical partial fills stay two), and
a fill with no twin is new. This never merges two real fills into one unless they are
indistinguishable in everything that moves the books, so the books stay right either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from brokers.orders import Fill

#: How far apart the stream's timestamp and the activity's transaction time may be.
SAME_EXECUTION_WITHIN = timedelta(seconds=5)
_PRICE_EPSILON = 1e-6


def same_execution(a: Fill, b: Fill, within: timedelta = SAME_EXECUTION_WITHIN) -> bool:
    """Could `a` and `b` be one execution? (Ids aside: same order, side, size, price, time.)"""
    return (
        a.client_order_id == b.client_order_id
        and a.side is b.side
        and a.quantity == b.quantity
        and abs(a.price - b.price) <= _PRICE_EPSILON
        and abs(a.ts - b.ts) <= within
    )


def twin_of(
    fill: Fill, candidates: Iterable[Fill], within: timedelta = SAME_EXECUTION_WITHIN
) -> Fill | None:
    """The closest-in-time candidate that is the same execution as `fill`, if any."""
    matches = [c for c in candidates if same_execution(fill, c, within)]
    return min(matches, key=lambda c: abs(c.ts - fill.ts)) if matches else None


class FillIdentity:
    """One id per execution within a session, whichever path reported it first.

    `canonical(fill, path)` returns the fill under the id already in use for its execution:
    its own id when first seen, or the id the other path gave the same execution.
    """

    def __init__(self, within: timedelta = SAME_EXECUTION_WITHIN) -> None:
        self._within = within
        self._alias: dict[str, str] = {}  # any id seen → the id in use
        self._unpaired: dict[str, dict[str, Fill]] = {}  # path → fills not yet paired

    def canonical(self, fill: Fill, path: str) -> Fill:
        known = self._alias.get(fill.fill_id)
        if known is not None:
            for other, fills in self._unpaired.items():
                if other != path:  # the other path named it the same: paired by id
                    fills.pop(known, None)
            return fill if known == fill.fill_id else replace(fill, fill_id=known)
        others = [f for p, fills in self._unpaired.items() if p != path for f in fills.values()]
        twin = twin_of(fill, others, self._within)
        if twin is None:
            self._alias[fill.fill_id] = fill.fill_id
            self._unpaired.setdefault(path, {})[fill.fill_id] = fill
            return fill
        for fills in self._unpaired.values():
            fills.pop(twin.fill_id, None)
        self._alias[fill.fill_id] = twin.fill_id
        return replace(fill, fill_id=twin.fill_id)
