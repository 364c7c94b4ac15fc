"""Smart limit pricing: the price and time of each step, the give-up, the never-past-the-limit
rule, and the replace chain in the store — on a simulated clock with hand-made quotes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.events import Notice
from bot.execution import step_price
from bot.execution_config import ExecutionPolicy
from bot.wiring import Bot, build_bot
from brokers.orders import Intent, OrderStatus, Side
from market.clock import SimClock
from market.data import Quote
from tests.conftest import make_settings

OPT = "XYZ251219C00100000"
T0 = datetime(2025, 12, 1, 16, 0, tzinfo=UTC)
POLICY = ExecutionPolicy(steps=3, step_seconds=10, give_up_seconds=60)


@pytest.mark.parametrize(("side", "step", "expected"), [
    (Side.BUY, 0, 2.05), (Side.BUY, 1, 2.06), (Side.BUY, 2, 2.08), (Side.BUY, 3, 2.10),
    (Side.SELL, 0, 2.05), (Side.SELL, 1, 2.04), (Side.SELL, 2, 2.02), (Side.SELL, 3, 2.00),
])
def test_steps_walk_from_the_mid_to_the_natural_price(side: Side, step: int,
                                                      expected: float) -> None:
    # mid 2.05, natural 2.10 (buy) / 2.00 (sell); a third of 0.05 per step, rounded to the
    # cent on the passive side: 2.0667 -> 2.06, 2.0833 -> 2.08.
    assert step_price(side, 2.00, 2.10, POLICY, step, None) == expected


def test_start_offset_starts_part_of_the_way_to_natural() -> None:
    policy = ExecutionPolicy(steps=2, start_offset=0.5)
    assert step_price(Side.BUY, 2.00, 2.20, policy, 0, None) == 2.15  # halfway mid→ask


@pytest.mark.parametrize(("side", "cap", "expected"), [(Side.BUY, 2.07, 2.07),
                                                         (Side.SELL, 2.03, 2.03)])
def test_never_steps_past_the_limit(side: Side, cap: float, expected: float) -> None:
    assert step_price(side, 2.00, 2.10, POLICY, 3, cap) == expected


def make_bot(**execution: Any) -> tuple[Bot, SimClock, list[Notice]]:
    clock = SimClock(T0)
    settings = make_settings(
        strategies={}, execution={"entry": {"steps": 3, "step_seconds": 10,
                                            "give_up_seconds": 60, **execution}},
        risk={"liquidity": {"min_volume": 0, "min_open_interest": 0}})
    bot = build_bot(settings, clock, run_tag="x")
    notices: list[Notice] = []
    bot.bus.subscribe(notices.append)
    return bot, clock, notices


def tick(bot: Bot, clock: SimClock, seconds: float, bid: float = 2.00, ask: float = 2.10) -> None:
    clock.advance_to(T0 + timedelta(seconds=seconds))
    bot.engine.on_event(Quote(OPT, clock.now(), bid, ask, 50, 50, "XYZ"))


def enter(bot: Bot, quantity: int = 5, cap: float = 2.10) -> None:
    assert bot.engine.execution is not None
    request = bot.orders.new_request(OPT, Side.BUY, quantity, intent=Intent.OPEN,
                                     limit_price=cap, underlying="XYZ", strategy="t")
    bot.engine.execution.execute(request, "entry", cap=cap)


def test_entry_steps_every_interval_by_cancel_replace_until_filled() -> None:
    bot, clock, _ = make_bot()
    checks = {"n": 0}
    check = bot.risk.check

    def counting(*args: Any) -> Any:
        checks["n"] += 1
        return check(*args)

    bot.risk.check = counting  # type: ignore[method-assign,assignment]
    tick(bot, clock, 0)
    enter(bot)
    for second in (5, 10, 15, 20, 25, 30):
        tick(bot, clock, second)
    orders = bot.store.load_orders()
    prices = [(o.request.limit_price, o.status) for o in orders]
    assert prices == [(2.05, OrderStatus.CANCELLED), (2.06, OrderStatus.CANCELLED),
                      (2.08, OrderStatus.CANCELLED), (2.10, OrderStatus.FILLED)]
    assert [o.created_at - T0 for o in orders] == [timedelta(seconds=s) for s in (0, 10, 20, 30)]
    # The chain is linked in the store, every id is new, and every step passed risk.
    assert [o.request.replaces for o in orders[1:]] == [o.client_order_id for o in orders[:-1]]
    assert len({o.client_order_id for o in orders}) == 4
    assert checks["n"] == 4
    assert bot.portfolio.quantity(OPT) == 5


def test_a_resting_step_fills_when_the_market_comes_to_it() -> None:
    bot, clock, _ = make_bot()
    tick(bot, clock, 0)
    enter(bot)
    tick(bot, clock, 4, bid=1.98, ask=2.05)  # the ask drops to our 2.05 bid
    (order,) = bot.store.load_orders()
    assert order.status is OrderStatus.FILLED and order.average_fill_price == 2.05


def test_gives_up_after_its_time_and_never_crosses_the_limit() -> None:
    bot, clock, notices = make_bot(give_up_seconds=25)
    tick(bot, clock, 0)
    enter(bot, cap=2.07)
    for second in range(5, 60, 5):
        tick(bot, clock, second)
    orders = bot.store.load_orders()
    assert all(o.request.limit_price is not None and o.request.limit_price <= 2.07
               for o in orders)
    assert [o.request.limit_price for o in orders] == [2.05, 2.06, 2.07]
    assert all(o.status is OrderStatus.CANCELLED for o in orders)
    assert bot.portfolio.quantity(OPT) == 0
    assert any(n.kind == "execution_gave_up" for n in notices)
    assert bot.engine.execution is not None and not bot.engine.execution.chains


def test_partial_fill_carries_only_the_rest_into_the_next_step() -> None:
    bot, clock, _ = make_bot()
    tick(bot, clock, 0)
    enter(bot, quantity=5)
    clock.advance_to(T0 + timedelta(seconds=3))
    bot.engine.on_event(Quote(OPT, clock.now(), 1.98, 2.05, 50, 2, "XYZ"))  # 2 at our price
    tick(bot, clock, 10)
    orders = bot.store.load_orders()
    assert orders[0].filled_quantity == 2 and orders[0].status is OrderStatus.CANCELLED
    assert orders[1].request.quantity == 3


def test_stops_go_to_market_by_default() -> None:
    bot, clock, _ = make_bot()
    tick(bot, clock, 0)
    enter(bot)
    tick(bot, clock, 4, bid=1.98, ask=2.05)
    bot.engine.flatten("test")
    exit_order = next(o for o in bot.store.load_orders() if o.request.intent is Intent.CLOSE)
    assert exit_order.request.order_type.value == "market"
    assert exit_order.average_fill_price == 1.98


def test_flatten_cancels_a_stepping_entry_without_sending_its_next_step() -> None:
    bot, clock, _ = make_bot()
    tick(bot, clock, 0)
    enter(bot)
    bot.engine.flatten("person pressed flatten")
    tick(bot, clock, 30)
    tick(bot, clock, 60)
    orders = bot.store.load_orders()
    assert [o.status for o in orders] == [OrderStatus.CANCELLED]
    assert bot.engine.execution is not None and not bot.engine.execution.chains
