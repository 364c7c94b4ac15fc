"""Broker connection alerts with the real client libraries against the local fakes.

alpaca-py's trade-updates socket is dropped and refused for a while, then let back; ib_async's
connection to the fake TWS is cut and refused, then TWS "restarts". Each time: one disconnect
alert however many reconnect attempts fail, one reconnect alert, and afterwards the books are
whole (missed fills recorded once, market-data subscriptions restored). Inside IB's planned
nightly window the same drop raises nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.control_views import status_view
from bot.events import Notice
from bot.monitor import Monitor
from bot.reconcile import reconcile, restore
from bot.wiring import Bot
from brokers.alpaca import AlpacaBroker
from brokers.base import RateLimited, TransientBrokerError
from brokers.connection import ConnectionChange
from brokers.ibkr import IbkrBroker
from brokers.orders import OrderStatus
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
from tests.integration.fakes.alpaca import FakeAlpaca
from tests.integration.fakes.ib import FakeTws
from tests.integration.test_alpaca_broker import config as alpaca_config
from tests.integration.test_ibkr_broker import config as ibkr_config

pytestmark = pytest.mark.integration


def alerts(notices: list[Notice]) -> list[str]:
    return [n.kind for n in notices if n.kind.startswith("broker_")]


def last_alert(notices: list[Notice]) -> Notice:
    return [n for n in notices if n.kind.startswith("broker_")][-1]


def watched(bot: Bot) -> tuple[Monitor, list[Notice], list[ConnectionChange]]:
    """A monitor on the bot (alerts land in `notices`) and the adapter's raw changes."""
    notices: list[Notice] = []
    changes: list[ConnectionChange] = []
    bot.bus.subscribe(notices.append)
    bot.broker.add_connection_listener(changes.append)
    return Monitor(bot, live_feed=False, stale_after=30, heartbeat_minutes=0), notices, changes


async def books_match(broker: AlpacaBroker | IbkrBroker, bot: Bot) -> None:
    theirs = {p.symbol: p.quantity for p in await broker.fetch_positions()}
    assert stored_positions(bot) == theirs
    fills = bot.store.load_fills()
    assert len({f.fill_id for f in fills}) == len(fills), "a fill was recorded twice"


# -- Alpaca -------------------------------------------------------------------------------
@pytest.fixture
async def alpaca() -> AsyncIterator[FakeAlpaca]:
    server = await FakeAlpaca().start()
    yield server
    await server.stop()


@pytest.fixture
async def alpaca_venue(alpaca: FakeAlpaca, tmp_path) -> AsyncIterator[tuple[AlpacaBroker, Bot]]:
    clock = sim_clock()
    broker = AlpacaBroker(alpaca_config(alpaca, rest_probe_seconds=0.05), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    yield broker, bot
    await broker.close()
    bot.close()


async def test_alpaca_stream_drop_one_alert_each_way_and_the_missed_fill_is_recorded(
    alpaca_venue, alpaca: FakeAlpaca
) -> None:
    broker, bot = alpaca_venue
    monitor, notices, changes = watched(bot)
    assert broker.connected
    monitor.check()
    alpaca.fill_on_submit = False
    order = buy(bot, quantity=2)
    await until(lambda: order.status is OrderStatus.ACCEPTED)

    alpaca.accept_streams = False
    await alpaca.drop_streams()
    await until(lambda: not broker.connected)
    venue_order = alpaca.by_client_id(order.client_order_id)
    assert venue_order is not None
    await alpaca.fill(venue_order, 2, 0.9)  # nobody listens: this event is lost
    await until(lambda: alpaca.stream_refusals >= 3)  # alpaca-py keeps retrying
    monitor.check()
    assert alerts(notices) == ["broker_disconnected"]
    assert "trade-updates stream closed" in last_alert(notices).text
    assert status_view(bot, {}).broker_note.startswith("trade-updates stream closed")

    alpaca.accept_streams = True
    await until(lambda: broker.connected)
    await until(lambda: order.status is OrderStatus.FILLED)  # replayed from activities
    monitor.check()
    assert alerts(notices) == ["broker_disconnected", "broker_reconnected"]
    assert [c.connected for c in changes] == [False, True]
    assert "stream listening again" in last_alert(notices).text
    assert [n.priority for n in notices if n.kind.startswith("broker_")] == [2, 1]
    assert len(stored_fills(bot, order.client_order_id)) == 1
    assert order.filled_quantity == 2
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert report.clean, report.lines()
    await books_match(broker, bot)


async def test_alpaca_rest_failing_after_its_retries_is_a_disconnect_until_it_answers(
    alpaca_venue, alpaca: FakeAlpaca
) -> None:
    broker, bot = alpaca_venue
    _monitor, notices, _changes = watched(bot)
    alpaca.fail("GET", "/v2/positions", status=429, times=100)
    with pytest.raises(RateLimited):
        await broker.fetch_positions()
    alpaca.fail("POST", "/v2/orders", status=500)  # one lost submit answer: not an outage
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.PENDING_RECONCILIATION)
    await until(lambda: not broker._tasks)  # its lookups by client order id are over
    assert broker.connected and alerts(notices) == []

    alpaca.faults.clear()
    alpaca.fail("GET", "/v2/account", status=503, times=4)  # every attempt of one read
    alpaca.fail("GET", "/v2/clock", status=503, times=2)  # the first probe fails too
    with pytest.raises(TransientBrokerError):
        await broker.fetch_account()
    assert not broker.connected
    assert "REST unreachable: alpaca 503" in broker.connection.reason
    assert alerts(notices) == ["broker_disconnected"]
    await until(lambda: broker.connected)  # the probe's next clock answers
    assert alerts(notices) == ["broker_disconnected", "broker_reconnected"]
    assert alpaca.count("GET", "/v2/clock") >= 3


