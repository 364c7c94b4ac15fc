"""A small hand-built trading scene on the real bot: quotes, prints and open interest for a
few GOOG contracts on 2015-12-24 (a half day, 09:30-13:00 New York)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.wiring import Bot
from market.clock import SimClock
from market.data import Quote, Trade

CALL = "GOOG151231C00750000"
PUT = "GOOG151231P00745000"
START = datetime(2015, 12, 24, 16, 0, tzinfo=UTC)  # 11:00 New York


def quote(bot: Bot, clock: SimClock, symbol: str, bid: float, ask: float,
          at: datetime | None = None) -> None:
    if at is not None:
        clock.advance_to(at)
    bot.engine.on_event(Quote(symbol, clock.now(), bid, ask, 50, 50, "GOOG"))


def liven(bot: Bot, clock: SimClock, *symbols: str) -> None:
    """Give each contract volume, open interest and a quote, so entries are allowed."""
    for symbol in symbols:
        bot.market.open_interest[symbol] = 5_000
        bot.engine.on_event(Trade(symbol, clock.now(), 10.0, 200, "GOOG"))
        quote(bot, clock, symbol, 9.90, 10.00)
