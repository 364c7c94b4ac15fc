"""The engine's hot path: bad data dropped, orders recorded before sending, brackets, the
end-of-day flatten on an early-close day, store failures stopping entries."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.store.store import StoreError
from bot.wiring import Bot, build_bot
from brokers.orders import Intent, OrderStatus, OrderUpdate, Side
from market.clock import SimClock
from market.data import Quote
from strategies.base import Signal, SignalAction, Strategy
from strategies.guard import GuardedStrategy
from tests.conftest import make_settings

OPT = "GOOG151231C00750000"
OPEN = datetime(2015, 12, 24, 14, 30, tzinfo=UTC)  # 09:30 New York; the close is 13:00
START = OPEN + timedelta(minutes=30)  # clear of the no-entries window after the open


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def quote(minutes: float, bid: float, ask: float, sym: str = OPT) -> Quote:
    return Quote(sym, at(minutes), bid, ask, 500, 500, "GOOG")


class OneShot(Strategy):
    """Buys once at the first quote of OPT it sees after `start` minutes."""

    name = "oneshot"

    def __init__(self, *args: Any, stop: float | None = None, target: float | None = None,
                 time_stop: timedelta | None = None) -> None:
        super().__init__(None, *args)
        self.fired = False
        self.stop, self.target, self.time_stop = stop, target, time_stop

    def on_quote(self, q: Quote) -> list[Signal]:
        if self.fired or q.symbol != OPT:
            return []
        self.fired = True
        return [Signal(self.name, SignalAction.BUY_TO_OPEN, OPT, q.ts, q.ask, 0.8, "test",
                       "GOOG", target=self.target, stop=self.stop, time_stop=self.time_stop)]


def bot_with(strategy_kwargs: dict[str, Any] | None = None, **settings: Any) -> tuple[Bot,
                                                                                   SimClock]:
    clock = SimClock(OPEN)
    # Hand-made quotes carry no prints or open interest: switch those liquidity rules off.
    settings.setdefault("risk", {"liquidity": {"min_volume": 0, "min_open_interest": 0}})
    # Entries at the natural price, so these tests see immediate fills; smart pricing has
    # its own tests in test_execution.py.
    settings.setdefault("execution", {"entry": {"style": "natural"}})
    bot = build_bot(make_settings(strategies={}, **settings), clock, run_tag="t")
    strat = OneShot(bot.market, clock, **(strategy_kwargs or {}))
    bot.engine.strategies.append(GuardedStrategy(strat))
    return bot, clock


def feed(bot: Bot, clock: SimClock, *quotes: Quote) -> None:
    for q in quotes:
        clock.advance_to(q.ts)
        bot.engine.on_event(q)


@pytest.mark.parametrize(("bid", "ask", "reason"), [
    (math.nan, 2.0, "nan"), (2.0, math.inf, "nan"), (-1.0, 2.0, "negative"),
    (2.5, 2.0, "crossed"), (1.0, 0.0, "no_ask"),
])
def test_bad_quotes_are_dropped_counted_and_never_traded(bid: float, ask: float,
                                                         reason: str) -> None:
    bot, clock = bot_with()
    feed(bot, clock, quote(1, bid, ask), quote(2, bid, ask))
    assert bot.metrics.dropped(reason) == 2
    assert bot.market.quote(OPT) is None
    assert bot.orders.orders == {}  # the strategy never saw it


def test_corrupt_quotes_are_logged_once_per_symbol(caplog: pytest.LogCaptureFixture) -> None:
    bot, clock = bot_with()
    with caplog.at_level(logging.WARNING):
        feed(bot, clock, *(quote(m, 2.5, 2.0) for m in range(1, 6)))
    assert len([r for r in caplog.records if "crossed" in r.getMessage()]) == 1


def test_signal_becomes_an_order_stored_before_it_is_sent() -> None:
    bot, clock = bot_with()
    seen_in_store: list[bool] = []
    submit = bot.broker.submit

    def spy(order: Any) -> None:
        stored = {o.client_order_id for o in bot.store.load_orders()}
        seen_in_store.append(order.client_order_id in stored)
        submit(order)

    bot.broker.submit = spy  # type: ignore[method-assign]
    feed(bot, clock, quote(1, 2.00, 2.10, sym="GOOG"), quote(1, 2.00, 2.10))
    assert seen_in_store == [True]
    (order,) = bot.orders.orders.values()
    assert order.status is OrderStatus.FILLED and order.average_fill_price == 2.10


def test_bracket_stop_exits_and_cancels_the_other_legs() -> None:
    bot, clock = bot_with({"stop": 1.90, "target": 2.60})
    feed(bot, clock, quote(1, 2.00, 2.10), quote(2, 1.95, 2.05), quote(3, 1.85, 1.95),
         quote(4, 2.70, 2.80))
    exits = [o for o in bot.orders.orders.values() if o.request.intent is Intent.CLOSE]
    assert len(exits) == 1, "one cancels the other: the target never fires after the stop"
    assert exits[0].average_fill_price == 1.85 and "stop" in exits[0].request.reason
    assert bot.portfolio.quantity(OPT) == 0


def test_time_stop_exits_after_its_time() -> None:
    bot, clock = bot_with({"time_stop": timedelta(minutes=3)})
    feed(bot, clock, quote(1, 2.00, 2.10), quote(3, 2.00, 2.10))
    assert bot.portfolio.quantity(OPT) > 0
    feed(bot, clock, quote(4.5, 2.05, 2.15))
    assert bot.portfolio.quantity(OPT) == 0


def test_end_of_day_flatten_uses_the_early_close() -> None:
    bot, clock = bot_with(orders={"flatten_before_close_minutes": 5})
    feed(bot, clock, quote(1, 2.00, 2.10))
    held = bot.portfolio.quantity(OPT)
    assert held > 0
    # 2015-12-24 closed at 13:00 New York = 18:00 UTC: flatten at 12:55, not 15:55.
    feed(bot, clock, Quote(OPT, datetime(2015, 12, 24, 17, 54, tzinfo=UTC), 2.0, 2.1, 500, 500,
                           "GOOG"))
    assert bot.portfolio.quantity(OPT) == held
    feed(bot, clock, Quote(OPT, datetime(2015, 12, 24, 17, 55, tzinfo=UTC), 2.0, 2.1, 500, 500,
                           "GOOG"))
    assert bot.portfolio.quantity(OPT) == 0
    (exit_order,) = [o for o in bot.orders.orders.values() if o.request.intent is Intent.CLOSE]
    assert "end-of-day flatten" in exit_order.request.reason
    assert "13:00" in exit_order.request.reason


def test_no_entries_in_the_last_minutes_before_the_close() -> None:
    # One cutoff, in the risk gate: the refusal is stored with its rule (2015-12-24 closed
    # at 13:00 New York = 18:00 UTC; 17:46 is inside the last 15 minutes).
    bot, clock = bot_with(risk={"session": {"no_entries_before_close_minutes": 15},
                                "liquidity": {"min_volume": 0, "min_open_interest": 0}})
    feed(bot, clock, Quote(OPT, datetime(2015, 12, 24, 17, 46, tzinfo=UTC), 2.0, 2.1, 500, 500,
                           "GOOG"))
    assert bot.orders.orders == {}
    (denied,) = bot.store.load_orders()
    assert denied.status_reason.startswith("session_window:")


def test_illegal_status_transition_is_refused_and_counted() -> None:
    bot, clock = bot_with()
    feed(bot, clock, quote(1, 2.00, 2.10))
    (order,) = bot.orders.orders.values()
    bot.orders.on_update(OrderUpdate(order.client_order_id, OrderStatus.ACCEPTED, clock.now()))
    assert order.status is OrderStatus.FILLED
    assert bot.metrics.illegal_transitions._value.get() == 1


def test_store_failure_stops_entries_but_keeps_the_fill() -> None:
    bot, clock = bot_with()
    feed(bot, clock, quote(1, 2.00, 2.10))
    record = bot.store.record_fill
    failing = {"on": True}

    def flaky(*args: Any, **kwargs: Any) -> bool:
        if failing["on"]:
            raise StoreError("disk full")
        return record(*args, **kwargs)

    bot.store.record_fill = flaky  # type: ignore[method-assign]
    bot.engine.flatten("test")  # the exit fills at the venue, but cannot be written
    assert bot.orders.unrecorded_fills and not bot.orders.store_healthy
    denied = bot.orders.submit(bot.orders.new_request(OPT, Side.BUY, 1, intent=Intent.OPEN,
                                                      limit_price=2.1))
    assert denied.status is OrderStatus.DENIED and "store" in denied.status_reason
    failing["on"] = False
    bot.orders.retry_store()
    assert bot.orders.store_healthy and not bot.orders.unrecorded_fills
    assert bot.portfolio.quantity(OPT) == 0
    assert len(bot.store.fill_ids()) == 2


def test_a_failing_strategy_is_disabled_not_the_engine() -> None:
    bot, clock = bot_with()

    class Broken(Strategy):
        name = "broken"

        def on_quote(self, q: Quote) -> list[Signal]:
            raise RuntimeError("bug")

    guarded = GuardedStrategy(Broken(None, bot.market, clock), max_errors=2)
    bot.engine.strategies.insert(0, guarded)
    feed(bot, clock, quote(1, 2.0, 2.1), quote(2, 2.0, 2.1), quote(3, 2.0, 2.1))
    assert not guarded.enabled and "2 errors" in guarded.disabled_reason
    assert bot.orders.orders, "the other strategy still traded"