async def test_alpaca_fill_ids_that_differ_between_stream_and_activities_count_once(
    alpaca: FakeAlpaca, tmp_path
) -> None:
    """Decision 0251: nothing documents that an activity id embeds the stream's execution id;
    when it does not, the execution is still recognised, live, on replay and after a restart."""
    alpaca.activity_ids_match = False
    clock = sim_clock()
    broker = AlpacaBroker(alpaca_config(alpaca), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    try:
        alpaca.fill_on_submit = False
        order = buy(bot, quantity=3)
        await until(lambda: order.status is OrderStatus.ACCEPTED)
        venue_order = alpaca.by_client_id(order.client_order_id)
        assert venue_order is not None
        await alpaca.fill(venue_order, 1, 1.0)  # heard live
        await alpaca.fill(venue_order, 1, 1.0)  # same size and price, a second execution
        await until(lambda: order.filled_quantity == 2)
        alpaca.accept_streams = False
        await alpaca.drop_streams()
        await until(lambda: not broker.connected)
        await alpaca.fill(venue_order, 1, 1.0)  # missed: only the activity tells it
        alpaca.accept_streams = True
        await until(lambda: order.status is OrderStatus.FILLED)
        live_ids = set(stored_fills(bot, order.client_order_id))
        activity_ids = {a["id"].split("::")[1] for a in alpaca.activities}
        assert len(live_ids) == 3 and len(live_ids & activity_ids) == 1  # the replayed one
        report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
        assert report.clean, report.lines()
        await books_match(broker, bot)
    finally:
        await broker.close()
        bot.close()
    restarted = AlpacaBroker(alpaca_config(alpaca), clock)  # a new session: no memory of ids
    bot = bot_for(restarted, tmp_path, clock)
    await restarted.connect()
    try:
        restore(bot.store, bot.orders, bot.portfolio)  # what the daemon does at start-up
        report = await reconcile(bot.store, restarted, bot.orders, bot.portfolio)
        assert report.clean, report.lines()
        assert len(stored_fills(bot, order.client_order_id)) == 3
        assert stored_positions(bot) == {OPTION: 3}
        await books_match(restarted, bot)
    finally:
        await restarted.close()
        bot.close()


# -- IBKR ---------------------------------------------------------------------------------
@pytest.fixture
async def tws() -> AsyncIterator[FakeTws]:
    server = await FakeTws().start()
    server.option("AAPL", "20250620", 100.0, "C")
    yield server
    await server.stop()


@pytest.fixture
async def ib_venue(tws: FakeTws, tmp_path) -> AsyncIterator[tuple[IbkrBroker, Bot, SimClock]]:
    clock = sim_clock()  # 2025-06-02 15:00 UTC: far from the nightly window
    broker = IbkrBroker(ibkr_config(tws), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    yield broker, bot, clock
    await broker.close()
    bot.close()


async def test_ibkr_tws_down_then_restarted_alerts_once_each_way_and_restores_market_data(
    ib_venue, tws: FakeTws
) -> None:
    broker, bot, _clock = ib_venue
    monitor, notices, changes = watched(bot)
    assert broker.connected
    quotes: list = []
    await broker.subscribe_quotes(OPTION, quotes.append)
    await until(lambda: len(quotes) == 1)

    tws.accept_connections = False  # TWS is gone: every reconnect attempt is refused
    await tws.drop()
    await until(lambda: not broker.connected)
    await until(lambda: tws.refusals >= 3)
    monitor.check()
    assert alerts(notices) == ["broker_disconnected"]
    assert "connection to TWS / IB Gateway lost" in last_alert(notices).text
    assert not status_view(bot, {}).broker_connected

    tws.accept_connections = True  # TWS restarted
    await until(lambda: broker.connected)
    await until(lambda: len(quotes) == 2)  # the subscription came back by itself
    monitor.check()
    assert alerts(notices) == ["broker_disconnected", "broker_reconnected"]
    assert [c.connected for c in changes] == [False, True]
    con_id = tws.contracts["AAPL  250620C00100000"].con_id
    assert tws.market_data_requests == [con_id, con_id]


async def test_ibkr_fill_while_down_is_recorded_once_after_the_reconnect(
    ib_venue, tws: FakeTws
) -> None:
    broker, bot, _clock = ib_venue
    _monitor, notices, _changes = watched(bot)
    tws.drop_on_place = "after"  # IB takes and fills the order, then the line drops
    order = buy(bot, quantity=2, limit=0.8)
    await until(lambda: order.status is OrderStatus.FILLED)
    await until(lambda: broker.connected)
    assert alerts(notices) == ["broker_disconnected", "broker_reconnected"]
    assert len(stored_fills(bot, order.client_order_id)) == 1
    await books_match(broker, bot)


async def test_ibkr_drop_in_the_planned_window_raises_no_alarm(ib_venue, tws: FakeTws) -> None:
    broker, bot, clock = ib_venue
    monitor, notices, changes = watched(bot)
    clock.advance_to(clock.now().replace(hour=3, minute=50) + timedelta(days=1))  # 23:50 ET
    tws.accept_connections = False
    await tws.drop()
    await until(lambda: not broker.connected)
    monitor.check()
    assert alerts(notices) == []
    assert status_view(bot, {}).broker_note.endswith("planned downtime")
    tws.accept_connections = True
    clock.advance_to(clock.now() + timedelta(hours=1))  # 00:50 ET: the window is over
    await until(lambda: broker.connected)
    monitor.check()
    assert alerts(notices) == []
    assert [c.connected for c in changes] == [False, True]
    assert "planned nightly restart window" in changes[0].reason


async def test_ibkr_tws_losing_ib_is_a_disconnect_though_the_socket_stays_up(
    ib_venue, tws: FakeTws
) -> None:
    broker, bot, _clock = ib_venue
    monitor, notices, _changes = watched(bot)

    def tws_says(code: str, text: str) -> None:
        for writer in tws._writers:
            tws._send(writer, ["4", "2", "-1", code, text, ""])

    tws_says("1100", "Connectivity between IB and Trader Workstation has been lost.")
    await until(lambda: not broker.connected)
    assert broker.ib.isConnected()
    tws_says("1100", "Connectivity between IB and Trader Workstation has been lost.")
    tws_says(
        "1102",
        "Connectivity between IB and Trader Workstation has been restored - data maintained.",
    )
    await until(lambda: broker.connected)
    monitor.check()
    assert alerts(notices) == ["broker_disconnected", "broker_reconnected"]
    down = next(n for n in notices if n.kind == "broker_disconnected")
    assert "TWS lost its connection to IB (1100)" in down.text
