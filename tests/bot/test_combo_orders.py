"""Multi-leg orders through the one path: risk gate, store before send, one venue order, fills
and positions per leg — against the paper venue's combo book and its fill rule."""

from __future__ import annotations

import ast
import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.account_view import AccountView
from bot.combo_orders import VENUE_RULE
from bot.events import Notice
from bot.reconcile import reconcile, restore
from bot.wiring import Bot
from brokers.multileg import Leg
from brokers.orders import OrderStatus, OrderUpdate, Side
from brokers.paper import PaperBroker
from market.clock import SimClock
from market.data import Quote
from risk.rules.multileg import ComboGate
from tests.bot.combo_helpers import HIGH, LOW, T0, VERTICAL, combo_bot, quotes, vertical


def test_debit_spread_rests_until_the_net_natural_price_reaches_its_limit() -> None:
    bot = combo_bot()
    quotes(bot, (3.00, 3.20), (1.00, 1.10))  # net natural 3.20 - 1.00 = 2.20
    combo = bot.orders.submit_combo(vertical(bot, 2.10))
    assert combo.status is OrderStatus.ACCEPTED and combo.filled_quantity == 0
    assert bot.store.load_fills() == []
    quotes(bot, (3.00, 3.20), (1.10, 1.20))  # net natural 3.20 - 1.10 = 2.10: at the limit
    assert combo.status is OrderStatus.FILLED
    fills = {f.symbol: (f.side, f.quantity, f.price) for f in bot.store.load_fills()}
    assert fills == {LOW: (Side.BUY, 1, 3.20), HIGH: (Side.SELL, 1, 1.10)}
    assert (bot.portfolio.quantity(LOW), bot.portfolio.quantity(HIGH)) == (1, -1)
    stored = {o.client_order_id: o for o in bot.store.load_orders()}
    parent = stored[combo.client_order_id]
    assert parent.status is OrderStatus.FILLED and parent.filled_quantity == 1
    assert parent.average_fill_price == pytest.approx(2.10)  # 3.20 - 1.10
    assert {stored[o.client_order_id].status for o in combo.legs} == {OrderStatus.FILLED}


def test_one_legs_move_never_fills_a_leg_alone() -> None:
    bot = combo_bot()
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    combo = bot.orders.submit_combo(vertical(bot, 2.10))
    quotes(bot, (2.90, 3.15), (1.00, 1.10))  # the long leg cheaper, net natural 2.15: no fill
    assert combo.filled_quantity == 0 and combo.status is OrderStatus.ACCEPTED
    assert bot.store.load_fills() == []
    assert bot.portfolio.quantity(LOW) == bot.portfolio.quantity(HIGH) == 0


def test_credit_spread_is_a_negative_net_price_and_fills_at_or_better() -> None:
    bot = combo_bot(risk={"account": {"duplicate_window_seconds": None}})
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    credit = (Leg(LOW, Side.SELL), Leg(HIGH, Side.BUY))  # natural: -3.00 + 1.10 = -1.90
    wants_two = bot.orders.submit_combo(vertical(bot, -2.00, legs=credit))
    assert wants_two.status is OrderStatus.ACCEPTED and wants_two.filled_quantity == 0
    takes_natural = bot.orders.submit_combo(vertical(bot, -1.90, legs=credit))
    assert takes_natural.status is OrderStatus.FILLED
    assert takes_natural.parent.average_fill_price == pytest.approx(-1.90)
    assert bot.portfolio.quantity(LOW) == -1 and bot.portfolio.quantity(HIGH) == 1


def test_displayed_size_of_every_leg_caps_the_combos_filled() -> None:
    bot = combo_bot()
    quotes(bot, (3.00, 3.20), (1.00, 1.10), size=3)
    ratio = (Leg(LOW, Side.BUY, ratio=2), Leg(HIGH, Side.SELL))  # 3 // 2 = 1 combo shown
    combo = bot.orders.submit_combo(vertical(bot, None, quantity=2, legs=ratio))
    assert combo.filled_quantity == 1 and combo.status is OrderStatus.PARTIALLY_FILLED
    assert (bot.portfolio.quantity(LOW), bot.portfolio.quantity(HIGH)) == (2, -1)
    quotes(bot, (3.00, 3.20), (1.00, 1.10), size=10)
    assert combo.filled_quantity == 2 and combo.status is OrderStatus.FILLED
    assert (bot.portfolio.quantity(LOW), bot.portfolio.quantity(HIGH)) == (4, -2)


