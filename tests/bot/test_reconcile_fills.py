"""Reconciliation never counts a fill twice: not when the broker names a fill we stored under
another id (Alpaca's activity vs stream ids after a restart, decision 0251), and not when the
adapter's own catch-up records it while reconciliation waits for the broker's list."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.reconcile import reconcile
from bot.wiring import Bot
from brokers.orders import Fill, OrderStatus, OrderUpdate
from brokers.paper import PaperBroker
from tests.bot.test_execution import OPT
from tests.bot.test_external_changes import held_bot


class Renaming:
    """The paper venue, but its fill list names every fill differently (and may record one
    through the order manager first, as an adapter's catch-up would)."""

    def __init__(self, inner: PaperBroker, bot: Bot, *, record_first: str = "") -> None:
        self.inner, self.bot, self.record_first = inner, bot, record_first

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def fetch_fills(self, since: datetime | None = None) -> list[Fill]:
        fills = await self.inner.fetch_fills(since)
        for f in fills:
            if self.record_first and f.fill_id.startswith(self.record_first):
                self.bot.orders.on_update(
                    OrderUpdate(f.client_order_id, OrderStatus.FILLED, f.ts, fill=f)
                )
        return [
            f if f.fill_id.startswith("manual-") else replace(f, fill_id="act-" + f.fill_id)
            for f in fills
        ]


def run(bot: Bot, broker: Any) -> Any:
    return asyncio.run(reconcile(bot.store, broker, bot.orders, bot.portfolio))


def test_a_stored_fill_named_differently_by_the_broker_is_not_adopted_again() -> None:
    bot, _clock, _notices = held_bot()
    stored = len(bot.store.load_fills())
    report = run(bot, Renaming(bot.broker, bot))
    assert report.clean, report.lines()
    assert len(bot.store.load_fills()) == stored
    assert bot.portfolio.quantity(OPT) == 4


def test_a_fill_the_catch_up_records_meanwhile_is_not_reported_as_adopted() -> None:
    bot, _clock, _notices = held_bot()
    broker = bot.broker
    assert isinstance(broker, PaperBroker)
    broker.close_position_outside(OPT, price=2.50)  # a fill the bot has not heard of
    report = run(bot, Renaming(broker, bot, record_first="manual-"))
    assert report.adopted_fills == [], report.lines()
    assert bot.portfolio.quantity(OPT) == 0
    assert sum(f.fill_id.startswith("manual-") for f in bot.store.load_fills()) == 1
