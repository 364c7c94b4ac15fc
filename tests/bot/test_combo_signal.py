"""A strategy that trades a vertical spread: its Signal carries legs (plain values, no broker
types), and the engine turns it into one combo order — sized by the spread's max loss, risk
checked as a whole, stepped on its net price, filled all legs together."""

from __future__ import annotations

from datetime import timedelta

from bot.events import Notice
from brokers.orders import Intent, OrderStatus, Side
from market.clock import SimClock
from market.data import Quote
from market.state import MarketState
from risk.state import TradingState
from strategies.base import Signal, SignalAction, SignalLeg, Strategy
from strategies.guard import GuardedStrategy
from tests.bot.combo_helpers import HIGH, LOW, T0, combo_bot, quotes, vertical

LEGS = (SignalLeg(LOW, "buy"), SignalLeg(HIGH, "sell"))


class BullCallSpread(Strategy):
    """Buys the 100/105 call spread once both legs are quoted, and sells it when asked."""

    name = "bull_call_spread"

    def __init__(self, market: MarketState, clock: SimClock) -> None:
        super().__init__(None, market, clock)
        self.action: SignalAction | None = SignalAction.BUY_TO_OPEN
        self.limit = 2.30

    def on_quote(self, quote: Quote) -> list[Signal]:
        if self.action is None or quote.symbol != HIGH or self.market.quote(LOW) is None:
            return []
        action, self.action = self.action, None
        return [Signal(self.name, action, LOW, quote.ts, self.limit, 0.8, "test spread",
                       "XYZ", legs=LEGS)]


def test_a_vertical_spread_signal_flows_through_the_engine_as_one_combo() -> None:
    clock = SimClock(T0)
    bot = combo_bot(clock=clock, execution={"entry": {"steps": 2, "step_seconds": 10}})
    strategy = BullCallSpread(bot.market, clock)
    bot.engine.strategies.append(GuardedStrategy(strategy))
    quotes(bot, (3.00, 3.20), (1.00, 1.10))  # net mid 2.05, natural 2.20
    combos = list(bot.orders.combos.combos.values())
    assert len(combos) == 1
    entry = combos[0]
    # Sized by its max loss (the 2.30 net limit): 2% of 100,000 / 230 = 8 spreads.
    assert entry.spec.quantity == 8 and entry.spec.strategy == "bull_call_spread"
    assert entry.spec.limit_price == 2.05 and entry.status is OrderStatus.ACCEPTED  # the mid
    for seconds in (10, 20):
        clock.advance_to(T0 + timedelta(seconds=seconds))
        quotes(bot, (3.00, 3.20), (1.00, 1.10))
    assert (bot.portfolio.quantity(LOW), bot.portfolio.quantity(HIGH)) == (8, -8)
    parents = [c for c in bot.orders.combos.combos.values() if c.status is OrderStatus.FILLED]
    assert [c.spec.limit_price for c in parents] == [2.20]  # stepped to the natural price
    stored = [s for s in bot.store.load_signals() if s["strategy"] == "bull_call_spread"]
    assert stored and stored[0]["client_order_id"] == entry.client_order_id

    strategy.action = SignalAction.SELL_TO_CLOSE
    for seconds in (300, 305, 310):  # take-profit policy: mid, halfway, natural 5 s apart
        clock.advance_to(T0 + timedelta(seconds=seconds))
        quotes(bot, (3.10, 3.30), (1.00, 1.10))
    closes = [c for c in bot.orders.combos.combos.values() if c.spec.intent is Intent.CLOSE]
    # Net bid -3.30 + 1.00 = -2.30, natural -3.10 + 1.10 = -2.00, mid -2.15; halfway -2.075
    # rounds to the passive cent, -2.08 (a combo is bought: down is passive).
    assert [c.spec.limit_price for c in closes] == [-2.15, -2.08, -2.00]
    assert closes[0].spec.quantity == 8 and closes[-1].status is OrderStatus.FILLED
    assert bot.portfolio.quantity(LOW) == bot.portfolio.quantity(HIGH) == 0


def test_a_spread_too_big_for_the_risk_budget_is_skipped_and_said() -> None:
    clock = SimClock(T0)
    bot = combo_bot(clock=clock, risk={"risk_per_trade_pct": 0.001})  # 100 a trade
    notices: list[Notice] = []
    bot.bus.subscribe(notices.append)
    bot.engine.strategies.append(GuardedStrategy(BullCallSpread(bot.market, clock)))
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    assert bot.orders.combos.combos == {}
    assert any(n.kind == "order_denied" and "[risk_per_trade]" in n.text for n in notices)


def test_flatten_closes_a_held_spread_as_one_combo_never_leg_by_leg() -> None:
    bot = combo_bot()
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    opened = bot.orders.submit_combo(vertical(bot, 2.20, quantity=3))
    assert opened.status is OrderStatus.FILLED
    bot.control.set_state(TradingState.HALTED, "kill switch (test)", bot.clock.now())
    bot.engine.flatten("kill switch (test)")
    closes = [c for c in bot.orders.combos.combos.values() if c.spec.intent is Intent.CLOSE]
    assert len(closes) == 1 and closes[0].spec.quantity == 3
    assert closes[0].status is OrderStatus.FILLED
    assert [leg.side for leg in closes[0].spec.legs] == [Side.SELL, Side.BUY]
    single_exits = [o for o in bot.orders.orders.values()
                    if o.request.intent is Intent.CLOSE and o.request.parent_id is None]
    assert single_exits == []
    assert bot.portfolio.quantity(LOW) == bot.portfolio.quantity(HIGH) == 0
