"""Net-price stepping of multi-leg orders on a simulated clock: each step's net price and
time, the never-past-the-limit rule, the give-up, and the replace chain in the store.

The spread: long XYZ 100C (3.00 x 3.20), short XYZ 105C (1.00 x 1.10). Net bid 3.00 - 1.10 =
1.90, net ask (natural) 3.20 - 1.00 = 2.20, net mid 2.05; three steps of 0.05 from the mid.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.events import Notice
from bot.execution import ComboChain, ExecutionManager
from bot.reconcile import reconcile, restore
from bot.wiring import Bot
from brokers.orders import OrderStatus, OrderType
from market.clock import SimClock
from tests.bot.combo_helpers import HIGH, LOW, T0, combo_bot, quotes, vertical

POLICY = {"steps": 3, "step_seconds": 10, "give_up_seconds": 60}


def execution(bot: Bot) -> ExecutionManager:
    assert bot.engine.execution is not None
    return bot.engine.execution


def make(**entry: object) -> tuple[Bot, SimClock, list[Notice]]:
    clock = SimClock(T0)
    bot = combo_bot(clock=clock, execution={"entry": {**POLICY, **entry}})
    notices: list[Notice] = []
    bot.bus.subscribe(notices.append)
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    return bot, clock, notices


def at(bot: Bot, clock: SimClock, seconds: float) -> None:
    """The market stands still; time passes and both legs requote."""
    clock.advance_to(T0 + timedelta(seconds=seconds))
    quotes(bot, (3.00, 3.20), (1.00, 1.10))


def chain_rows(bot: Bot) -> list[tuple[float, float, str, str | None]]:
    """(seconds after T0, net limit, status, replaces) of each combo parent row, in order."""
    parents = [o for o in bot.store.load_orders() if o.request.symbol == "XYZ 2-leg combo"]
    return [((o.created_at - T0).total_seconds(), o.request.limit_price or 0.0,
             o.status.value, o.request.replaces) for o in parents]


def test_steps_from_net_mid_to_net_natural_every_step_seconds_and_fills() -> None:
    bot, clock, _ = make()
    first = execution(bot).execute_combo(vertical(bot, None), "entry", cap=2.50)
    assert first.spec.limit_price == 2.05 and first.status is OrderStatus.ACCEPTED
    for seconds in (5, 10, 15, 20, 25, 30):
        at(bot, clock, seconds)
    rows = chain_rows(bot)
    assert [(t, price, status) for t, price, status, _ in rows] == [
        (0, 2.05, "cancelled"), (10, 2.10, "cancelled"), (20, 2.15, "cancelled"),
        (30, 2.20, "filled")]
    ids = [o.client_order_id for o in bot.store.load_orders()
           if o.request.symbol == "XYZ 2-leg combo"]
    assert [r[3] for r in rows] == [None, *ids[:-1]]  # each step replaces the one before
    assert (bot.portfolio.quantity(LOW), bot.portfolio.quantity(HIGH)) == (1, -1)
    assert not execution(bot).chains


def test_never_steps_past_the_net_limit_and_gives_up_at_the_deadline() -> None:
    bot, clock, notices = make()
    execution(bot).execute_combo(vertical(bot, None), "entry", cap=2.12)
    for seconds in range(5, 70, 5):
        at(bot, clock, seconds)
    rows = chain_rows(bot)
    assert [price for _, price, _, _ in rows] == [2.05, 2.10, 2.12, 2.12]
    assert max(price for _, price, _, _ in rows) <= 2.12
    assert {status for _, _, status, _ in rows} == {"cancelled"}
    assert rows[-1][0] == 30  # the last step at 30 s; nothing after it
    assert bot.portfolio.quantity(LOW) == bot.portfolio.quantity(HIGH) == 0
    assert bot.orders.open_orders() == [] and not execution(bot).chains
    gave_up = [n for n in notices if n.kind == "execution_gave_up"]
    assert len(gave_up) == 1 and "XYZ 2-leg combo" in gave_up[0].text


def test_a_step_denied_by_risk_ends_the_chain_without_legging() -> None:
    bot, clock, notices = make()
    first = execution(bot).execute_combo(vertical(bot, None), "entry", cap=2.50)
    assert first.status is OrderStatus.ACCEPTED
    bot.control.set_paused(True, clock.now(), "test")  # entries stop: the next step is an entry
    at(bot, clock, 10)
    rows = chain_rows(bot)
    assert [status for _, _, status, _ in rows] == ["cancelled", "denied"]
    assert bot.orders.open_orders() == [] and not execution(bot).chains
    assert any("step 1 not sent" in n.text for n in notices if n.kind == "execution_gave_up")


def test_natural_style_goes_straight_to_the_net_natural_price() -> None:
    bot, _clock, _ = make(style="natural")
    combo = execution(bot).execute_combo(vertical(bot, None), "entry", cap=2.50)
    assert combo.spec.limit_price == 2.20 and combo.status is OrderStatus.FILLED
    assert not any(isinstance(c, ComboChain) for c in execution(bot).chains.values())


def test_market_style_sends_a_market_combo() -> None:
    bot, _clock, _ = make(style="market")
    combo = execution(bot).execute_combo(vertical(bot, 2.00), "entry")
    assert combo.spec.order_type is OrderType.MARKET and combo.spec.limit_price is None
    assert combo.status is OrderStatus.FILLED
    assert combo.parent.average_fill_price == 2.20


def test_a_restart_still_gives_up_a_stepped_combo_at_its_deadline(tmp_path: Path) -> None:
    """The chain stepping a spread lived in the old process: the restarted one holds the
    working combo to the deadline its first step set (60 s) and then cancels it."""
    clock = SimClock(T0)
    settings = {"execution": {"entry": POLICY}}
    bot = combo_bot(tmp_path, clock, run_tag="one", **settings)
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    execution(bot).execute_combo(vertical(bot, None), "entry", cap=2.50)
    at(bot, clock, 10)  # one step: 2.05 cancelled, 2.10 working
    bot.close()

    again = combo_bot(tmp_path, clock, run_tag="two", **settings)
    restore(again.store, again.orders, again.portfolio)
    asyncio.run(reconcile(again.store, again.broker, again.orders, again.portfolio))
    again.engine.resume()
    working = [c for c in again.orders.combos.combos.values() if c.status.is_open]
    assert len(working) == 1 and working[0].spec.limit_price == 2.10
    at(again, clock, 50)
    assert working[0].status is OrderStatus.ACCEPTED  # inside the deadline: it rests
    at(again, clock, 65)
    assert working[0].status is OrderStatus.CANCELLED
    assert again.portfolio.quantity(LOW) == again.portfolio.quantity(HIGH) == 0
    assert not execution(again).chains
