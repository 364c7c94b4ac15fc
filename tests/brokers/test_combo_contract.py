"""The venue contract for combos: the same spread scenarios against the paper venue, the Alpaca
adapter (alpaca-py against the fake) and the IBKR adapter (ib_async against the fake TWS) leave
the same books — combo status, legs' fills and positions, in our store and at the venue.

The paper venue fills a combo itself (at or through its net limit); the fakes are told to
execute it, each leg at its natural price, as a venue would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import OrderStatus, Side
from market.data import Quote
from tests.brokers.test_contract import Venue, _alpaca, _ibkr, _paper, venue_positions
from tests.integration.broker_helpers import OPTION, stored_positions, until
from tests.integration.fakes.alpaca import FakeAlpaca
from tests.integration.fakes.ib import FakeTws

pytestmark = pytest.mark.integration
OTHER = "AAPL250620C00110000"
NATURAL = {OPTION: 1.05, OTHER: 0.40}  # buy OPTION at its ask, sell OTHER at its bid


@pytest.fixture(params=["paper", "alpaca", "ibkr"])
async def venue(request, tmp_path) -> AsyncIterator[Venue]:
    factory = {"paper": _paper, "alpaca": _alpaca, "ibkr": _ibkr}[request.param]
    async for v in factory(tmp_path):
        if isinstance(v.fake, FakeTws):
            v.fake.option("AAPL", "20250620", 110.0, "C")
        quote = Quote(OTHER, v.bot.clock.now(), 0.40, 0.50, 50, 50, "AAPL")
        v.bot.market.on_quote(quote)
        if not v.fake:
            v.broker.on_quote(quote)  # type: ignore[attr-defined]
        yield v


def spread(venue: Venue, limit: float, quantity: int = 2) -> MultiLegOrder:
    legs = (Leg(OPTION, Side.BUY), Leg(OTHER, Side.SELL))
    return MultiLegOrder(venue.bot.orders.ids.next(), legs, quantity, limit_price=limit,
                         strategy="contract")


async def execute(venue: Venue, spec: MultiLegOrder) -> None:
    """A fake venue executes the combo at the legs' natural prices (paper does it itself)."""
    if isinstance(venue.fake, FakeAlpaca):
        await until(lambda: venue.fake.by_client_id(spec.client_order_id) is not None)
        placed = venue.fake.by_client_id(spec.client_order_id)
        assert placed is not None
        await venue.fake.fill_combo(placed, spec.quantity, NATURAL)
    elif isinstance(venue.fake, FakeTws):
        await until(lambda: venue.fake.by_ref(spec.client_order_id) is not None)
        ids = {c.local_symbol.replace(" ", ""): c.con_id for c in venue.fake.contracts.values()}
        bag = venue.fake.by_ref(spec.client_order_id)
        assert bag is not None
        await venue.fake.fill_combo(bag, spec.quantity, {ids[s]: p for s, p in NATURAL.items()})


async def test_a_combo_at_its_natural_price_fills_every_leg_and_the_books_agree(
        venue: Venue) -> None:
    spec = spread(venue, 0.65)  # net natural 1.05 - 0.40
    combo = venue.bot.orders.submit_combo(spec)
    await execute(venue, spec)
    await until(lambda: combo.status is OrderStatus.FILLED)
    fills = {f.symbol: (f.side, f.quantity, f.price) for f in venue.bot.store.load_fills()}
    assert fills == {OPTION: (Side.BUY, 2, 1.05), OTHER: (Side.SELL, 2, 0.40)}
    assert combo.parent.average_fill_price == pytest.approx(0.65)
    assert stored_positions(venue.bot) == {OPTION: 2, OTHER: -2} == await venue_positions(venue)
    theirs = await venue.broker.fetch_order(spec.client_order_id)
    assert theirs is not None and (theirs.status, theirs.filled_quantity) == (
        OrderStatus.FILLED, 2)


async def test_a_resting_combo_is_cancelled_as_one_order_and_leaves_nothing(
        venue: Venue) -> None:
    combo = venue.bot.orders.submit_combo(spread(venue, 0.30))  # under the natural: rests
    await until(lambda: combo.status is OrderStatus.ACCEPTED)
    venue.bot.orders.cancel(combo.legs[0].client_order_id)  # any leg's id names the combo
    await until(lambda: combo.status is OrderStatus.CANCELLED)
    assert {leg.status for leg in combo.legs} == {OrderStatus.CANCELLED}
    assert venue.bot.store.load_fills() == []
    assert stored_positions(venue.bot) == {} == await venue_positions(venue)