def test_a_leg_fill_heard_twice_is_booked_once() -> None:
    bot = combo_bot()
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    heard: list[OrderUpdate] = []
    listener = bot.broker._listener  # type: ignore[attr-defined]

    def hear(update: OrderUpdate) -> None:
        heard.append(update)
        listener(update)

    bot.broker.set_listener(hear)
    combo = bot.orders.submit_combo(vertical(bot, 2.20))
    fill_updates = [u for u in heard if u.fill is not None]
    assert len(fill_updates) == 2
    for update in fill_updates:  # a stream replay after a reconnect
        bot.orders.on_update(update)
    assert len(bot.store.load_fills()) == 2
    assert (bot.portfolio.quantity(LOW), bot.portfolio.quantity(HIGH)) == (1, -1)
    assert combo.filled_quantity == 1


def test_cancel_by_a_legs_id_cancels_the_combo_at_the_venue() -> None:
    bot = combo_bot()
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    combo = bot.orders.submit_combo(vertical(bot, 2.00))
    bot.orders.cancel(combo.legs[1].client_order_id)
    assert combo.status is OrderStatus.CANCELLED
    assert {leg.status for leg in combo.legs} == {OrderStatus.CANCELLED}
    assert bot.orders.open_orders() == []


def test_a_venue_without_combos_refuses_and_the_refusal_is_stored() -> None:
    bot = combo_bot()
    quotes(bot, (3.00, 3.20), (1.00, 1.10))

    class SingleLegOnly:
        name = "single"

        def __init__(self) -> None:
            self.sent: list[object] = []

        def submit(self, order: object) -> None:
            self.sent.append(order)

        def set_listener(self, listener: object) -> None: ...

    venue = SingleLegOnly()
    bot.orders.broker = venue  # type: ignore[assignment]
    notices: list[Notice] = []
    bot.bus.subscribe(notices.append)
    combo = bot.orders.submit_combo(vertical(bot, 2.20))
    assert combo.status is OrderStatus.DENIED and venue.sent == []
    assert combo.parent.status_reason.startswith(f"{VENUE_RULE}:")
    decisions = bot.store.load_risk_decisions()
    assert decisions[0]["rule"] == VENUE_RULE and decisions[0]["decision"] == "reject"
    stored = {o.client_order_id: o for o in bot.store.load_orders()}
    assert stored[combo.client_order_id].status is OrderStatus.DENIED
    assert any(n.kind == "order_denied" and "never legged" in n.text for n in notices)


def test_restart_rebuilds_working_combos_and_reconciles_them_by_client_id(
        tmp_path: Path) -> None:
    clock = SimClock(T0)
    bot = combo_bot(tmp_path, clock, risk={"account": {"duplicate_window_seconds": None}})
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    working = bot.orders.submit_combo(vertical(bot, 2.10))
    filled = bot.orders.submit_combo(vertical(bot, 2.20))
    assert filled.status is OrderStatus.FILLED
    bot.close()

    again = combo_bot(tmp_path, clock)
    restore(again.store, again.orders, again.portfolio)
    report = asyncio.run(reconcile(again.store, again.broker, again.orders, again.portfolio))
    assert report.clean, report.lines()  # nothing unknown, nothing adopted, nothing resent
    combo = again.orders.combos.combos[working.client_order_id]
    assert combo.status is OrderStatus.ACCEPTED and combo.spec.legs == working.spec.legs
    assert {o.client_order_id for o in again.orders.open_orders()} == {
        o.client_order_id for o in working.legs}
    quotes(again, (3.00, 3.20), (1.10, 1.20))  # the restarted bot hears the fill per leg
    assert combo.status is OrderStatus.FILLED
    assert (again.portfolio.quantity(LOW), again.portfolio.quantity(HIGH)) == (2, -2)
    db = sqlite3.connect(tmp_path / "ledger.db")
    venue_fills = {r[0] for r in db.execute("SELECT fill_id FROM fills")}
    db.close()
    assert again.store.fill_ids() == venue_fills
    again.close()


def _calls(path: Path, attr: str) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == attr]


def test_only_the_combo_half_of_the_order_manager_sends_combos() -> None:
    root = Path(__file__).resolve().parents[2]
    allowed = root / "bot" / "combo_orders.py"
    offenders = [f"{path.relative_to(root)}:{n}"
                 for package in ("bot", "backtest", "strategies", "risk")
                 for path in (root / package).rglob("*.py") if path != allowed
                 for n in _calls(path, "submit_multileg")]
    assert not offenders, "submit_multileg outside bot/combo_orders.py: " + ", ".join(offenders)
    assert _calls(allowed, "submit_multileg")


