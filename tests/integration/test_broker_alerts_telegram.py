"""End to end: the daemon trading through alpaca-py against the fake Alpaca, talking through the
real python-telegram-bot to the fake Bot API. The trade-updates socket drops and stays refused
for a while: the admins read one "disconnected" alert and `/status` says so; when it returns they
read one "reconnected" alert, the fill made meanwhile is in the store once, and the daemon has
reconciled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.daemon import Daemon
from brokers.orders import Intent, OrderStatus, OrderType, Side
from market.clock import SimClock
from tests.conftest import make_settings
from tests.integration.broker_helpers import until
from tests.integration.fakes.alpaca import KEY, SECRET, FakeAlpaca
from tests.integration.fakes.telegram import FakeBotAPI
from tests.integration.test_telegram import (
    ADMIN,
    VIEWER,
    ask,
    fake,  # noqa: F401 - the fixture
    telegram_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

CONTRACT = "AAPL240503P00155000"  # the snapshot fixture's one contract, streamed by the fake
NOW = datetime(2024, 4, 25, 19, 59, 30, tzinfo=UTC)


@pytest.fixture
async def alpaca() -> AsyncIterator[FakeAlpaca]:
    server = await FakeAlpaca().start()
    yield server
    await server.stop()


def alert_texts(fake: FakeBotAPI, word: str) -> list[str]:  # noqa: F811
    return [
        m["text"]
        for m in fake.sent
        if m["kind"] == "message" and m["chat_id"] == str(ADMIN) and word in m.get("text", "")
    ]


async def test_a_dropped_trade_stream_reaches_the_admins_once_each_way(
    fake: FakeBotAPI,  # noqa: F811
    alpaca: FakeAlpaca,
    tmp_path: Path,
) -> None:
    url = alpaca.url
    settings = make_settings(
        tmp_path,
        broker="alpaca",
        feed={"kind": "alpaca", "underlyings": ["AAPL"], "stale_after_seconds": 3600},
        alpaca={
            "api_key": KEY,
            "secret_key": SECRET,
            "trading_url": url,
            "data_url": url,
            "stream_url": alpaca.stream_url,
            "timeout_seconds": 2.0,
            "stream_reconnect_seconds": 0.05,
            "retry_initial_seconds": 0.01,
            "option_stream_url": f"ws://127.0.0.1:{alpaca.port}/v1beta1/indicative",
        },
        risk={
            "disabled_rules": [
                "volume",
                "open_interest",
                "spread",
                "stale_quote",
                "zero_dte_cutoff",
                "session_window",
                "duplicate_order",  # the same entry is asked for again while the broker is down
            ]
        },
        telegram=telegram_config(fake),
    )
    daemon = Daemon(settings, clock=SimClock(NOW))
    bot = daemon.bot
    run = asyncio.create_task(daemon.run())
    try:
        await fake.wait_sent(lambda m: "TradeFly started" in m.get("text", ""), within=15)
        await until(lambda: bot.market.quote(CONTRACT) is not None, within=10)
        await until(lambda: not getattr(bot.orders.ctx, "feed_stale", True))
        alpaca.fill_on_submit = False
        request = bot.orders.new_request(
            CONTRACT,
            Side.BUY,
            1,
            intent=Intent.OPEN,
            order_type=OrderType.LIMIT,
            limit_price=0.35,
            underlying="AAPL",
            reason="e2e",
        )
        order = bot.orders.submit(request)
        await until(lambda: order.status is OrderStatus.ACCEPTED)

        alpaca.accept_streams = False
        await alpaca.drop_streams()
        down = await fake.wait_sent(lambda m: "disconnected" in m.get("text", ""), within=10)
        assert down["chat_id"] == str(ADMIN)
        assert "Broker alpaca disconnected: trade-updates stream closed" in down["text"]
        venue_order = alpaca.by_client_id(order.client_order_id)
        assert venue_order is not None
        await alpaca.fill(venue_order, 1, 0.35)  # nobody is listening
        await until(lambda: alpaca.stream_refusals >= 3)
        status = await ask(fake, "/status", VIEWER)
        assert "Broker: <b>DISCONNECTED</b> (trade-updates stream closed" in status["text"]
        # While the broker is down a new entry is refused by the risk gate, never sent.
        blind = bot.orders.submit(replace(request, client_order_id=bot.orders.ids.next()))
        assert blind.status is OrderStatus.DENIED
        assert "broker is disconnected" in blind.status_reason
        assert alpaca.by_client_id(blind.client_order_id) is None

        alpaca.accept_streams = True
        back = await fake.wait_sent(lambda m: "reconnected after" in m.get("text", ""), within=10)
        assert "Broker alpaca reconnected after" in back["text"]
        await until(lambda: order.status is OrderStatus.FILLED)
        await until(lambda: daemon.reconnect_reconciliations == 1)
        assert "Broker: connected" in (await ask(fake, "/status", VIEWER))["text"]
        assert len(alert_texts(fake, "Broker alpaca disconnected")) == 1
        assert len(alert_texts(fake, "broker is disconnected: no entry")) == 1  # the denial
        assert len(alert_texts(fake, "reconnected after")) == 1
        fills = [f for f in bot.store.load_fills() if f.client_order_id == order.client_order_id]
        assert len(fills) == 1 and daemon.health()["broker_connected"] is True
    finally:
        daemon.request_stop("test over")
        assert await asyncio.wait_for(run, 20) == 0
