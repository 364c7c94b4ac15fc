"""The daemon on the Massive live feed: the real `massive` client against the local fake.

Contracts near the money come from the chain snapshot, events reach the engine, and while the
feed is stale (before data, after silence) the connectivity rule refuses entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.config import ConfigError
from bot.daemon import Daemon
from bot.live_feed import MassiveLive
from brokers.orders import Intent, OrderRequest, OrderType, Side
from market.clock import SimClock
from tests.conftest import make_settings
from tests.integration.fakes.massive import FakeMassive, fixture

pytestmark = pytest.mark.integration

API_KEY = "massive-daemon-key"
CONTRACT = "AAPL230616C00150000"  # the snapshot fixture's one contract: strike 150, AAPL 159.96
QUOTED_AT = datetime(2022, 4, 29, 17, 44, 30, tzinfo=UTC)  # just after the fixture's quote


@pytest.fixture
async def fake() -> AsyncIterator[FakeMassive]:
    server = await FakeMassive(api_key=API_KEY).start()
    yield server
    await server.stop()


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling plain state is the point
            await asyncio.sleep(0.01)


def daemon_for(fake: FakeMassive, clock: SimClock, **feed: Any) -> Daemon:
    settings = make_settings(
        feed={"kind": "massive", "underlyings": ["AAPL"], "moneyness_band": 0.1,
              "stale_after_seconds": 5, **feed},
        massive={"rest_url": fake.rest_url, "ws_host": fake.ws_host, "ws_secure": False,
                 "api_key": API_KEY, "call_attempts": 2, "backoff_initial_seconds": 0.01,
                 "backoff_max_seconds": 0.05},
        http={"enabled": True, "port": 0})
    return Daemon(settings, clock=clock)


def entry() -> OrderRequest:
    return OrderRequest("t-entry", CONTRACT, Side.BUY, 1, OrderType.LIMIT, 29.25, Intent.OPEN,
                        underlying="AAPL")


def denial(daemon: Daemon) -> str | None:
    ctx = daemon.bot.orders.ctx
    assert ctx is not None
    verdict = daemon.bot.risk.check(entry(), ctx)
    return None if verdict.rejection is None else verdict.rejection.rule


async def test_events_reach_the_engine_and_a_stale_feed_denies_entries(
        fake: FakeMassive) -> None:
    clock = SimClock(QUOTED_AT)
    daemon = daemon_for(fake, clock)
    run = asyncio.create_task(daemon.run())
    try:
        await until(lambda: fake.count("options") == 1
                    and f"Q.O:{CONTRACT}" in fake.latest("options").subscribed
                    and bool(fake.latest("stocks").subscribed))
        assert sorted(fake.latest("stocks").subscribed) == ["AM.AAPL", "Q.AAPL", "T.AAPL"]
        assert daemon.bot.market.open_interest[CONTRACT] == 8133  # seeded from the snapshot
        assert denial(daemon) == "connectivity"  # connected, but no data yet: stale

        option_quote = {**fixture("ws_options_Q.json"), "sym": f"O:{CONTRACT}",
                        "bp": 28.9, "ap": 29.25}
        stock_trade = {**fixture("ws_status_frames.json")["equity_trade_frame"][0],
                       "sym": "AAPL"}
        await fake.send("options", [option_quote])
        await fake.send("stocks", [stock_trade])
        await until(lambda: daemon.bot.market.quote(CONTRACT) is not None
                    and daemon.bot.engine.last_event_at is not None)
        quote = daemon.bot.market.quote(CONTRACT)
        assert quote is not None and (quote.bid, quote.ask) == (28.9, 29.25)
        view = daemon.bot.orders.ctx
        await until(lambda: not getattr(view, "feed_stale", True))
        assert denial(daemon) != "connectivity"

        port = daemon.http_port
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert "tradefly_feed_stale 0.0" in metrics
        assert "tradefly_feed_option_contracts 1.0" in metrics

        await fake.send("options", [{**option_quote, "bp": 30.0, "ap": 29.0}])  # crossed
        live = daemon.live_feed
        assert isinstance(live, MassiveLive)
        await until(lambda: live.feed.dropped["crossed"] == 1)

        clock.advance_to(QUOTED_AT + timedelta(seconds=30))  # silence beyond 5 s
        await until(lambda: getattr(view, "feed_stale", False))
        assert denial(daemon) == "connectivity"
        assert daemon.health()["feed_stale"] is True
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert 'tradefly_feed_dropped{reason="crossed"} 1.0' in metrics
        assert "tradefly_feed_stale 1.0" in metrics
    finally:
        daemon.request_stop("test over")
        assert await asyncio.wait_for(run, 10) == 0


async def test_a_refused_key_stops_the_daemon_with_the_reason(fake: FakeMassive) -> None:
    fake.api_key = "another-key"
    daemon = daemon_for(fake, SimClock(QUOTED_AT))
    assert await asyncio.wait_for(daemon.run(), 15) == 0
    assert "massive feed failed" in daemon.stop_reason
    assert API_KEY not in daemon.stop_reason


def test_a_live_feed_without_key_or_underlyings_is_refused_up_front() -> None:
    with pytest.raises(ConfigError, match="TRADEFLY__MASSIVE__API_KEY"):
        Daemon(make_settings(feed={"kind": "massive", "underlyings": ["SPY"]}))
    with pytest.raises(ConfigError, match="underlyings"):
        Daemon(make_settings(feed={"kind": "massive"}, massive={"api_key": "k"}))
