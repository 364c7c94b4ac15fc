"""Sizing in the engine: the ATR stop when a signal brings none, and no order when even one
contract would break the risk-per-trade budget (never a forced 1-lot)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.events import Notice
from bot.wiring import build_bot
from market.clock import SimClock
from market.data import Bar, Quote
from market.state import MarketState
from strategies.base import Signal, SignalAction, Strategy
from strategies.guard import GuardedStrategy
from tests.conftest import make_settings
from tests.risk.scenario import CALL, START, liven, quote


class EmitOnce(Strategy):
    name = "emit_once"

    def __init__(self, market: MarketState, clock: SimClock, signal: Signal) -> None:
        super().__init__(None, market, clock)
        self.pending = [signal]

    def on_quote(self, q: Quote) -> list[Signal]:
        out, self.pending = self.pending, []
        return out


def signal(stop: float | None, entry: float = 10.00) -> Signal:
    return Signal("emit_once", SignalAction.BUY_TO_OPEN, CALL, START, entry, 0.9, "test",
                  "GOOG", stop=stop)


def run(tmp_path, sig: Signal, bars: list[Bar] | None = None):
    clock = SimClock(START)
    bot = build_bot(make_settings(tmp_path, strategies={}), clock, run_tag="s")
    notices: list[Notice] = []
    bot.bus.subscribe(notices.append)
    for bar in bars or []:
        bot.market.on_bar(bar)
    liven(bot, clock, CALL)
    bot.engine.strategies.append(GuardedStrategy(EmitOnce(bot.market, clock, sig)))
    quote(bot, clock, CALL, 9.90, 10.00, at=START + timedelta(seconds=1))
    return bot, notices


def test_atr_stop_sizes_the_entry_and_arms_the_bracket(tmp_path):
    # 15 one-minute bars with a true range of 0.50 each: ATR(14) = 0.50, stop = 10 - 2 x 0.5.
    bars = [Bar(CALL, START - timedelta(minutes=15 - i), 10.0, 10.25, 9.75, 10.0, 10)
            for i in range(15)]
    bot, _ = run(tmp_path, signal(stop=None), bars)
    bracket = bot.engine.brackets.get(CALL)
    assert bracket is not None and bracket.stop == pytest.approx(9.00)
    # 2% of 100,000 = 2,000 at risk; 1.00 x 100 per contract → 20, capped by 5% size → 5.
    (entry,) = bot.orders.orders.values()
    assert entry.request.quantity == 5
    bot.close()


def test_no_order_when_one_contract_risks_too_much(tmp_path):
    # One 60.00 contract costs 6,000 (> 5% of 100,000) and risks 3,000 to its stop (> 2%).
    bot, notices = run(tmp_path, signal(stop=30.0, entry=60.0))
    assert bot.orders.orders == {}
    assert bot.engine.summary.denied == 1
    assert any(n.kind == "order_denied" and "risk_per_trade" in n.text for n in notices)
    bot.close()
