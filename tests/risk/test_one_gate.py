"""Invariant 1: no order reaches a broker without passing the RiskManager.

A broker double records every submit (and forwards to the paper venue so fills happen), a
spy records every verdict; entries from a strategy, bracket stops, time stops, a manual
order and the end-of-day flatten all go through, and each submit matches an approved verdict
exactly (resized quantity included). A static check keeps `broker.submit` in one module.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from bot.wiring import build_bot
from brokers.orders import Intent, Order, OrderRequest, Side
from brokers.paper import PaperBroker
from market.clock import SimClock
from market.data import Quote
from market.state import MarketState
from risk.context import RiskContext
from risk.manager import RiskManager, Verdict
from risk.state import TradingState
from strategies.base import Signal, SignalAction, Strategy
from strategies.guard import GuardedStrategy
from tests.conftest import make_settings
from tests.risk.scenario import CALL, PUT, START, liven, quote

ROOT = Path(__file__).resolve().parents[2]


class RecordingBroker(PaperBroker):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.submitted: list[Order] = []

    def submit(self, order: Order) -> None:
        self.submitted.append(order)
        super().submit(order)


class SpyRiskManager(RiskManager):
    def __init__(self, inner: RiskManager) -> None:
        super().__init__(inner.rules)
        self.verdicts: dict[str, Verdict] = {}

    def check(self, request: OrderRequest, ctx: RiskContext) -> Verdict:
        verdict = super().check(request, ctx)
        self.verdicts[request.client_order_id] = verdict
        return verdict


class BuyOnce(Strategy):
    """Buys CALL and PUT once each, with a stop and a time stop."""

    name = "buy_once"

    def __init__(self, market: MarketState, clock: SimClock) -> None:
        super().__init__(None, market, clock)
        self.bought: set[str] = set()

    def on_quote(self, quote: Quote) -> list[Signal]:
        if quote.symbol in self.bought or quote.symbol not in (CALL, PUT):
            return []
        self.bought.add(quote.symbol)
        return [Signal("buy_once", SignalAction.BUY_TO_OPEN, quote.symbol, quote.ts, quote.ask,
                       0.9, "test entry", "GOOG", target=quote.ask * 2, stop=quote.ask * 0.8,
                       time_stop=timedelta(minutes=10))]


def test_every_path_to_the_broker_passes_the_risk_manager(tmp_path):
    settings = make_settings(tmp_path, strategies={}, risk={"max_concurrent_trades": 5})
    clock = SimClock(START)
    broker = RecordingBroker(clock, settings.paper)
    bot = build_bot(settings, clock, broker=broker, run_tag="gate")
    spy = SpyRiskManager(bot.risk)
    bot.orders.risk = spy
    liven(bot, clock, CALL, PUT, "GOOG151231C00760000")
    bot.engine.strategies.append(GuardedStrategy(BuyOnce(bot.market, clock)))

    quote(bot, clock, CALL, 9.90, 10.00, at=START + timedelta(minutes=1))  # strategy entry
    quote(bot, clock, PUT, 9.90, 10.00)  # second strategy entry
    quote(bot, clock, CALL, 7.00, 7.10, at=START + timedelta(minutes=2))  # bracket stop
    bot.engine.on_timer(START + timedelta(minutes=12))  # time stop on PUT (if still held)
    clock.advance_to(START + timedelta(minutes=12))
    quote(bot, clock, PUT, 9.90, 10.00)
    quote(bot, clock, "GOOG151231C00760000", 9.90, 10.00)
    manual = bot.orders.submit(bot.orders.new_request(
        "GOOG151231C00760000", Side.BUY, 80, intent=Intent.OPEN, limit_price=10.00))
    bot.engine.flatten("end-of-day flatten (test)")
    bot.control.set_state(TradingState.HALTED, "kill switch", clock.now())
    halted = bot.orders.submit(bot.orders.new_request(
        CALL, Side.BUY, 1, intent=Intent.OPEN, limit_price=10.00))

    intents = [(o.request.intent, o.request.reason) for o in broker.submitted]
    assert sum(i is Intent.OPEN for i, _ in intents) >= 3
    assert any(i is Intent.CLOSE and r.startswith("stop") for i, r in intents)  # bracket
    assert any(i is Intent.CLOSE and r.startswith("end-of-day") for i, r in intents)
    resized = spy.verdicts[manual.client_order_id].resizes
    assert [r.rule for r in resized] == ["max_contracts_per_order", "max_position_size"]
    assert manual.request.quantity == resized[-1].quantity < 50
    assert halted.status.value == "denied"
    assert halted.client_order_id not in {o.client_order_id for o in broker.submitted}
    for order in broker.submitted:
        verdict = spy.verdicts.get(order.client_order_id)
        assert verdict is not None, f"{order.client_order_id} reached the broker unchecked"
        assert verdict.approved and verdict.request == order.request
    bot.close()


def _calls_submit_on_a_broker(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (
                node.func.attr == "submit"):
            target = ast.unparse(node.func.value)
            if "broker" in target.lower() or "venue" in target.lower():
                lines.append(node.lineno)
    return lines


def test_only_the_order_manager_calls_broker_submit():
    allowed = ROOT / "bot" / "order_manager.py"
    offenders = []
    for package in ("bot", "backtest", "strategies", "risk"):
        for path in (ROOT / package).rglob("*.py"):
            if path != allowed:
                offenders += [f"{path.relative_to(ROOT)}:{n}"
                              for n in _calls_submit_on_a_broker(path)]
    assert not offenders, "broker.submit outside the order manager: " + ", ".join(offenders)
    assert _calls_submit_on_a_broker(allowed), "the order manager should call broker.submit"
