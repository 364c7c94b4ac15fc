"""The IBKR adapter driving the real ib_async against a fake TWS on a local socket.

Each fault test checks the bot's store afterwards: the order reached IB at most once, every
execution is recorded once with its commission, and positions equal IB's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.reconcile import reconcile
from bot.wiring import Bot
from brokers.base import FatalBrokerError
from brokers.ibkr import IbkrBroker
from brokers.ibkr_config import IbkrConfig
from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import OrderStatus, Side
from market.clock import SimClock
from tests.integration.broker_helpers import (
    OPTION,
    bot_for,
    buy,
    sim_clock,
    stored_fills,
    stored_positions,
    until,
)
from tests.integration.fakes.ib import FakeOrder, FakeTws

pytestmark = pytest.mark.integration
OTHER = "AAPL250620C00110000"


def config(fake: FakeTws, **overrides: Any) -> IbkrConfig:
    values: dict[str, Any] = {"port": fake.port, "timeout_seconds": 2.0,
                              "commission_wait_seconds": 0.3, "retry_initial_seconds": 0.01,
                              "reconnect_initial_seconds": 0.05, "reconnect_max_seconds": 0.2,
                              "downtime_poll_seconds": 0.02, **overrides}
    return IbkrConfig(**values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTws]:
    server = await FakeTws().start()
    server.option("AAPL", "20250620", 100.0, "C")
    server.option("AAPL", "20250620", 110.0, "C")
    yield server
    await server.stop()


@pytest.fixture
async def venue(fake: FakeTws, tmp_path) -> AsyncIterator[tuple[IbkrBroker, Bot, SimClock]]:
    clock = sim_clock()  # 2025-06-02 15:00 UTC: far from the nightly window
    broker = IbkrBroker(config(fake), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    yield broker, bot, clock
    await broker.close()
    bot.close()


async def assert_books_match(broker: IbkrBroker, bot: Bot) -> None:
    theirs = {p.symbol: p.quantity for p in await broker.fetch_positions()}
    assert stored_positions(bot) == theirs
    fills = bot.store.load_fills()
    assert len({f.fill_id for f in fills}) == len(fills), "a fill was recorded twice"


async def test_order_carries_our_id_and_its_fill_is_recorded_with_commission(venue,
                                                                            fake) -> None:
    broker, bot, _ = venue
    order = buy(bot, quantity=2, limit=1.3)
    await until(lambda: order.status is OrderStatus.FILLED)
    assert len(fake.placed) == 1
    placed = fake.by_ref(order.client_order_id)
    assert placed is not None and (placed.action, placed.quantity, placed.limit) == (
        "BUY", 2, 1.3)
    fills = [f for f in bot.store.load_fills() if f.client_order_id == order.client_order_id]
    assert [(f.quantity, f.price, f.commission) for f in fills] == [(2, 1.3, 0.65)]
    assert fills[0].fill_id == fake.executions[0][1]
    assert order.broker_order_id == str(placed.perm_id)
    await assert_books_match(broker, bot)
    assert (await broker.fetch_positions())[0].average_price == pytest.approx(1.3)
    account = await broker.fetch_account()
    assert (account.equity, account.cash, account.buying_power) == (100_000, 95_000, 380_000)
    assert fake.market_data_type == 1


async def test_rejection_keeps_ibs_reason(venue, fake) -> None:
    _broker, bot, _ = venue
    fake.reject_next = (201, "Order rejected - reason:Your account has insufficient margin "
                             "(equity with loan value) for this order")
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.REJECTED)
    assert "201" in order.status_reason
    assert "insufficient buying power" in order.status_reason
    assert stored_positions(bot) == {}


async def test_cancel_is_a_cancel_not_a_rejection(venue, fake) -> None:
    broker, bot, _ = venue
    fake.fill_on_place = False
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.ACCEPTED)
    bot.orders.cancel(order.client_order_id)
    await until(lambda: order.status is OrderStatus.CANCELLED)
    assert fake.by_ref(order.client_order_id).status == "Cancelled"
    await assert_books_match(broker, bot)


async def test_modify_amends_the_working_order_in_place(venue, fake) -> None:
    broker, bot, _ = venue
    fake.fill_on_place = False
    order = buy(bot, limit=1.0)
    await until(lambda: order.status is OrderStatus.ACCEPTED)
    broker.modify(order.client_order_id, limit_price=1.05)
    await until(lambda: fake.by_ref(order.client_order_id).limit == 1.05)
    assert len(fake.orders) == 1
    await fake.fill(fake.by_ref(order.client_order_id), 1, 1.05)
    await until(lambda: order.status is OrderStatus.FILLED)


async def test_disconnect_before_ib_takes_the_order_is_never_resent(venue, fake) -> None:
    broker, bot, _ = venue
    fake.drop_on_place = "before"
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.PENDING_RECONCILIATION)
    await until(lambda: broker.reconnects == 1)
    assert fake.orders == {}
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert order.client_order_id in report.never_received
    assert order.status is OrderStatus.CANCELLED
    assert len(fake.placed) == 1
    await assert_books_match(broker, bot)


async def test_fill_during_a_disconnect_is_recorded_after_reconnect(venue, fake) -> None:
    broker, bot, _ = venue
    fake.drop_on_place = "after"  # IB takes and fills the order, then the line drops
    order = buy(bot, quantity=3, limit=0.8)
    await until(lambda: order.status is OrderStatus.FILLED)
    assert broker.reconnects == 1
    assert len(fake.placed) == 1
    assert len(stored_fills(bot, order.client_order_id)) == 1
    assert order.filled_quantity == 3
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert report.clean, report.lines()
    await assert_books_match(broker, bot)


async def test_reconnect_restores_market_data(venue, fake) -> None:
    broker, _bot, _ = venue
    quotes: list = []
    await broker.subscribe_quotes(OPTION, quotes.append)
    await until(lambda: bool(quotes))
    assert (quotes[-1].bid, quotes[-1].ask) == (2.10, 2.20)
    greeks = broker.greeks(OPTION)
    assert greeks is not None and greeks.delta == pytest.approx(0.5123)
    assert greeks.implied_volatility == pytest.approx(0.2345)
    assert len(quotes) == 1
    await fake.drop()
    await until(lambda: broker.reconnects == 1)
    await until(lambda: len(quotes) == 2)  # the fake sends one quote per subscription
    con_id = fake.contracts["AAPL  250620C00100000"].con_id
    assert fake.market_data_requests == [con_id, con_id]


async def test_planned_downtime_sends_nothing_and_reconnects_after(venue, fake) -> None:
    broker, bot, clock = venue
    clock.advance_to(clock.now().replace(hour=3, minute=50) + timedelta(days=1))  # 23:50 ET
    assert broker.in_planned_downtime()
    order = buy(bot)
    assert order.status is OrderStatus.REJECTED
    assert "nightly restart" in order.status_reason
    await fake.drop()
    await until(lambda: broker._reconnecting is not None)
    await until(lambda: fake.connections == 1, within=0.3)  # still waiting the window out
    assert broker.reconnects == 0
    clock.advance_to(clock.now() + timedelta(hours=1))  # 00:50 ET: IB is back
    await until(lambda: broker.reconnects == 1)
    assert fake.placed == []


async def test_external_orders_and_positions_are_reported(venue, fake) -> None:
    broker, bot, _ = venue
    contract = fake.contracts["AAPL  250620C00110000"]
    fake.positions[contract.con_id] = (contract, 4.0, 250.0)
    manual = FakeOrder(0, 777, contract, "SELL", 1, "LMT", 3.0, "DAY", "", 0)  # typed in TWS
    fake.orders[-1] = manual
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert any(OTHER in line and "broker 4" in line for line in report.position_differences)
    assert any("ib-777" in line and OTHER in line for line in report.external_orders)
    assert (await broker.fetch_positions())[0].average_price == pytest.approx(2.5)


async def test_combo_goes_out_as_one_bag_order(venue, fake) -> None:
    broker, _bot, _ = venue
    fake.fill_on_place = False
    updates: list = []
    broker.set_listener(updates.append)
    legs = (Leg(OPTION, Side.BUY), Leg(OTHER, Side.SELL))
    broker.submit_multileg(MultiLegOrder("tf-combo-1", legs, 2, limit_price=0.45))
    await until(lambda: any(u.status is OrderStatus.ACCEPTED for u in updates))
    placed = fake.by_ref("tf-combo-1")
    assert placed is not None and placed.contract.sec_type == "BAG"
    ids = {c.local_symbol.replace(" ", ""): c.con_id for c in fake.contracts.values()}
    assert placed.combo == [(ids[OPTION], 1, "BUY"), (ids[OTHER], 1, "SELL")]
    assert (placed.quantity, placed.limit) == (2, 0.45)


async def test_option_chain_lists_expirations_and_strikes(venue, fake) -> None:
    broker, _bot, _ = venue
    fake.stock("AAPL", 265598)
    expirations, strikes = await broker.option_chain("AAPL")
    assert expirations == ["20250620"]
    assert strikes == [100.0, 110.0]


async def test_paper_mode_refuses_a_live_port_and_a_live_account(fake) -> None:
    with pytest.raises(FatalBrokerError, match="live-trading port"):
        IbkrBroker(IbkrConfig(port=4001), sim_clock())
    fake.account = "U7654321"
    broker = IbkrBroker(config(fake), sim_clock())
    with pytest.raises(FatalBrokerError, match="live account"):
        await broker.connect()
    assert not broker.ib.isConnected()
