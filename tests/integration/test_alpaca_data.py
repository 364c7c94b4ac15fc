"""Alpaca market data through the real alpaca-py clients against the local fake."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from brokers.alpaca_config import AlpacaConfig
from brokers.alpaca_data import AlpacaMarketData
from tests.integration.broker_helpers import until
from tests.integration.fakes.alpaca import KEY, SECRET, FakeAlpaca, fixture

pytestmark = pytest.mark.integration


@pytest.fixture
async def data() -> AsyncIterator[tuple[AlpacaMarketData, FakeAlpaca]]:
    fake = await FakeAlpaca().start()
    config = AlpacaConfig(api_key=KEY, secret_key=SECRET, trading_url=fake.url,
                          data_url=fake.url,
                          option_stream_url=f"ws://127.0.0.1:{fake.port}/v1beta1/indicative",
                          timeout_seconds=2.0, retry_initial_seconds=0.01)
    client = AlpacaMarketData(config)
    yield client, fake
    await client.close()
    await fake.stop()


async def test_option_contracts_follow_every_page(data) -> None:
    client, fake = data
    contracts = await client.option_contracts("AAPL")
    page1 = [c["symbol"] for c in fixture("GET_v2_options_contracts")["option_contracts"]]
    page2 = [c["symbol"] for c in fixture("GET_v2_options_contracts_multi")["option_contracts"]]
    assert [c.symbol for c in contracts] == page1 + page2
    assert fake.count("GET", "/v2/options/contracts") == 2
    first = contracts[0]
    assert (first.expiration, first.strike, first.right) == (date(2023, 11, 3), 170.0, "C")


async def test_chain_snapshot_carries_quotes_and_greeks(data) -> None:
    client, _fake = data
    [snap] = await client.chain("AAPL")
    raw = fixture("GET_v1beta1_options_snapshots_UNDERLYING")["snapshots"][snap.symbol]
    assert snap.delta == raw["greeks"]["delta"] and snap.rho == raw["greeks"]["rho"]
    assert snap.implied_volatility == raw["impliedVolatility"]
    assert snap.quote is not None and (snap.quote.bid, snap.quote.ask) == (
        raw["latestQuote"]["bp"], raw["latestQuote"]["ap"])
    assert snap.quote.underlying == "AAPL"
    assert snap.last_trade is not None and snap.last_trade.price == raw["latestTrade"]["p"]


async def test_latest_quotes_trades_and_bars(data) -> None:
    client, _fake = data
    symbol = "AAPL240126P00050000"
    quote = (await client.latest_quotes([symbol]))[symbol]
    assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (0.05, 0.06, 1344, 1593)
    trade = (await client.latest_trades([symbol]))[symbol]
    assert (trade.price, trade.size) == (0.06, 1)
    bars = await client.minute_bars(["SPY240426C00555000"], datetime(2024, 3, 12, tzinfo=UTC))
    assert [(b.open, b.close, b.volume) for b in bars] == [(0.24, 0.21, 21), (0.25, 0.3, 3)]


async def test_clock_and_calendar(data) -> None:
    client, _fake = data
    clock = await client.clock()
    raw = fixture("GET_v2_clock")
    assert clock.is_open == raw["is_open"]
    days = await client.calendar(date(2021, 1, 1), date(2021, 12, 31))
    assert len(days) == len(fixture("GET_v2_calendar"))


async def test_option_stream_delivers_msgpack_quotes_and_trades(data) -> None:
    client, _fake = data
    quotes: list = []
    trades: list = []
    await client.stream_options(["AAPL240503P00155000"], quotes.append, trades.append)
    await until(lambda: bool(quotes) and bool(trades))
    assert (quotes[0].symbol, quotes[0].bid, quotes[0].ask) == ("AAPL240503P00155000", 0.32,
                                                                 0.35)
    assert quotes[0].ts == datetime(2024, 4, 25, 19, 59, tzinfo=UTC)
    assert (trades[0].price, trades[0].size) == (0.34, 1)
