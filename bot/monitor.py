"""Watches what no single component can see about itself, and says it on the EventBus.

- the feed gone quiet during a session (and back),
- the broker connection dropping (and back), for adapters that expose `connected`,
- the event loop stalled (a slow callback blocking everything, the hot path included),
- a heartbeat, so that silence itself is the alarm (a dead-man switch: a bot that stops
  sending heartbeats is down, and nothing inside it could say so).

It runs as a daemon service; its notices reach every subscriber (Telegram, dashboard).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

from bot.events import Notice
from bot.wiring import Bot

log = logging.getLogger(__name__)

STALL_SECONDS = 2.0  # a tick this late means the loop was blocked


def broker_connected(broker: object) -> bool | None:
    """What an adapter says about its connection: a `connected` bool or asyncio.Event;
    None when it says nothing (the paper venue is always there)."""
    flag = getattr(broker, "connected", None)
    if isinstance(flag, bool):
        return flag
    is_set = getattr(flag, "is_set", None)
    return bool(is_set()) if callable(is_set) else None


def in_planned_downtime(broker: object) -> bool:
    """Whether the adapter says it is inside a planned downtime window (IBKR's nightly
    restart): a disconnect then is expected, not an alarm."""
    probe = getattr(broker, "in_planned_downtime", None)
    return bool(probe()) if callable(probe) else False


class Monitor:
    name = "monitor"

    def __init__(self, bot: Bot, *, live_feed: bool, stale_after: float,
                 heartbeat_minutes: float, interval: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.bot = bot
        self.live_feed = live_feed
        self.stale_after = stale_after
        self.heartbeat_seconds = heartbeat_minutes * 60.0
        self.interval = interval
        self._monotonic = monotonic
        self._task: asyncio.Task[None] | None = None
        self.feed_stale = False
        self.broker_connected: bool | None = None
        self._next_heartbeat = 0.0

    async def start(self) -> None:
        self._next_heartbeat = self._monotonic() + self.heartbeat_seconds
        self._task = asyncio.create_task(self._run(), name="monitor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            before = self._monotonic()
            await asyncio.sleep(self.interval)
            late = self._monotonic() - before - self.interval
            try:
                self.check(late)
            except Exception:
                log.exception("monitor check failed")

    def _publish(self, kind: str, text: str, priority: int = 2) -> None:
        self.bot.bus.publish(Notice(kind, self.bot.clock.now(), text, priority))

    def check(self, late: float = 0.0) -> None:
        """One round of checks; `late` is how much the last tick overslept."""
        now = self.bot.clock.now()
        if late > STALL_SECONDS:
            self._publish("loop_stalled", f"Event loop was blocked for {late:.1f} s: market "
                          "events and orders waited that long")
        if in_planned_downtime(self.bot.broker):
            # Expected silence: no broker or feed alarms; the states are judged afresh after.
            self.broker_connected = None
            self.feed_stale = False
        else:
            if self.live_feed:
                self._check_feed(now)
            self._check_broker()
        if self.heartbeat_seconds and self._monotonic() >= self._next_heartbeat:
            self._next_heartbeat = self._monotonic() + self.heartbeat_seconds
            self._publish("heartbeat", self._heartbeat_text(), priority=1)

    def _check_feed(self, now: datetime) -> None:
        session = self.bot.engine.calendar.session_for(now)
        last = self.bot.engine.last_event_at
        in_session = session is not None and session.contains(now)
        age = None if last is None else (now - last).total_seconds()
        stale = in_session and (age is None or age > self.stale_after)
        if stale and not self.feed_stale:
            seen = "no market event yet" if age is None else f"no market event for {age:.0f} s"
            self._publish("feed_stale", f"Feed stale: {seen}; entries rely on fresh quotes")
        elif self.feed_stale and not stale:
            self._publish("feed_recovered", "Feed recovered: market events flowing again")
        self.feed_stale = stale

    def _check_broker(self) -> None:
        connected = broker_connected(self.bot.broker)
        if connected is None or connected == self.broker_connected:
            return
        if self.broker_connected is not None or not connected:
            name = self.bot.broker.name
            if connected:
                self._publish("broker_reconnected", f"Broker {name} reconnected")
            else:
                self._publish("broker_disconnected", f"Broker {name} disconnected: orders wait "
                              "for it; reconciliation runs when it is back")
        self.broker_connected = connected

    def _heartbeat_text(self) -> str:
        bot = self.bot
        equity = bot.portfolio.equity(bot.market.quotes, at_liquidation=True)
        state = bot.control.state.value + (", entries paused" if bot.control.paused else "")
        return (f"Alive: {state}; {len(bot.portfolio.open_positions())} positions, "
                f"{len(bot.orders.open_orders())} working orders, equity {equity:,.2f}")
