"""A spread's stop, target and time stop: watched on the combo's net bid, fired once, closed as
one combo (never leg by leg), stored with the entry and resumed after a restart.

The spread: long XYZ 100C, short XYZ 105C, entered at the net natural price 3.20 - 1.00 = 2.20.
Its value is the net bid: what selling the combo gets now (long leg's bid minus short leg's ask).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.combo_orders import ComboOrder
from bot.reconcile import reconcile, restore
from bot.spread_exits import close_spread
from bot.wiring import Bot
from brokers.orders import Intent, OrderStatus
from market.clock import SimClock
from market.data import Quote
from market.state import MarketState
from risk.state import TradingState
from strategies.base import Signal, SignalAction, SignalLeg, Strategy
from strategies.guard import GuardedStrategy
from tests.bot.combo_helpers import HIGH, LOW, T0, combo_bot, quotes

LEGS = (SignalLeg(LOW, "buy"), SignalLeg(HIGH, "sell"))
NATURAL = {"entry": {"style": "natural"}, "take_profit": {"style": "natural"}}


class ProtectedSpread(Strategy):
    """Buys the 100/105 call spread once, with the protection it is given."""

    name = "protected_spread"

    def __init__(self, market: MarketState, clock: SimClock, **protection: Any) -> None:
        super().__init__(None, market, clock)
        self.protection = protection
        self.fired = False

    def on_quote(self, quote: Quote) -> list[Signal]:
        if self.fired or quote.symbol != HIGH or self.market.quote(LOW) is None:
            return []
        self.fired = True
        return [
            Signal(
                self.name,
                SignalAction.BUY_TO_OPEN,
                LOW,
                quote.ts,
                2.30,
                0.8,
                "test spread",
                "XYZ",
                legs=LEGS,
                **self.protection,
            )
        ]


def entered(
    tmp_path: Path | None = None, clock: SimClock | None = None, **protection: Any
) -> tuple[Bot, SimClock]:
    clock = clock or SimClock(T0)
    bot = combo_bot(tmp_path, clock, run_tag="one", execution=NATURAL)
    bot.engine.strategies.append(GuardedStrategy(ProtectedSpread(bot.market, clock, **protection)))
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    assert (bot.portfolio.quantity(LOW), bot.portfolio.quantity(HIGH)) == (8, -8)
    return bot, clock


def exits(bot: Bot) -> list[tuple[str, str, int]]:
    """(reason, status, quantity) of each closing combo."""
    return [
        (c.spec.reason, c.status.value, c.spec.quantity)
        for c in bot.orders.combos.combos.values()
        if c.spec.intent is Intent.CLOSE
    ]


def later(
    bot: Bot, clock: SimClock, seconds: float, low: tuple[float, float], high: tuple[float, float]
) -> None:
    clock.advance_to(T0 + timedelta(seconds=seconds))
    quotes(bot, low, high)


def test_the_stop_fires_on_the_net_bid_and_closes_the_spread_as_one_combo() -> None:
    bot, clock = entered(stop=1.50, target=2.80)
    later(bot, clock, 30, (2.70, 2.90), (1.05, 1.15))  # net bid 1.55: above the stop
    assert exits(bot) == []
    later(bot, clock, 60, (2.40, 2.60), (1.05, 1.15))  # the long leg falls: net bid 1.25
    assert exits(bot) == [("stop: net bid 1.25 <= 1.50", "filled", 8)]
    assert bot.portfolio.quantity(LOW) == bot.portfolio.quantity(HIGH) == 0
    assert bot.store.active_brackets() == []
    later(bot, clock, 90, (4.00, 4.20), (1.00, 1.10))  # the target is gone with the position
    assert len(exits(bot)) == 1


def test_the_target_fires_on_the_net_bid() -> None:
    bot, clock = entered(stop=1.50, target=2.80)
    later(bot, clock, 30, (3.85, 4.10), (1.10, 1.15))  # the long leg moves first:
    # net bid 3.85 - 1.10 = 2.75, short of the target; the short leg's new ask then gives
    # 3.85 - 1.15 = 2.70. Nothing fires.
    assert exits(bot) == []
    later(bot, clock, 40, (3.95, 4.10), (1.10, 1.15))  # 3.95 - 1.15 = 2.80
    assert exits(bot) == [("take-profit: net bid 2.80 >= 2.80", "filled", 8)]
    assert bot.portfolio.quantity(LOW) == bot.portfolio.quantity(HIGH) == 0


def test_the_time_stop_closes_the_spread() -> None:
    bot, clock = entered(time_stop=timedelta(minutes=3))
    later(bot, clock, 170, (3.00, 3.20), (1.00, 1.10))
    assert exits(bot) == []
    later(bot, clock, 185, (3.00, 3.20), (1.00, 1.10))
    assert [(status, qty) for _, status, qty in exits(bot)] == [("filled", 8)]
    assert bot.portfolio.quantity(LOW) == 0


def test_the_spread_bracket_is_stored_with_the_entry_and_resumed_after_a_restart(
    tmp_path: Path,
) -> None:
    clock = SimClock(T0)
    bot, _ = entered(tmp_path, clock, stop=1.50)
    [row] = bot.store.active_brackets()
    entry = next(c for c in bot.orders.combos.combos.values() if c.spec.intent is Intent.OPEN)
    assert (row["entry_id"], row["symbol"], row["stop"]) == (
        entry.client_order_id,
        "XYZ 2-leg combo",
        1.50,
    )
    bot.close()

    again = combo_bot(tmp_path, clock, run_tag="two", execution=NATURAL)
    restore(again.store, again.orders, again.portfolio)
    asyncio.run(reconcile(again.store, again.broker, again.orders, again.portfolio))
    again.engine.resume()
    later(again, clock, 60, (2.40, 2.60), (1.05, 1.15))
    assert exits(again) == [("stop: net bid 1.25 <= 1.50", "filled", 8)]
    assert again.portfolio.quantity(LOW) == again.portfolio.quantity(HIGH) == 0
    assert again.store.active_brackets() == []


def test_a_denied_spread_entry_stores_no_bracket() -> None:
    clock = SimClock(T0)
    bot = combo_bot(clock=clock, execution=NATURAL)
    bot.control.set_state(TradingState.REDUCING, "test: exits only", clock.now())
    bot.engine.strategies.append(GuardedStrategy(ProtectedSpread(bot.market, clock, stop=1.50)))
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    [entry] = [o for o in bot.store.load_orders() if o.request.symbol == "XYZ 2-leg combo"]
    assert entry.status is OrderStatus.DENIED
    assert bot.store.active_brackets() == []


def resting_take_profit() -> tuple[Bot, ComboOrder]:
    """A spread held, with a take-profit combo resting at the net mid (smart: not marketable)."""
    clock = SimClock(T0)
    bot = combo_bot(clock=clock, execution={"entry": {"style": "natural"}})
    bot.engine.strategies.append(GuardedStrategy(ProtectedSpread(bot.market, clock)))
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    legs = next(iter(bot.orders.combos.combos.values())).spec.legs
    return bot, close_spread(bot.engine, legs, 8, "take_profit", "test: take profit", "t")


def test_flatten_replaces_a_closing_combo_resting_at_a_limit() -> None:
    """A take-profit combo rests at the net mid when a flatten comes: it is cancelled and the
    spread closes by the flatten policy, with no second closing combo sent alongside it (the
    risk gate would refuse that one, with a denial notice to the trader)."""
    bot, resting = resting_take_profit()
    assert resting.status is OrderStatus.ACCEPTED  # smart: at the net mid, not marketable
    bot.engine.flatten("test: flatten")
    assert exits(bot) == [("test: take profit", "cancelled", 8), ("test: flatten", "filled", 8)]
    assert [o for o in bot.store.load_orders() if o.status is OrderStatus.DENIED] == []
    assert bot.portfolio.quantity(LOW) == bot.portfolio.quantity(HIGH) == 0


def test_flatten_of_a_spread_waits_for_a_cancel_the_venue_confirms_later() -> None:
    bot, resting = resting_take_profit()
    venue_cancel, asked = bot.broker.cancel, list[str]()
    bot.broker.cancel = asked.append  # type: ignore[method-assign,assignment]
    bot.engine.flatten("test: flatten")
    assert asked == [resting.client_order_id] and len(exits(bot)) == 1  # waits for the venue
    venue_cancel(asked[0])
    assert exits(bot) == [("test: take profit", "cancelled", 8), ("test: flatten", "filled", 8)]
    assert bot.portfolio.quantity(LOW) == bot.portfolio.quantity(HIGH) == 0
