"""A flatten (kill switch, breaker HALT, end of day) closes a position even while a
take-profit exit is being worked at a limit: the working exit is cancelled and the position
closes by the flatten policy. Before, the flatten skipped the position (an exit was working),
the stepping stopped, and the position stayed open."""

from __future__ import annotations

from brokers.orders import Intent, OrderStatus
from tests.bot.test_engine import OPT, bot_with, feed, quote

SMART_EXIT = {
    "entry": {"style": "natural"},
    "take_profit": {"style": "smart", "step_seconds": 20, "give_up_seconds": 120},
}


def closing_orders(bot):  # type: ignore[no-untyped-def]
    return [o for o in bot.orders.orders.values() if o.request.intent is Intent.CLOSE]


def test_flatten_replaces_a_take_profit_worked_at_a_limit() -> None:
    bot, clock = bot_with({"target": 2.60, "stop": 1.50}, execution=SMART_EXIT)
    feed(bot, clock, quote(1, 2.00, 2.10))
    assert bot.portfolio.quantity(OPT) > 0
    feed(bot, clock, quote(2, 2.65, 2.85))  # the target fires: a limit at the mid, resting
    [take_profit] = closing_orders(bot)
    assert take_profit.status is OrderStatus.ACCEPTED and take_profit.request.limit_price == 2.75

    bot.engine.flatten("kill switch")
    assert take_profit.status is OrderStatus.CANCELLED
    assert bot.portfolio.quantity(OPT) == 0
    flatten = [o for o in closing_orders(bot) if o is not take_profit]
    assert [(o.request.reason, o.status) for o in flatten] == [("kill switch", OrderStatus.FILLED)]
    assert flatten[0].average_fill_price == 2.65  # at the bid: the flatten policy is a market order


def test_with_a_venue_that_confirms_the_cancel_later_the_flatten_follows_it() -> None:
    """Live venues confirm a cancel asynchronously: the flatten exit goes out when the
    cancel is confirmed, not before (two exits could both fill) and not never."""
    bot, clock = bot_with({"target": 2.60}, execution=SMART_EXIT)
    feed(bot, clock, quote(1, 2.00, 2.10), quote(2, 2.65, 2.85))
    [take_profit] = closing_orders(bot)
    venue_cancel, asked = bot.broker.cancel, list[str]()
    bot.broker.cancel = asked.append  # type: ignore[method-assign,assignment]

    bot.engine.flatten("end-of-day flatten")
    assert asked == [take_profit.client_order_id]
    assert closing_orders(bot) == [take_profit] and take_profit.status.is_open  # waits

    venue_cancel(asked[0])  # the venue confirms
    assert take_profit.status is OrderStatus.CANCELLED
    assert bot.portfolio.quantity(OPT) == 0
    assert [o.request.reason for o in closing_orders(bot) if o is not take_profit] == [
        "end-of-day flatten"
    ]