def test_every_combo_the_venue_receives_passed_the_combo_gate() -> None:
    bot = combo_bot(risk={"account": {"duplicate_window_seconds": None}})
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    sent: list[object] = []
    venue_submit = bot.broker.submit_multileg  # type: ignore[attr-defined]
    bot.broker.submit_multileg = lambda o: (sent.append(o), venue_submit(o))  # type: ignore
    verdicts: dict[str, object] = {}
    gate_check = ComboGate.check

    def spy(self: ComboGate, order: object, ctx: object) -> object:
        verdict = gate_check(self, order, ctx)  # type: ignore[arg-type]
        verdicts[order.client_order_id] = verdict  # type: ignore[attr-defined]
        return verdict

    ComboGate.check = spy  # type: ignore[method-assign,assignment]
    try:
        bot.orders.submit_combo(vertical(bot, 2.20, quantity=80))  # resized by the gate
        bot.orders.submit_combo(vertical(bot, 2.20, legs=(Leg(LOW, Side.BUY),
                                                          Leg(HIGH, Side.SELL, ratio=2))))
        bot.control.set_paused(True, bot.clock.now(), "test")
        bot.orders.submit_combo(vertical(bot, 2.20))
        bot.control.set_paused(False, bot.clock.now(), "test")
        close = tuple(leg.reversed for leg in VERTICAL)
        bot.orders.submit_combo(vertical(bot, None, quantity=2, legs=close))
    finally:
        ComboGate.check = gate_check  # type: ignore[method-assign]
    assert len(verdicts) == 4 and len(sent) == 2  # the naked one and the paused one stopped
    for order in sent:
        verdict = verdicts[order.client_order_id]  # type: ignore[attr-defined]
        assert verdict.approved and verdict.order == order  # type: ignore[attr-defined]
    assert sent[0].quantity < 80  # type: ignore[attr-defined]
    assert sent[1].closes  # type: ignore[attr-defined]


def view(bot: Bot) -> AccountView:
    assert isinstance(bot.orders.ctx, AccountView)
    return bot.orders.ctx


def test_a_spread_is_one_trade_for_the_concurrent_trades_limit() -> None:
    """Two legs held (or working) as one spread count once: with a limit of two trades a
    second spread is still allowed, a third is not."""
    bot = combo_bot(risk={"max_concurrent_trades": 2,
                          "account": {"duplicate_window_seconds": None}})
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    filled = bot.orders.submit_combo(vertical(bot, None))
    assert filled.status is OrderStatus.FILLED
    assert view(bot).open_trade_count() == 1  # two legs held, one trade
    wider = ("XYZ251219C00110000", "XYZ251219C00115000")
    now = bot.clock.now()
    for symbol, (bid, ask) in zip(wider, ((1.80, 1.90), (1.20, 1.25)), strict=True):
        bot.engine.on_event(Quote(symbol, now, bid, ask, 10, 10, "XYZ"))
    legs = (Leg(wider[0], Side.BUY), Leg(wider[1], Side.SELL))
    resting = bot.orders.submit_combo(vertical(bot, 0.20, legs=legs))  # net natural 0.70
    assert resting.status is OrderStatus.ACCEPTED
    assert view(bot).open_trade_count() == 2  # + two working leg orders, one trade
    third = bot.orders.submit_combo(vertical(bot, None))
    assert third.status is OrderStatus.DENIED
    assert "2 trades open or working, max 2" in third.parent.status_reason


def test_a_spread_with_a_leg_closed_outside_counts_its_remaining_leg() -> None:
    bot = combo_bot()
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    assert bot.orders.submit_combo(vertical(bot, None)).status is OrderStatus.FILLED
    assert view(bot).open_trade_count() == 1
    assert isinstance(bot.broker, PaperBroker)
    bot.broker.close_position_outside(HIGH)  # a manual close in the broker's app
    asyncio.run(reconcile(bot.store, bot.broker, bot.orders, bot.portfolio))
    assert bot.portfolio.quantity(HIGH) == 0 and bot.portfolio.quantity(LOW) == 1
    assert view(bot).open_trade_count() == 1  # the long leg alone is one trade


def test_after_a_restart_a_spread_is_one_entry_of_its_strategy(tmp_path: Path) -> None:
    """The per-strategy entries-per-day safeguard counts a spread once, before and after a
    restart (the books then hold one order row per leg)."""
    clock = SimClock(T0)
    bot = combo_bot(tmp_path, clock, risk={"account": {"duplicate_window_seconds": None}})
    quotes(bot, (3.00, 3.20), (1.00, 1.10))
    for _ in range(2):
        assert bot.orders.submit_combo(vertical(bot, None)).status is OrderStatus.FILLED
    bot.close()

    again = combo_bot(tmp_path, clock)
    restore(again.store, again.orders, again.portfolio)
    usage = again.engine.strategy_book.usage("test")
    assert usage.entries_today == 2
    assert usage.open_positions == 1  # both spreads are on the same two contracts
    again.close()
