"""Shared by the multi-leg tests: a vertical call spread on XYZ and a bot to trade it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.wiring import Bot, build_bot
from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import OrderType, Side
from market.clock import SimClock
from market.data import Quote
from tests.conftest import make_settings

LOW = "XYZ251219C00100000"  # the long leg of the debit spread
HIGH = "XYZ251219C00105000"  # the short leg
T0 = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)  # 10:00 New York, a Monday
VERTICAL = (Leg(LOW, Side.BUY), Leg(HIGH, Side.SELL))


def combo_bot(tmp_path: Path | None = None, clock: SimClock | None = None,
              run_tag: str | None = "combo", **overrides: Any) -> Bot:
    risk = {"liquidity": {"min_volume": 0, "min_open_interest": 0}, **overrides.pop("risk", {})}
    settings = make_settings(tmp_path, strategies={}, risk=risk,
                             orders={"flatten_before_close_minutes": 0}, **overrides)
    return build_bot(settings, clock or SimClock(T0), run_tag=run_tag)


def quotes(bot: Bot, low: tuple[float, float], high: tuple[float, float],
           size: int = 10) -> None:
    """Both legs' markets, through the engine (market state and paper venue)."""
    now = bot.clock.now()
    for symbol, (bid, ask) in ((LOW, low), (HIGH, high)):
        bot.engine.on_event(Quote(symbol, now, bid, ask, size, size, "XYZ"))


def vertical(bot: Bot, limit: float | None, quantity: int = 1,
             legs: tuple[Leg, ...] = VERTICAL, **kw: Any) -> MultiLegOrder:
    return MultiLegOrder(bot.orders.ids.next(), legs, quantity,
                         OrderType.MARKET if limit is None else OrderType.LIMIT, limit,
                         strategy=kw.pop("strategy", "test"), reason="test spread", **kw)
