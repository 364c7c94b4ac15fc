"""Store-before-send holds for combos: a crash at any point of a spread's life loses no leg
and duplicates no combo.

As in `test_crash_recovery`, each case kills the bot at one instant (an exception nothing
catches, then every handle dropped without committing), restarts it from the same files,
restores and reconciles, finishes the scenario, and checks the bot's books against the paper
venue's own ledger: combo by combo, fill by fill, leg position by leg position.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.reconcile import reconcile, restore
from bot.wiring import Bot
from brokers.multileg import LEG_MARK
from brokers.orders import Intent, OrderStatus
from market.clock import SimClock
from tests.bot.combo_helpers import HIGH, LOW, T0, combo_bot, quotes, vertical
from tests.bot.test_crash_recovery import Crash, crash_on, die, ledger

LABEL = "XYZ 2-leg combo"


def start(tmp_path: Path, clock: SimClock) -> Bot:
    bot = combo_bot(tmp_path, clock, run_tag=None)  # a new run tag: ids never repeat
    restore(bot.store, bot.orders, bot.portfolio)
    asyncio.run(reconcile(bot.store, bot.broker, bot.orders, bot.portfolio))
    return bot


def at(bot: Bot, clock: SimClock, minutes: int) -> None:
    clock.advance_to(T0 + timedelta(minutes=minutes))
    quotes(bot, (3.00, 3.20), (1.00, 1.10))


def scenario(bot: Bot, clock: SimClock, step: list[int]) -> None:
    """Open 2 spreads at the natural price, then close them. `step` remembers progress so a
    restarted bot continues where the crashed one stopped."""
    orders = bot.orders
    if step[0] == 0:
        at(bot, clock, 1)
        step[0] = 1
    if step[0] == 1:
        # A strategy would signal again if its combo never reached the market (new id).
        if not any(c.spec.intent is Intent.OPEN and (c.status.is_open or c.filled_quantity)
                   for c in orders.combos.combos.values()):
            orders.submit_combo(vertical(bot, 2.20, quantity=2))
        step[0] = 2
    if step[0] == 2:
        at(bot, clock, 2)
        step[0] = 3
    if step[0] == 3:
        close_spread(bot)
        step[0] = 4
    if step[0] == 4:
        at(bot, clock, 3)
        step[0] = 5


def close_spread(bot: Bot) -> None:
    held = bot.portfolio.quantity(LOW)
    working = any(c.spec.intent is Intent.CLOSE and c.status.is_open
                  for c in bot.orders.combos.combos.values())
    if held > 0 and not working:
        opened = next(c for c in bot.orders.combos.combos.values()
                      if c.spec.intent is Intent.OPEN and c.filled_quantity)
        spec = opened.spec.reversed(bot.orders.ids.next(), "close the spread")
        bot.orders.submit_combo(spec.with_quantity(held))


def last_leg(order: Any, **_: Any) -> bool:
    return order.client_order_id.endswith(f"{LEG_MARK}1")


def closing(order: Any, **_: Any) -> bool:
    return order.request.intent is Intent.CLOSE


def accepted(update: Any) -> bool:
    return update.status is OrderStatus.ACCEPTED and update.fill is None


def leg_fill(update: Any) -> bool:
    return update.fill is not None


CRASH_POINTS: dict[str, Callable[[Bot], None]] = {
    # The parent and its legs are one transaction: a crash inside it (the parent and the
    # first leg written, the last leg not yet) stores none of them.
    "parent stored, legs not yet": lambda b: crash_on(
        b.store, "_insert_order", when=lambda o, *a, **k: last_leg(o)),
    "parent and legs stored, before send": lambda b: crash_on(
        b.store, "insert_orders", when=lambda orders, *a, **k: last_leg(orders[-1]), after=True),
    "venue accepted the combo, before the bot heard": lambda b: crash_on(
        b.broker, "_emit", when=accepted),
    "venue filled every leg, before the bot heard one": lambda b: crash_on(
        b.broker, "_emit", when=leg_fill),
    "first leg's fill stored, second not heard": lambda b: crash_on(
        b.store, "record_fill", after=True),
    "combo status being stored": lambda b: crash_on(
        b.store, "update_order", when=lambda o: o.request.symbol == LABEL),
    "closing combo stored, before send": lambda b: crash_on(
        b.store, "insert_orders", when=lambda orders, *a, **k: closing(orders[-1]), after=True),
    "venue filled the closing combo, before the bot heard": lambda b: crash_on(
        b.broker, "_emit", when=lambda u: leg_fill(u) and u.fill.side.value == "sell"),
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_combo_crash_then_restart_loses_no_leg_and_duplicates_no_combo(tmp_path: Path,
                                                                       point: str) -> None:
    clock = SimClock(T0)
    step = [0]
    bot = start(tmp_path, clock)
    CRASH_POINTS[point](bot)
    with pytest.raises(Crash):
        for _ in range(6):
            scenario(bot, clock, step)
    die(bot)

    bot = start(tmp_path, clock)  # restart: restore + reconcile
    at(bot, clock, 2)  # the feed reconnects: fresh quotes before anything else
    scenario(bot, clock, step)
    if bot.portfolio.quantity(LOW) != 0:  # the exit may have been lost with the crash
        close_spread(bot)
        at(bot, clock, 4)
    bot.store.flush()

    venue = ledger(tmp_path, "combo_orders")
    ours = {o.client_order_id: o for o in bot.store.load_orders()}
    # Every combo the venue has, we have, in the same state; none was sent twice (the venue
    # refuses a repeated client id, which would show as a rejected combo).
    assert set(venue["orders"]) <= set(ours)
    assert all(o.status is not OrderStatus.REJECTED for o in ours.values())
    for cid, order in ours.items():
        if order.request.symbol != LABEL:
            continue
        if cid in venue["orders"]:
            assert order.status.value == venue["orders"][cid], cid
        else:  # never received: closed, never resent
            assert order.status in (OrderStatus.CANCELLED, OrderStatus.DENIED), (cid, order)
    # Every leg's fill exactly once, on its leg's row; positions agree, and are flat.
    assert bot.store.fill_ids() == venue["fills"]
    assert {f.client_order_id.rsplit(LEG_MARK, 1)[0] for f in bot.store.load_fills()} <= set(
        venue["orders"])
    ours_pos = {p.symbol: p.quantity for p in bot.store.load_positions() if p.quantity}
    assert ours_pos == venue["positions"] == {}
    entries = [o for o in ours.values()
               if o.request.symbol == LABEL and o.request.intent is Intent.OPEN
               and o.filled_quantity > 0]
    assert len(entries) == 1, "the spread was opened twice (or never)"
    assert bot.portfolio.quantity(HIGH) == 0
    bot.close()
