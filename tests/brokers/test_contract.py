"""One contract for every venue: the same scenarios against the paper broker, the Alpaca adapter
(alpaca-py against the local Alpaca fake) and the IBKR adapter (ib_async against the fake TWS)
must leave the same books: order statuses, filled quantities, prices and positions, in our store
and at the venue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.wiring import Bot
from brokers.alpaca import AlpacaBroker
from brokers.alpaca_config import AlpacaConfig
from brokers.base import Broker
from brokers.ibkr import IbkrBroker
from brokers.ibkr_config import IbkrConfig
from brokers.orders import Intent, Order, OrderStatus, OrderType, Side
from brokers.paper import PaperBroker, PaperConfig
from market.data import Quote
from tests.integration.broker_helpers import OPTION, bot_for, sim_clock, stored_positions, until
from tests.integration.fakes.alpaca import KEY, SECRET, FakeAlpaca
from tests.integration.fakes.ib import FakeTws

pytestmark = pytest.mark.integration
BID, ASK = 0.95, 1.05


@dataclass
class Venue:
    """A broker under test, its bot, and a switch for "orders rest instead of filling"."""

    broker: Broker
    bot: Bot
    fake: Any = None

    def resting(self, on: bool) -> None:
        if isinstance(self.fake, FakeAlpaca):
            self.fake.fill_on_submit = not on
        elif isinstance(self.fake, FakeTws):
            self.fake.fill_on_place = not on

    def order(self, side: Side, quantity: int, limit: float,
              intent: Intent = Intent.OPEN) -> Order:
        request = self.bot.orders.new_request(OPTION, side, quantity, intent=intent,
                                              order_type=OrderType.LIMIT, limit_price=limit,
                                              underlying="AAPL", strategy="contract")
        return self.bot.orders.submit(request)


async def _paper(tmp_path: Path) -> AsyncIterator[Venue]:
    clock = sim_clock()
    broker = PaperBroker(clock, PaperConfig(ledger_path=str(tmp_path / "ledger.db")))
    bot = bot_for(broker, tmp_path, clock)
    broker.on_quote(Quote(OPTION, clock.now(), BID, ASK, 50, 50, "AAPL"))
    yield Venue(broker, bot)
    bot.close()


async def _alpaca(tmp_path: Path) -> AsyncIterator[Venue]:
    fake = await FakeAlpaca().start()
    clock = sim_clock()
    broker = AlpacaBroker(AlpacaConfig(api_key=KEY, secret_key=SECRET, trading_url=fake.url,
                                       stream_url=fake.stream_url, timeout_seconds=2.0,
                                       retry_initial_seconds=0.01), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    yield Venue(broker, bot, fake)
    await broker.close()
    bot.close()
    await fake.stop()


async def _ibkr(tmp_path: Path) -> AsyncIterator[Venue]:
    fake = await FakeTws().start()
    fake.option("AAPL", "20250620", 100.0, "C")
    clock = sim_clock()
    broker = IbkrBroker(IbkrConfig(port=fake.port, timeout_seconds=2,
                                   commission_wait_seconds=0.2), clock)
    bot = bot_for(broker, tmp_path, clock)
    await broker.connect()
    yield Venue(broker, bot, fake)
    await broker.close()
    bot.close()
    await fake.stop()


@pytest.fixture(params=["paper", "alpaca", "ibkr"])
async def venue(request, tmp_path) -> AsyncIterator[Venue]:
    factory = {"paper": _paper, "alpaca": _alpaca, "ibkr": _ibkr}[request.param]
    async for v in factory(tmp_path):
        yield v


async def venue_positions(venue: Venue) -> dict[str, int]:
    return {p.symbol: p.quantity for p in await venue.broker.fetch_positions() if p.quantity}


async def test_marketable_buy_fills_at_the_ask(venue: Venue) -> None:
    order = venue.order(Side.BUY, 2, ASK)
    await until(lambda: order.status is OrderStatus.FILLED)
    assert (order.filled_quantity, order.average_fill_price) == (2, pytest.approx(ASK))
    assert stored_positions(venue.bot) == {OPTION: 2} == await venue_positions(venue)
    fills = venue.bot.store.load_fills()
    assert [(f.side, f.quantity, f.price) for f in fills] == [(Side.BUY, 2, ASK)]
    theirs = await venue.broker.fetch_order(order.client_order_id)
    assert theirs is not None and (theirs.status, theirs.filled_quantity) == (
        OrderStatus.FILLED, 2)


async def test_resting_order_is_cancelled_and_leaves_no_position(venue: Venue) -> None:
    venue.resting(True)
    order = venue.order(Side.BUY, 1, 0.50)
    await until(lambda: order.status is OrderStatus.ACCEPTED)
    assert [o.client_order_id for o in await venue.broker.fetch_open_orders()] == [
        order.client_order_id]
    venue.bot.orders.cancel(order.client_order_id)
    await until(lambda: order.status is OrderStatus.CANCELLED)
    assert order.filled_quantity == 0
    assert await venue.broker.fetch_open_orders() == []
    assert stored_positions(venue.bot) == {} == await venue_positions(venue)


async def test_round_trip_ends_flat(venue: Venue) -> None:
    entry = venue.order(Side.BUY, 3, ASK)
    await until(lambda: entry.status is OrderStatus.FILLED)
    exit_ = venue.order(Side.SELL, 3, BID, Intent.CLOSE)
    await until(lambda: exit_.status is OrderStatus.FILLED)
    assert exit_.average_fill_price == pytest.approx(BID)
    assert stored_positions(venue.bot) == {} == await venue_positions(venue)
    assert len(venue.bot.store.load_fills()) == 2


async def test_unknown_client_id_is_not_found(venue: Venue) -> None:
    assert await venue.broker.fetch_order("tf-never-sent") is None
