"""A position's stop, target and time stop survive a restart and a crash.

The bracket is the trader's protection: a restart that forgets it leaves a position unwatched.
It is stored in the same transaction as its entry order, before the order is sent, and the
restart (`restore`, as the daemon runs it) resumes watching it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.reconcile import reconcile, restore
from bot.wiring import Bot, build_bot
from brokers.orders import Intent, OrderStatus
from market.clock import SimClock
from strategies.guard import GuardedStrategy
from tests.bot.test_crash_recovery import Crash, crash_on, die
from tests.bot.test_engine import OPEN, OPT, OneShot, feed, quote
from tests.conftest import make_settings

SETTINGS: dict[str, Any] = {
    "risk": {"liquidity": {"min_volume": 0, "min_open_interest": 0}},
    "execution": {"entry": {"style": "natural"}},
    "orders": {"flatten_before_close_minutes": 0},
}


def first_run(tmp_path: Path, clock: SimClock, **strategy: Any) -> Bot:
    bot = build_bot(make_settings(tmp_path, strategies={}, **SETTINGS), clock, run_tag="one")
    bot.engine.strategies.append(GuardedStrategy(OneShot(bot.market, clock, **strategy)))
    return bot


def restart(tmp_path: Path, clock: SimClock, settings: dict[str, Any] = SETTINGS) -> Bot:
    """A new process on the same files, brought up as the daemon does (no strategy: the
    one that entered would not signal again)."""
    bot = build_bot(make_settings(tmp_path, strategies={}, **settings), clock, run_tag="two")
    restore(bot.store, bot.orders, bot.portfolio)
    asyncio.run(reconcile(bot.store, bot.broker, bot.orders, bot.portfolio))
    bot.engine.resume()
    return bot


def exits(bot: Bot) -> list[str]:
    return [
        o.request.reason
        for o in bot.orders.orders.values()
        if o.request.intent is Intent.CLOSE and o.status is OrderStatus.FILLED
    ]


def test_a_restart_keeps_watching_the_stop_of_an_open_position(tmp_path: Path) -> None:
    clock = SimClock(OPEN)
    bot = first_run(tmp_path, clock, stop=1.90, target=2.60)
    feed(bot, clock, quote(1, 2.00, 2.10))
    assert bot.portfolio.quantity(OPT) > 0
    bot.close()

    again = restart(tmp_path, clock)
    assert again.portfolio.quantity(OPT) > 0
    feed(again, clock, quote(3, 1.85, 1.95))
    assert exits(again) == ["stop: bid 1.85 <= 1.90"]
    assert again.portfolio.quantity(OPT) == 0
    assert again.store.active_brackets() == []  # done with: not restored a second time
    again.close()


def test_a_restart_keeps_the_time_stop(tmp_path: Path) -> None:
    clock = SimClock(OPEN)
    bot = first_run(tmp_path, clock, time_stop=timedelta(minutes=3))
    feed(bot, clock, quote(1, 2.00, 2.10))
    bot.close()

    again = restart(tmp_path, clock)
    feed(again, clock, quote(2, 2.00, 2.10))
    assert again.portfolio.quantity(OPT) > 0
    feed(again, clock, quote(4.5, 2.05, 2.15))
    assert again.portfolio.quantity(OPT) == 0
    again.close()


def test_a_crash_right_after_the_entry_is_sent_keeps_its_bracket(tmp_path: Path) -> None:
    """The venue has the entry (and fills it); the process dies before the engine goes on.
    The stop was stored with the order, so the restarted bot still protects the position."""
    clock = SimClock(OPEN)
    bot = first_run(tmp_path, clock, stop=1.90)
    crash_on(bot.broker, "submit", after=True)
    try:
        feed(bot, clock, quote(1, 2.00, 2.10))
        raise AssertionError("the crash did not happen")
    except Crash:
        pass
    die(bot)

    again = restart(tmp_path, clock)
    assert again.portfolio.quantity(OPT) > 0  # the venue's fill, adopted by reconciliation
    feed(again, clock, quote(3, 1.85, 1.95))
    assert exits(again) == ["stop: bid 1.85 <= 1.90"]
    again.close()


def test_a_bracket_whose_entry_died_unfilled_is_not_restored(tmp_path: Path) -> None:
    """An entry cancelled before any fill leaves no position: its bracket is closed at the
    restart instead of waiting to fire on some later position in the same contract."""
    clock = SimClock(OPEN)
    settings = {**SETTINGS, "execution": {"entry": {"style": "smart"}}}  # rests at the mid
    bot = build_bot(make_settings(tmp_path, strategies={}, **settings), clock, run_tag="one")
    bot.engine.strategies.append(GuardedStrategy(OneShot(bot.market, clock, stop=1.90)))
    feed(bot, clock, quote(1, 2.00, 2.10))
    entry = next(iter(bot.orders.orders.values()))
    assert entry.status is OrderStatus.ACCEPTED  # resting, not filled
    assert [b["symbol"] for b in bot.store.active_brackets()] == [OPT]
    bot.engine.flatten("test: cancel the working entry")
    assert entry.status is OrderStatus.CANCELLED and entry.filled_quantity == 0
    bot.close()

    again = restart(tmp_path, clock, settings)
    assert again.engine.brackets.get(OPT) is None
    assert again.store.active_brackets() == []
    again.close()


def test_a_restart_still_gives_up_a_worked_entry_at_its_deadline(tmp_path: Path) -> None:
    """A smart entry rests at the mid and would step, then give up after `give_up_seconds`.
    The process that worked it is gone; the restarted one must still cancel it by then, not
    leave it resting until the close (where it could fill hours later at a stale price)."""
    clock = SimClock(OPEN)
    settings = {**SETTINGS, "execution": {"entry": {"style": "smart", "give_up_seconds": 120}}}
    bot = build_bot(make_settings(tmp_path, strategies={}, **settings), clock, run_tag="one")
    bot.engine.strategies.append(GuardedStrategy(OneShot(bot.market, clock, stop=1.90)))
    feed(bot, clock, quote(1, 2.00, 2.10))
    entry = next(iter(bot.orders.orders.values()))
    assert entry.status is OrderStatus.ACCEPTED and entry.request.limit_price == 2.05
    bot.close()

    again = restart(tmp_path, clock, settings)
    feed(again, clock, quote(2, 2.00, 2.10))  # 60 s in: still inside the deadline
    assert again.orders.orders[entry.client_order_id].status is OrderStatus.ACCEPTED
    feed(again, clock, quote(3.5, 2.00, 2.10))  # 150 s after the entry was first sent
    assert again.orders.orders[entry.client_order_id].status is OrderStatus.CANCELLED
    assert again.portfolio.quantity(OPT) == 0
    again.close()


def test_the_deadline_counts_from_the_first_step_not_the_last(tmp_path: Path) -> None:
    clock = SimClock(OPEN)
    settings = {**SETTINGS, "execution": {"entry": {"style": "smart", "give_up_seconds": 120}}}
    bot = build_bot(make_settings(tmp_path, strategies={}, **settings), clock, run_tag="one")
    bot.engine.strategies.append(GuardedStrategy(OneShot(bot.market, clock, stop=1.90)))
    feed(bot, clock, quote(1, 2.00, 2.10), quote(1.5, 2.00, 2.10))  # 30 s: one step up
    first, second = bot.orders.orders.values()
    assert second.request.replaces == first.client_order_id and second.status.is_open
    bot.close()

    again = restart(tmp_path, clock, settings)
    # 125 s after the first step, 95 s after the second: past the chain's deadline only.
    feed(again, clock, quote(1 + 125 / 60, 2.00, 2.10))
    assert again.orders.orders[second.client_order_id].status is OrderStatus.CANCELLED
    again.close()
