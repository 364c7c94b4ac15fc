"""A crash at any point of the order path loses no order and duplicates none.

Each case kills the bot at one instant (an exception that nothing catches, then the open
database handles are dropped without committing — what kill -9 leaves behind), restarts it
from the same files, reconciles, finishes the scenario, and checks the bot's store against
the paper venue's own ledger.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.reconcile import reconcile, restore
from bot.wiring import Bot, build_bot
from brokers.orders import Intent, OrderStatus, Side
from market.clock import SimClock
from market.data import Quote
from tests.conftest import make_settings

OPT = "XYZ251219C00100000"
T0 = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)


class Crash(BaseException):
    """The process dies here."""


def crash_on(obj: Any, method: str, *, when: Callable[..., bool] = lambda *a, **k: True,
             after: bool = False) -> None:
    """Make `obj.method` kill the process the first time `when(*args)` holds."""
    original = getattr(obj, method)
    fired = {"done": False}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not fired["done"] and when(*args, **kwargs):
            fired["done"] = True
            if after:
                original(*args, **kwargs)
            raise Crash(method)
        return original(*args, **kwargs)

    setattr(obj, method, wrapper)


def start(tmp_path: Path, clock: SimClock) -> Bot:
    settings = make_settings(tmp_path, orders={"flatten_before_close_minutes": 0},
                             risk={"liquidity": {"min_volume": 0, "min_open_interest": 0}})
    bot = build_bot(settings, clock)
    restore(bot.store, bot.orders, bot.portfolio)
    asyncio.run(reconcile(bot.store, bot.broker, bot.orders, bot.portfolio))
    bot.engine.resume()
    return bot


def die(bot: Bot) -> None:
    """Drop every handle without committing, as a killed process would."""
    conn = bot.store._conn
    if conn.in_transaction():
        conn.rollback()
    conn.close()
    bot.store.engine.dispose()
    bot.broker._db.close()  # type: ignore[attr-defined]


def quote(clock: SimClock, bid: float, ask: float, minutes: int) -> Quote:
    clock.advance_to(T0 + timedelta(minutes=minutes))
    return Quote(OPT, clock.now(), bid, ask, 10, 10, "XYZ")


def scenario(bot: Bot, clock: SimClock, step: list[int]) -> None:
    """Enter 2 contracts, see the price move, then close. `step` remembers progress so a
    restarted bot continues where the crashed one stopped (as a live market would)."""
    engine, orders = bot.engine, bot.orders
    if step[0] == 0:
        engine.on_event(quote(clock, 2.00, 2.10, 1))
        step[0] = 1
    if step[0] == 1:
        # A strategy would signal again if its entry never reached the market (new id).
        if not any(is_open(o) and (o.status.is_open or o.filled_quantity)
                   for o in orders.orders.values()):
            orders.submit(orders.new_request(OPT, Side.BUY, 2, intent=Intent.OPEN,
                                             limit_price=2.10, underlying="XYZ"))
        step[0] = 2
    if step[0] == 2:
        engine.on_event(quote(clock, 2.20, 2.30, 2))
        step[0] = 3
    if step[0] == 3:
        engine.flatten("test exit")
        step[0] = 4
    if step[0] == 4:
        engine.on_event(quote(clock, 2.25, 2.35, 3))
        step[0] = 5


def is_open(order: Any) -> bool:
    return order.request.intent is Intent.OPEN


def is_close(order: Any) -> bool:
    return order.request.intent is Intent.CLOSE


def fill_update(update: Any) -> bool:
    return update.fill is not None


def accepted_update(update: Any) -> bool:
    return update.status is OrderStatus.ACCEPTED and update.fill is None


CRASH_POINTS: dict[str, Callable[[Bot], None]] = {
    "after entry stored, before send": lambda b: crash_on(
        b.store, "insert_order", when=lambda o, **k: is_open(o), after=True),
    "venue accepted entry, before the bot heard": lambda b: crash_on(
        b.broker, "_emit", when=accepted_update),
    "entry ack being stored": lambda b: crash_on(b.store, "update_order"),
    "venue filled entry, before the bot heard": lambda b: crash_on(
        b.broker, "_emit", when=fill_update),
    "fill received, before its store write": lambda b: crash_on(b.store, "record_fill"),
    "fill stored, before memory updated": lambda b: crash_on(
        b.store, "record_fill", after=True),
    "after exit stored, before send": lambda b: crash_on(
        b.store, "insert_order", when=lambda o, **k: is_close(o), after=True),
    "venue filled exit, before the bot heard": lambda b: crash_on(
        b.broker, "_emit", when=lambda u: fill_update(u) and u.fill.side is Side.SELL),
    "exit fill received, before its store write": lambda b: crash_on(
        b.store, "record_fill", when=lambda f, *a: f.side is Side.SELL),
    "exit ack being stored": lambda b: crash_on(
        b.store, "update_order", when=lambda o: is_close(o)),
}


def ledger(tmp_path: Path, orders_table: str = "orders") -> dict[str, Any]:
    """The paper venue's own books: its orders (or combos) by client id, fills, positions."""
    db = sqlite3.connect(tmp_path / "ledger.db")
    try:
        return {
            "orders": {r[0]: r[1] for r in db.execute(
                f"SELECT client_order_id, status FROM {orders_table}")},
            "fills": {r[0] for r in db.execute("SELECT fill_id FROM fills")},
            "positions": {r[0]: r[1] for r in db.execute(
                "SELECT symbol, quantity FROM positions WHERE quantity != 0")},
        }
    finally:
        db.close()


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_crash_then_restart_loses_nothing_and_duplicates_nothing(tmp_path: Path,
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
    last = bot.market.quote(OPT) or quote(clock, 2.20, 2.30, 2)
    bot.engine.on_event(last)  # the feed reconnects: a fresh quote before anything else
    scenario(bot, clock, step)
    if bot.portfolio.quantity(OPT) != 0:  # the exit may have been lost with the crash
        bot.engine.flatten("finish after restart")
        bot.engine.on_event(quote(clock, 2.25, 2.35, 4))
    bot.store.flush()

    venue = ledger(tmp_path)
    ours = {o.client_order_id: o for o in bot.store.load_orders()}
    our_fills = bot.store.fill_ids()
    # Every order the venue has, we have; nothing was sent twice (the venue refuses duplicate
    # client ids, so a resend would show up as a rejected order or an extra order).
    assert set(venue["orders"]) <= set(ours)
    assert all(o.status is not OrderStatus.REJECTED for o in ours.values())
    # Orders we have that the venue never saw were closed, never resent.
    for cid, order in ours.items():
        if cid not in venue["orders"]:
            assert order.status in (OrderStatus.CANCELLED, OrderStatus.DENIED), (cid, order)
        else:
            assert order.status.value == venue["orders"][cid], cid
    # Every fill exactly once, and positions agree.
    assert our_fills == venue["fills"]
    ours_pos = {p.symbol: p.quantity for p in bot.store.load_positions() if p.quantity}
    assert ours_pos == venue["positions"] == {}
    entries = [o for o in ours.values() if is_open(o) and o.filled_quantity > 0]
    assert len(entries) <= 1, "an entry was duplicated"
    bot.close()
