"""Shared by the broker integration tests: waiting on the loop, building the bot around an
adapter, and checking the store against the venue after a fault."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.wiring import Bot, build_bot
from brokers.base import Broker
from brokers.orders import Intent, Order, OrderType, Side
from market.clock import SimClock
from market.data import Quote
from risk.manager import RiskManager
from tests.conftest import make_settings

OPTION = "AAPL250620C00100000"


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Let the loop run until `condition` holds; fail loudly if it never does."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def sim_clock() -> SimClock:
    return SimClock(datetime(2025, 6, 2, 15, 0, tzinfo=UTC))


def bot_for(broker: Broker, tmp_path: Path, clock: SimClock) -> Bot:
    bot = build_bot(make_settings(tmp_path), clock, broker=broker, run_tag="itest")
    # These tests exercise the venue path, not the limits: the order still goes through the
    # risk manager, with no rules, so one the broker will refuse (buying power) reaches it.
    bot.orders.risk = RiskManager([])
    bot.market.on_quote(Quote(OPTION, clock.now(), 0.95, 1.05, 50, 50, "AAPL"))
    return bot


def buy(bot: Bot, quantity: int = 1, limit: float = 1.0, symbol: str = OPTION) -> Order:
    request = bot.orders.new_request(symbol, Side.BUY, quantity, intent=Intent.OPEN,
                                     order_type=OrderType.LIMIT, limit_price=limit,
                                     underlying="AAPL", strategy="itest", reason="test")
    return bot.orders.submit(request)


def stored_fills(bot: Bot, client_order_id: str) -> list[str]:
    return [f.fill_id for f in bot.store.load_fills() if f.client_order_id == client_order_id]


def stored_positions(bot: Bot) -> dict[str, int]:
    return {p.symbol: p.quantity for p in bot.store.load_positions() if p.quantity != 0}
