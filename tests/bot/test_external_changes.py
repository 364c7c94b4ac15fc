"""Positions changed outside the bot (a manual close in the broker's app, an assignment) are
caught by reconciliation, reported, and corrected: the bot never exits what is gone and never
counts what it does not own."""

from __future__ import annotations

import asyncio

import pytest

from bot.brackets import Bracket
from bot.reconcile import reconcile
from brokers.orders import Intent
from brokers.paper import PaperBroker
from tests.bot.test_execution import OPT, enter, make_bot, tick


def held_bot() -> tuple:  # type: ignore[type-arg]
    bot, clock, notices = make_bot(style="natural")
    tick(bot, clock, 0)
    enter(bot, quantity=4)
    assert bot.portfolio.quantity(OPT) == 4
    bot.engine.brackets.add(Bracket("entry", OPT, target=3.0, stop=1.5, time_stop_at=None))
    return bot, clock, notices


def run_reconcile(bot):  # type: ignore[no-untyped-def]
    return asyncio.run(reconcile(bot.store, bot.broker, bot.orders, bot.portfolio))


def test_manual_close_in_the_broker_app_is_adopted_at_its_real_price() -> None:
    bot, clock, notices = held_bot()
    broker = bot.broker
    assert isinstance(broker, PaperBroker)
    broker.close_position_outside(OPT, price=2.50)
    report = run_reconcile(bot)
    assert any("manual-" in line for line in report.adopted_fills)
    assert bot.portfolio.quantity(OPT) == 0
    # bought 4 @ 2.10, sold 4 @ 2.50 outside: +160, minus 4 x 0.65 commission each way
    assert bot.portfolio.positions[OPT].realized_pnl == pytest.approx(160 - 2 * 2.6)
    assert bot.engine.brackets.get(OPT) is None
    tick(bot, clock, 30, bid=1.0, ask=1.1)  # would have hit the stop
    assert not [o for o in bot.store.load_orders() if o.request.intent is Intent.CLOSE]
    assert any(n.kind == "reconciliation" for n in notices)


def test_a_position_gone_without_a_fill_is_corrected_at_the_mark() -> None:
    bot, clock, _ = held_bot()
    tick(bot, clock, 10, bid=2.20, ask=2.30)
    broker = bot.broker
    assert isinstance(broker, PaperBroker)
    broker.drop_position(OPT)
    report = run_reconcile(bot)
    assert report.position_differences == [
        f"{OPT}: ours 4, broker 0 (closed outside the bot: corrected)"]
    assert bot.portfolio.quantity(OPT) == 0
    assert bot.portfolio.positions[OPT].realized_pnl == pytest.approx(4 * 15 - 2.6)  # at 2.25
    tick(bot, clock, 30, bid=1.0, ask=1.1)
    assert not [o for o in bot.store.load_orders() if o.request.intent is Intent.CLOSE]
    assert run_reconcile(bot).clean, "corrected once, then the books agree"


def test_a_position_the_bot_never_took_is_reported_not_adopted() -> None:
    bot, clock, _ = make_bot(style="natural")
    tick(bot, clock, 0)
    other = "XYZ251219P00090000"
    broker = bot.broker
    assert isinstance(broker, PaperBroker)
    broker._apply_position(other, 7, 1.0)  # someone bought 7 puts in the broker's app
    report = run_reconcile(bot)
    assert report.position_differences == [f"{other}: ours 0, broker 7 (not ours: left alone)"]
    assert bot.portfolio.quantity(other) == 0
    assert bot.orders.ctx is not None and bot.orders.ctx.open_trade_count() == 0
