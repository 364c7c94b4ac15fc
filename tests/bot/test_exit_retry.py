"""A bracket exit the venue (or the risk gate) refuses is retried with a growing pause, not on
every quote: a stop on a contract with no bid used to send one rejected order, and one alert,
per quote — hundreds a minute on a live feed, against the broker's request limits."""

from __future__ import annotations

from typing import Any

from bot.events import Notice
from brokers.orders import Intent, OrderStatus
from tests.bot.test_engine import OPT, START, bot_with, feed, quote


def attempts(bot: Any) -> list[Any]:
    return [o for o in bot.orders.orders.values() if o.request.intent is Intent.CLOSE]


def test_a_refused_stop_is_retried_after_a_growing_pause_then_goes_out() -> None:
    bot, clock = bot_with(
        {"stop": 1.50}, orders={"exit_retry_seconds": 30, "exit_retry_max_seconds": 120}
    )
    told: list[Notice] = []
    bot.bus.subscribe(told.append)
    feed(bot, clock, quote(1, 2.00, 2.10))
    held = bot.portfolio.quantity(OPT)
    # No bid from 10:32: every quote, one each 6 s for five minutes.
    feed(bot, clock, *(quote(2 + i / 10, 0.0, 0.05) for i in range(50)))
    tries = [(o.created_at - START).total_seconds() for o in attempts(bot)]
    # First at 120 s; then after 30, 60, 120 and (capped) 120 s of pause.
    assert tries == [120.0, 150.0, 210.0, 330.0]
    assert {o.status for o in attempts(bot)} == {OrderStatus.REJECTED}
    rejected = [n for n in told if n.kind == "order_rejected"]
    assert len(rejected) == 4  # one alert per attempt, not per quote
    # A bid comes back: the next attempt (after the pause) closes the position.
    feed(bot, clock, quote(7.4, 0.20, 0.30))
    assert bot.portfolio.quantity(OPT) == held  # still pausing (next try at 450 s)
    feed(bot, clock, quote(8, 0.20, 0.30))
    assert bot.portfolio.quantity(OPT) == 0
    assert attempts(bot)[-1].status is OrderStatus.FILLED
