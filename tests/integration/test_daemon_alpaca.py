"""The daemon on the Alpaca option stream: real alpaca-py against the local fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.daemon import Daemon
from bot.live_feed_alpaca import nearest_to_the_money
from brokers.alpaca_data import OptionSnapshot
from brokers.orders import Intent, OrderRequest, OrderType, Side
from market.clock import SimClock
from tests.conftest import make_settings
from tests.integration.broker_helpers import until
from tests.integration.fakes.alpaca import KEY, SECRET, FakeAlpaca

pytestmark = pytest.mark.integration

CONTRACT = "AAPL240503P00155000"  # the snapshot fixture's one contract, streamed by the fake
NOW = datetime(2024, 4, 25, 19, 59, 30, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeAlpaca]:
    server = await FakeAlpaca().start()
    yield server
    await server.stop()


def denial(daemon: Daemon) -> str | None:
    ctx = daemon.bot.orders.ctx
    assert ctx is not None
    request = OrderRequest("t-e", CONTRACT, Side.BUY, 1, OrderType.LIMIT, 0.35, Intent.OPEN,
                           underlying="AAPL")
    rejection = daemon.bot.risk.check(request, ctx).rejection
    return None if rejection is None else rejection.rule


async def test_stream_reaches_the_engine_and_silence_denies_entries(fake: FakeAlpaca) -> None:
    clock = SimClock(NOW)
    settings = make_settings(
        feed={"kind": "alpaca", "underlyings": ["AAPL"], "stale_after_seconds": 5},
        alpaca={"api_key": KEY, "secret_key": SECRET, "trading_url": fake.url,
                "data_url": fake.url, "timeout_seconds": 2.0,
                "option_stream_url": f"ws://127.0.0.1:{fake.port}/v1beta1/indicative"})
    daemon = Daemon(settings, clock=clock)
    assert denial(daemon) == "connectivity"  # nothing received yet
    run = asyncio.create_task(daemon.run())
    try:
        await until(lambda: daemon.bot.market.quote(CONTRACT) is not None)
        quote = daemon.bot.market.quote(CONTRACT)
        assert quote is not None and (quote.bid, quote.ask) == (0.32, 0.35)
        await until(lambda: not getattr(daemon.bot.orders.ctx, "feed_stale", True))
        assert denial(daemon) != "connectivity"
        clock.advance_to(NOW + timedelta(seconds=30))  # the fake sends nothing more
        await until(lambda: getattr(daemon.bot.orders.ctx, "feed_stale", False))
        assert denial(daemon) == "connectivity" and daemon.health()["feed_stale"] is True
    finally:
        daemon.request_stop("test over")
        assert await asyncio.wait_for(run, 15) == 0


def snap(symbol: str, delta: float | None) -> OptionSnapshot:
    return OptionSnapshot(symbol, None, None, None, delta, None, None, None, None)


def test_near_the_money_is_the_delta_closest_to_one_half() -> None:
    chain = [snap("SPY240503C00500000", 0.52), snap("SPY240503C00510000", 0.30),
             snap("SPY240503C00490000", 0.69), snap("SPY240503P00500000", -0.48),
             snap("SPY240503P00480000", None), snap("SPY240510C00500000", 0.5)]
    # |delta| - 0.5: 500C 0.02, 490C 0.19, 510C 0.20; 500P 0.02; 480P has no delta.
    assert nearest_to_the_money(chain, expirations=1, per_side=2) == [
        "SPY240503C00500000", "SPY240503C00490000", "SPY240503P00500000"]
    assert "SPY240510C00500000" in nearest_to_the_money(chain, expirations=2, per_side=1)
