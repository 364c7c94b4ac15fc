"""The Alpaca adapter driving the real alpaca-py against a local fake of Alpaca.

Each fault test checks the bot's store afterwards: one order at the venue per order of ours
(never resent), every fill recorded once, and positions equal to the venue's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.reconcile import reconcile
from bot.wiring import Bot
from brokers.alpaca import AlpacaBroker
from brokers.alpaca_config import AlpacaConfig
from brokers.base import FatalBrokerError, RateLimited, TransientBrokerError
from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import OrderStatus, Side
from tests.integration.broker_helpers import (
    OPTION,
    bot_for,
    buy,
    sim_clock,
    stored_fills,
    stored_positions,
    until,
)
from tests.integration.fakes.alpaca import KEY, SECRET, FakeAlpaca

pytestmark = pytest.mark.integration


def config(fake: FakeAlpaca, **overrides: Any) -> AlpacaConfig:
    values: dict[str, Any] = {
        "api_key": KEY, "secret_key": SECRET, "trading_url": fake.url, "data_url": fake.url,
        "stream_url": fake.stream_url, "timeout_seconds": 1.0, "retry_attempts": 4,
        "retry_initial_seconds": 0.01, "retry_max_seconds": 0.05,
        "stream_reconnect_seconds": 0.05, **overrides}
    return AlpacaConfig(**values)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAlpaca]:
    server = await FakeAlpaca().start()
    yield server
    await server.stop()


@pytest.fixture
async def venue(fake: FakeAlpaca, tmp_path) -> AsyncIterator[tuple[AlpacaBroker, Bot]]:
    clock = sim_clock()
    broker = AlpacaBroker(config(fake), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    yield broker, bot
    await broker.close()
    bot.close()


async def assert_books_match(broker: AlpacaBroker, bot: Bot) -> None:
    theirs = {p.symbol: p.quantity for p in await broker.fetch_positions()}
    assert stored_positions(bot) == theirs
    fills = bot.store.load_fills()
    assert len({f.fill_id for f in fills}) == len(fills), "a fill was recorded twice"


async def test_order_is_sent_once_filled_and_recorded(venue, fake: FakeAlpaca) -> None:
    broker, bot = venue
    order = buy(bot, quantity=2, limit=1.25)
    await until(lambda: order.status is OrderStatus.FILLED)
    assert fake.count("POST", "/v2/orders") == 1
    body = fake.submitted_bodies[0]
    assert body["client_order_id"] == order.client_order_id
    assert body["position_intent"] == "buy_to_open"
    assert (body["symbol"], body["qty"], body["limit_price"]) == (OPTION, 2.0, 1.25)
    assert order.filled_quantity == 2 and order.average_fill_price == pytest.approx(1.25)
    assert stored_fills(bot, order.client_order_id) == [fake.activities[0]["id"].split("::")[1]]
    await assert_books_match(broker, bot)


async def test_rate_limited_submit_is_retried_and_creates_one_order(venue, fake) -> None:
    broker, bot = venue
    fake.fail("POST", "/v2/orders", status=429, times=2, retry_after=0.01)
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.FILLED)
    assert fake.count("POST", "/v2/orders") == 3
    assert len(fake.orders) == 1
    await assert_books_match(broker, bot)


async def test_rate_limit_that_never_clears_rejects_without_creating(venue, fake) -> None:
    _broker, bot = venue
    fake.fail("POST", "/v2/orders", status=429, times=100)
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.REJECTED)
    assert "not sent" in order.status_reason
    assert fake.count("POST", "/v2/orders") == 4  # retry_attempts
    assert fake.orders == {}


async def test_server_errors_on_reads_are_retried(venue, fake) -> None:
    broker, _bot = venue
    fake.fail("GET", "/v2/account", status=503, times=2)
    account = await broker.fetch_account()
    assert account.buying_power == fake.options_buying_power
    assert fake.count("GET", "/v2/account") == 1 + 3  # connect + two failures + success


async def test_read_rate_limit_gives_up_as_rate_limited(venue, fake) -> None:
    broker, _bot = venue
    fake.fail("GET", "/v2/positions", status=429, times=100)
    with pytest.raises(RateLimited):
        await broker.fetch_positions()
    assert fake.count("GET", "/v2/positions") == 4


async def test_stalled_answer_hits_our_timeout(fake) -> None:
    broker = AlpacaBroker(config(fake, timeout_seconds=0.2, retry_attempts=3), sim_clock())
    fake.fail("GET", "/v2/positions", "stall", times=100)
    with pytest.raises(TransientBrokerError, match=r"no answer|transport"):
        await broker.fetch_positions()
    assert fake.count("GET", "/v2/positions") == 3


async def test_server_error_on_submit_is_never_resent(venue, fake) -> None:
    broker, bot = venue
    fake.fail("POST", "/v2/orders", status=500)
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.PENDING_RECONCILIATION)
    await until(lambda: fake.count("GET", "/v2/orders:by_client_order_id") >= 3)
    assert fake.count("POST", "/v2/orders") == 1
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert order.client_order_id in report.never_received
    assert order.status is OrderStatus.CANCELLED
    assert fake.count("POST", "/v2/orders") == 1
    await assert_books_match(broker, bot)


async def test_lost_submit_answer_is_found_by_client_id_not_resent(venue, fake) -> None:
    broker, bot = venue
    fake.accept_streams = False  # only the lookup by client id can tell us what happened
    await fake.drop_streams()
    fake.fail("POST", "/v2/orders", "lose_response")
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.PENDING_RECONCILIATION)
    await until(lambda: order.status is OrderStatus.FILLED)
    assert fake.count("POST", "/v2/orders") == 1
    assert len(fake.orders) == 1
    assert len(stored_fills(bot, order.client_order_id)) == 1
    assert order.filled_quantity == 1
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert report.clean, report.lines()
    await assert_books_match(broker, bot)


async def test_lost_answer_after_the_stream_reported_keeps_the_stream_news(venue, fake,
                                                                          caplog) -> None:
    broker, bot = venue
    fake.fail("POST", "/v2/orders", "lose_response")
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.FILLED)
    await until(lambda: not broker._submits)
    assert order.status is OrderStatus.FILLED
    assert "illegal transition" not in caplog.text
    assert fake.count("POST", "/v2/orders") == 1
    await assert_books_match(broker, bot)


async def test_buying_power_rejection_keeps_the_reason(venue, fake) -> None:
    _broker, bot = venue
    fake.options_buying_power = 50.0
    order = buy(bot, quantity=3, limit=2.0)
    await until(lambda: order.status is OrderStatus.REJECTED)
    assert "buying power" in order.status_reason
    stored = {o.client_order_id: o for o in bot.store.load_orders()}[order.client_order_id]
    assert stored.status is OrderStatus.REJECTED
    assert stored_positions(bot) == {}


async def test_dropped_stream_reconnects_and_replays_missed_fill(venue, fake) -> None:
    broker, bot = venue
    fake.fill_on_submit = False
    order = buy(bot, quantity=2)
    await until(lambda: order.status is OrderStatus.ACCEPTED)
    fake.accept_streams = False
    await fake.drop_streams()
    venue_order = fake.by_client_id(order.client_order_id)
    assert venue_order is not None
    await fake.fill(venue_order, 2, 0.9)  # nobody is listening: this event is lost
    assert order.status is OrderStatus.ACCEPTED
    fake.accept_streams = True
    await until(lambda: order.status is OrderStatus.FILLED)
    assert fake.stream_connections == 2
    assert order.filled_quantity == 2 and order.average_fill_price == pytest.approx(0.9)
    await broker._catch_up([order.client_order_id], reason="again")  # replays are idempotent
    assert len(stored_fills(bot, order.client_order_id)) == 1
    await assert_books_match(broker, bot)


async def test_partial_fills_then_cancel(venue, fake) -> None:
    broker, bot = venue
    fake.fill_on_submit = False
    order = buy(bot, quantity=3)
    await until(lambda: order.status is OrderStatus.ACCEPTED)
    venue_order = fake.by_client_id(order.client_order_id)
    await fake.fill(venue_order, 1, 1.0)
    await until(lambda: order.status is OrderStatus.PARTIALLY_FILLED)
    bot.orders.cancel(order.client_order_id)
    await until(lambda: order.status is OrderStatus.CANCELLED)
    assert order.filled_quantity == 1
    assert venue_order["status"] == "canceled"
    await assert_books_match(broker, bot)


async def test_replace_keeps_fills_under_our_client_id(venue, fake) -> None:
    broker, bot = venue
    fake.fill_on_submit = False
    order = buy(bot, quantity=1, limit=1.0)
    await until(lambda: order.status is OrderStatus.ACCEPTED)
    new_cid = await broker.replace(order.client_order_id, limit_price=1.1)
    assert new_cid == f"{order.client_order_id}~r1"
    replacement = fake.by_client_id(new_cid)
    assert replacement is not None and replacement["limit_price"] == "1.1"
    await until(lambda: fake.count("GET", "/v2/orders:by_client_order_id") == 0 and
                broker._broker_ids[order.client_order_id] == replacement["id"])
    await fake.fill(replacement, 1, 1.1)
    await until(lambda: order.status is OrderStatus.FILLED)
    looked_up = await broker.fetch_order(order.client_order_id)
    assert looked_up is not None and looked_up.status is OrderStatus.FILLED
    await assert_books_match(broker, bot)


async def test_external_orders_and_positions_are_reported(venue, fake) -> None:
    broker, bot = venue
    external = fake.place_external(OPTION, "buy", 1, 0.5)
    fake.positions["SPY250620P00500000"] = (2, 3.0)
    report = await reconcile(bot.store, broker, bot.orders, bot.portfolio)
    assert any(external["client_order_id"] in line for line in report.external_orders)
    assert any("SPY250620P00500000" in line for line in report.position_differences)


async def test_multileg_order_is_sent_atomically(venue, fake) -> None:
    broker, bot = venue
    legs = (Leg("AAPL250620C00100000", Side.BUY), Leg("AAPL250620C00110000", Side.SELL))
    updates: list = []
    bot.orders.broker.set_listener(updates.append)
    broker.submit_multileg(MultiLegOrder("tf-mleg-1", legs, 1, limit_price=0.8))
    await until(lambda: any(u.status is OrderStatus.ACCEPTED for u in updates))
    body = fake.submitted_bodies[-1]
    assert body["order_class"] == "mleg" and body["client_order_id"] == "tf-mleg-1"
    assert [(leg["symbol"], leg["side"]) for leg in body["legs"]] == [
        ("AAPL250620C00100000", "buy"), ("AAPL250620C00110000", "sell")]
    assert "symbol" not in body
    theirs = await broker.fetch_order("tf-mleg-1")
    assert theirs is not None and theirs.symbol == "AAPL250620C00100000|AAPL250620C00110000"


async def test_bad_credentials_are_fatal(fake, tmp_path) -> None:
    broker = AlpacaBroker(config(fake, api_key="wrong-key", secret_key="hush-secret"),
                          sim_clock())
    with pytest.raises(FatalBrokerError, match="401") as caught:
        await broker.connect()
    assert "hush-secret" not in str(caught.value) and "wrong-key" not in str(caught.value)


async def test_cancel_requested_just_before_close_still_reaches_alpaca(fake, tmp_path) -> None:
    clock = sim_clock()
    broker = AlpacaBroker(config(fake), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    fake.fill_on_submit = False
    order = buy(bot)
    bot.orders.cancel(order.client_order_id)  # what the daemon does on SIGTERM
    await broker.close()
    bot.close()
    venue_order = fake.by_client_id(order.client_order_id)
    assert venue_order is not None and venue_order["status"] == "canceled"


async def test_cancel_all_and_alpacas_own_flatten(venue, fake) -> None:
    broker, bot = venue
    fake.fill_on_submit = False
    working = [buy(bot), buy(bot)]
    await until(lambda: all(o.status is OrderStatus.ACCEPTED for o in working))
    assert await broker.cancel_all() == 2
    await until(lambda: all(o.status is OrderStatus.CANCELLED for o in working))
    fake.positions[OPTION] = (3, 1.0)
    fake.positions["AAPL250620P00090000"] = (-1, 2.0)
    closing = await broker.close_position(OPTION, 1)
    assert (closing.side, closing.quantity) == (Side.SELL, 1)
    assert fake.positions[OPTION][0] == 2
    assert await broker.close_all_positions() == 2
    assert await broker.fetch_positions() == []


async def test_cancel_after_replace_cancels_the_live_replacement(venue, fake) -> None:
    broker, bot = venue
    fake.fill_on_submit = False
    order = buy(bot)
    await until(lambda: order.status is OrderStatus.ACCEPTED)
    new_cid = await broker.replace(order.client_order_id, limit_price=1.02)
    original = fake.by_client_id(order.client_order_id)
    await until(lambda: original["status"] == "replaced")
    await asyncio.sleep(0.05)  # let the stream's "replaced" event arrive
    bot.orders.cancel(order.client_order_id)
    await until(lambda: order.status is OrderStatus.CANCELLED)
    assert fake.by_client_id(new_cid)["status"] == "canceled"
