"""Positions in contracts expiring today are closed before the close even when the end-of-day
flatten is off: a long option left in the money is exercised into stock (100 shares a
contract, far beyond an options account's plan), a short one can be assigned."""

from __future__ import annotations

from datetime import timedelta

from brokers.orders import Intent, Side
from tests.bot.test_engine import OPEN, bot_with, feed, quote

TODAY = "GOOG151224C00750000"  # expires 2015-12-24, the session (early close 13:00 New York)
LATER = "GOOG151231C00750000"


def test_expiring_positions_close_before_the_close_others_are_kept() -> None:
    bot, clock = bot_with(
        orders={"flatten_before_close_minutes": 0, "close_expiring_before_close_minutes": 10}
    )
    for symbol in (TODAY, LATER):
        feed(bot, clock, quote(1, 2.00, 2.10, symbol))
        bot.orders.submit(
            bot.orders.new_request(
                symbol, Side.BUY, 2, intent=Intent.OPEN, limit_price=2.10, underlying="GOOG"
            )
        )
    assert bot.portfolio.quantity(TODAY) == 2
    later = bot.portfolio.quantity(LATER)  # the test strategy bought some too
    assert later >= 2
    minutes_to_1249 = (OPEN.replace(hour=17, minute=49) - OPEN) / timedelta(minutes=1) - 30
    feed(bot, clock, quote(minutes_to_1249, 2.00, 2.10, LATER))  # 12:49: not yet
    assert bot.portfolio.quantity(TODAY) == 2
    feed(bot, clock, quote(minutes_to_1249 + 1, 2.00, 2.10, LATER))  # 12:50
    assert bot.portfolio.quantity(TODAY) == 0
    assert bot.portfolio.quantity(LATER) == later  # the end-of-day flatten is off: kept
    [closed] = [o for o in bot.orders.orders.values() if o.request.intent is Intent.CLOSE]
    assert closed.request.reason == "expires today: closed 10 min before the 13:00 close"


def test_zero_turns_it_off() -> None:
    bot, clock = bot_with(
        orders={"flatten_before_close_minutes": 0, "close_expiring_before_close_minutes": 0}
    )
    feed(bot, clock, quote(1, 2.00, 2.10, TODAY))
    bot.orders.submit(
        bot.orders.new_request(
            TODAY, Side.BUY, 2, intent=Intent.OPEN, limit_price=2.10, underlying="GOOG"
        )
    )
    feed(bot, clock, quote(170, 2.00, 2.10, LATER))  # 12:50
    assert bot.portfolio.quantity(TODAY) == 2
