"""Multi-leg orders through the whole bot and the real client libraries: the order manager
records the combo and its legs, sends one Alpaca `mleg` order (alpaca-py) or one IB BAG combo
(ib_async), books the venue's per-leg executions on the legs, and reconciliation finds the
combo by its client order id without ever sending it again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.reconcile import reconcile
from bot.wiring import Bot
from brokers.alpaca import AlpacaBroker
from brokers.ibkr import IbkrBroker
from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import OrderStatus, Side
from tests.integration.broker_helpers import (
    OPTION,
    bot_for,
    sim_clock,
    stored_positions,
    until,
)
from tests.integration.fakes.alpaca import FakeAlpaca
from tests.integration.fakes.ib import FakeTws
from tests.integration.test_alpaca_broker import config as alpaca_config
from tests.integration.test_ibkr_broker import config as ibkr_config

pytestmark = pytest.mark.integration
OTHER = "AAPL250620C00110000"
SPREAD = (Leg(OPTION, Side.BUY), Leg(OTHER, Side.SELL))


def spread(bot: Bot, quantity: int = 2, limit: float = 0.80) -> MultiLegOrder:
    return MultiLegOrder(bot.orders.ids.next(), SPREAD, quantity, limit_price=limit,
                         strategy="itest", reason="vertical")


def stored_leg_fills(bot: Bot) -> dict[str, tuple[str, int, float]]:
    return {f.symbol: (f.side.value, f.quantity, f.price) for f in bot.store.load_fills()}


# -- Alpaca (alpaca-py against the local fake) ---------------------------------------------
@pytest.fixture
async def alpaca(tmp_path) -> AsyncIterator[tuple[AlpacaBroker, Bot, FakeAlpaca]]:
    fake = await FakeAlpaca().start()
    broker = AlpacaBroker(alpaca_config(fake), sim_clock())
    bot = bot_for(broker, tmp_path, broker._clock)  # type: ignore[arg-type]
    await broker.connect()
    yield broker, bot, fake
    await broker.close()
    bot.close()
    await fake.stop()


async def test_alpaca_combo_is_stored_then_sent_as_one_mleg_order_and_booked_per_leg(
        alpaca) -> None:
    broker, bot, fake = alpaca
    spec = spread(bot)
    combo = bot.orders.submit_combo(spec)
    stored = {o.client_order_id for o in bot.store.load_orders()}
    assert {spec.client_order_id, spec.leg_id(0), spec.leg_id(1)} <= stored  # before sending
    await until(lambda: combo.status is OrderStatus.ACCEPTED)
    body = fake.submitted_bodies[-1]
    assert body["order_class"] == "mleg" and body["client_order_id"] == spec.client_order_id
    assert "symbol" not in body and body["qty"] == 2 and body["limit_price"] == 0.8
    assert [(leg["symbol"], leg["side"], leg["ratio_qty"], leg["position_intent"])
            for leg in body["legs"]] == [(OPTION, "buy", 1.0, "buy_to_open"),
                                         (OTHER, "sell", 1.0, "sell_to_open")]
    venue_order = fake.by_client_id(spec.client_order_id)
    assert venue_order is not None
    await fake.fill_combo(venue_order, 2, {OPTION: 1.00, OTHER: 0.25})
    await until(lambda: combo.status is OrderStatus.FILLED)
    assert stored_leg_fills(bot) == {OPTION: ("buy", 2, 1.00), OTHER: ("sell", 2, 0.25)}
    assert combo.parent.average_fill_price == pytest.approx(0.75)
    theirs = {p.symbol: p.quantity for p in await broker.fetch_positions()}
    assert stored_positions(bot) == theirs == {OPTION: 2, OTHER: -2}
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert report.clean, report.lines()
    assert fake.count("POST", "/v2/orders") == 1


async def test_alpaca_combo_whose_answer_is_lost_is_found_by_client_id_never_resent(
        alpaca) -> None:
    broker, bot, fake = alpaca
    fake.accept_streams = False  # only the lookup by client id can tell us what happened
    await fake.drop_streams()
    fake.fail("POST", "/v2/orders", "lose_response")
    combo = bot.orders.submit_combo(spread(bot))
    await until(lambda: combo.status is OrderStatus.PENDING_RECONCILIATION)
    await until(lambda: combo.status is OrderStatus.ACCEPTED)
    assert {leg.status for leg in combo.legs} == {OrderStatus.ACCEPTED}
    assert fake.count("POST", "/v2/orders") == 1 and len(fake.orders) == 1
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert not report.external_orders and not report.never_received
    assert fake.count("POST", "/v2/orders") == 1


async def test_alpaca_leg_fills_after_a_restart_map_to_the_combo(alpaca) -> None:
    _broker, bot, fake = alpaca
    spec = spread(bot, quantity=1)
    bot.orders.submit_combo(spec)
    await until(lambda: fake.by_client_id(spec.client_order_id) is not None)
    fresh = AlpacaBroker(alpaca_config(fake), sim_clock())  # knows no leg ids yet
    await fake.fill_combo(fake.by_client_id(spec.client_order_id), 1,  # type: ignore[arg-type]
                          {OPTION: 1.10, OTHER: 0.30})
    fills = await fresh.fetch_fills()
    assert {(f.client_order_id, f.symbol, f.quantity) for f in fills} == {
        (spec.client_order_id, OPTION, 1), (spec.client_order_id, OTHER, 1)}
    fresh.trading._session.close()


# -- Interactive Brokers (ib_async against the fake TWS) -----------------------------------
@pytest.fixture
async def ib(tmp_path) -> AsyncIterator[tuple[IbkrBroker, Bot, FakeTws]]:
    fake = await FakeTws().start()
    fake.option("AAPL", "20250620", 100.0, "C")
    fake.option("AAPL", "20250620", 110.0, "C")
    clock = sim_clock()
    broker = IbkrBroker(ibkr_config(fake), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    yield broker, bot, fake
    await broker.close()
    bot.close()
    await fake.stop()


async def test_ib_combo_is_one_bag_order_and_its_leg_executions_are_booked_per_leg(
        ib) -> None:
    broker, bot, fake = ib
    spec = spread(bot, limit=0.45)
    combo = bot.orders.submit_combo(spec)
    await until(lambda: combo.status is OrderStatus.ACCEPTED)
    placed = fake.by_ref(spec.client_order_id)
    assert placed is not None and placed.contract.sec_type == "BAG"
    ids = {c.local_symbol.replace(" ", ""): c.con_id for c in fake.contracts.values()}
    assert placed.combo == [(ids[OPTION], 1, "BUY"), (ids[OTHER], 1, "SELL")]
    assert (placed.quantity, placed.limit) == (2, 0.45)
    await fake.fill_combo(placed, 2, {ids[OPTION]: 0.90, ids[OTHER]: 0.45})
    await until(lambda: combo.status is OrderStatus.FILLED)
    assert stored_leg_fills(bot) == {OPTION: ("buy", 2, 0.90), OTHER: ("sell", 2, 0.45)}
    assert {f.commission for f in bot.store.load_fills()} == {0.65}
    theirs = {p.symbol: p.quantity for p in await broker.fetch_positions()}
    assert stored_positions(bot) == theirs == {OPTION: 2, OTHER: -2}
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert not report.adopted_fills and not report.never_received
    assert not report.external_orders and not report.position_differences
    assert len(fake.placed) == 1


async def test_ib_combo_while_disconnected_is_rejected_never_legged(ib) -> None:
    broker, bot, fake = ib
    fake.accept_connections = False
    await fake.drop()
    await until(lambda: not broker.ib.isConnected())
    combo = bot.orders.submit_combo(spread(bot))
    assert combo.status is OrderStatus.REJECTED and "not connected" in combo.parent.status_reason
    assert fake.placed == [] and bot.orders.open_orders() == []
