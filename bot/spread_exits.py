"""Closing a held spread as one combo: on a signal, a flatten, or its bracket firing.

The engine's hooks for spread brackets live here (watch on a leg's quote, time stops, settle
after fills, re-arm after a worked exit gives up), next to the one way a spread is closed: the
legs reversed, as many combos as are still held, through the execution policy of the exit's
kind. A spread with a closing combo already working is never sent a second one.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from bot.combo_brackets import SpreadBracket
from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import OrderType, Side

if TYPE_CHECKING:
    from bot.combo_orders import ComboOrder
    from bot.engine import Engine
    from bot.execution import ComboChain, Kind
    from bot.portfolio import Portfolio


def held_combos(portfolio: Portfolio, legs: tuple[Leg, ...]) -> int:
    """Whole combos of `legs` still held the way they were opened."""
    return min(_held(portfolio, leg) // leg.ratio for leg in legs)


def _held(portfolio: Portfolio, leg: Leg) -> int:
    quantity = portfolio.quantity(leg.symbol)
    return max(quantity, 0) if leg.side is Side.BUY else max(-quantity, 0)


def closing_working(engine: Engine, legs: tuple[Leg, ...]) -> bool:
    """A closing combo on any of these legs is still working (or being stepped)."""
    symbols = {leg.symbol for leg in legs}
    return any(
        combo.spec.closes and combo.status.is_open
        and symbols.intersection(leg.symbol for leg in combo.spec.legs)
        for combo in engine.orders.combos.combos.values())


def cancel_limit_closes(engine: Engine, legs: tuple[Leg, ...]) -> bool:
    """Cancel the closing combos resting at a limit on these legs (a flatten replaces them);
    returns whether any was asked to cancel."""
    symbols = {leg.symbol for leg in legs}
    cancelled = False
    for combo in list(engine.orders.combos.combos.values()):
        spec = combo.spec
        if (spec.closes and combo.status.is_open and spec.order_type is OrderType.LIMIT
                and symbols.intersection(leg.symbol for leg in spec.legs)):
            engine.orders.cancel(combo.client_order_id)
            cancelled = True
    return cancelled


def close_spread(engine: Engine, legs: tuple[Leg, ...], quantity: int, kind: Kind,
                 reason: str, strategy: str) -> ComboOrder:
    """Send the combo that closes `quantity` combos of `legs` (opened as given)."""
    assert engine.execution is not None
    closing = MultiLegOrder(engine.orders.ids.next(), tuple(leg.reversed for leg in legs),
                            quantity, OrderType.MARKET, None, strategy=strategy, reason=reason)
    combo = engine.execution.execute_combo(closing, kind)
    engine.summary.orders += 1
    return combo


def watch_spreads(engine: Engine, symbol: str, now: datetime) -> None:
    """A leg of a held spread was quoted: fire the spreads' brackets whose time has come."""
    for spread in engine.spread_brackets.with_leg(symbol):
        if spread.bracket.may_fire(now):
            fired = spread.trigger(engine.market.quote, now)
            if fired is not None:
                _fire(engine, spread, *fired)


def spread_time_stops(engine: Engine, now: datetime) -> None:
    """Quiet markets too: a spread's time stop fires on the timer."""
    for spread in engine.spread_brackets.due_time_stops(now):
        _fire(engine, spread, "stop", f"time stop at {spread.bracket.time_stop_at:%H:%M:%S}")


def _fire(engine: Engine, spread: SpreadBracket, kind: str, why: str) -> None:
    held = held_combos(engine.portfolio, spread.legs)
    entry = engine.orders.combos.combos.get(spread.entry_id)
    if entry is not None:
        held = min(held, entry.filled_quantity)
    if held <= 0 or closing_working(engine, spread.legs):
        return
    combo = close_spread(engine, spread.legs, held, cast("Kind", kind), why,
                         entry.spec.strategy if entry is not None else "")
    engine.after_exit(spread.bracket, combo.client_order_id, combo.status)


def settle_spreads(engine: Engine, symbol: str) -> None:
    """After a fill in `symbol`: a spread no longer held is done with; its bracket closes."""
    for spread in engine.spread_brackets.with_leg(symbol):
        if held_combos(engine.portfolio, spread.legs) == 0:
            engine.spread_brackets.remove(spread.entry_id)
            engine.orders.store.close_bracket(spread.entry_id, spread.bracket.exit_id)
        elif spread.bracket.exit_id is not None and not closing_working(engine, spread.legs):
            spread.bracket.exit_id = None  # a partial exit ended: watch what is left


def rearm_spread(engine: Engine, chain: ComboChain) -> None:
    """A closing combo worked in steps gave up: its spread's bracket may fire again."""
    for spread in engine.spread_brackets.by_entry.values():
        if spread.bracket.exit_id == chain.chain_id and (
                held_combos(engine.portfolio, spread.legs) > 0):
            spread.bracket.exit_id = None
