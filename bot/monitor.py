"""Watches what no single component can see about itself, and says it on the EventBus.

- the feed gone quiet during a session (and back),
- the broker connection dropping (and back): one alert per transition, however many times
  the adapter retries meanwhile, and none inside a planned downtime window (decision 0250),
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
from brokers.connection import ConnectionChange

log = logging.getLogger(__name__)

STALL_SECONDS = 2.0  # a tick this late means the loop was blocked


def broker_connected(broker: object) -> bool | None:
    """What an adapter says about its connection: a `connected` bool (or asyncio.Event);
    None when it says nothing."""
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


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


class BrokerWatch:
    """Turns a venue's connection states into alerts: one when it goes down, one when it is
    back, whatever number of changes and retries it reports in between.

    Fed by the adapter's connection listener (each change, as it happens) and by the monitor's
    tick (the current state, so a downtime window that ends with the venue still down becomes
    news). A drop inside a planned downtime window raises nothing; if the venue is still down
    when the window ends, that is said then. A reconnect is only news after a disconnect alert.
    """

    def __init__(self, venue: str, publish: Callable[[Notice], None]) -> None:
        self.venue = venue
        self._publish = publish
        self.down_since: datetime | None = None
        self.reason = ""
        self.alerted = False  # a disconnect alert is out and its reconnect alert is owed

    def observe(self, connected: bool, now: datetime, reason: str = "", *,
                planned: bool = False) -> None:
        if not connected:
            if self.down_since is None:
                self.down_since, self.reason = now, reason
            elif reason and not self.alerted:
                self.reason = reason
            if not self.alerted and not planned:
                self.alerted = True
                self._publish(Notice(
                    "broker_disconnected", now,
                    f"Broker {self.venue} disconnected: {self.reason or 'no reason given'}. "
                    "Orders or their news may not get through; reconciliation runs when it "
                    "is back.", 2,
                    {"venue": self.venue, "reason": self.reason}))
            return
        if self.down_since is None:
            return
        down = (now - self.down_since).total_seconds()
        if self.alerted:
            self._publish(Notice(
                "broker_reconnected", now,
                f"Broker {self.venue} reconnected after {_duration(down)}"
                f"{f' ({reason})' if reason else ''}; reconciling missed fills and orders.",
                1, {"venue": self.venue, "reason": reason, "down_seconds": round(down, 1)}))
        else:
            log.info("broker %s back after %.0f s of planned downtime", self.venue, down)
        self.down_since, self.reason, self.alerted = None, "", False


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
        self.broker = BrokerWatch(bot.broker.name, bot.bus.publish)
        self._next_heartbeat = 0.0
        add = getattr(bot.broker, "add_connection_listener", None)
        if callable(add):
            add(self.on_connection_change)

    @property
    def broker_connected(self) -> bool | None:
        return broker_connected(self.bot.broker)

    def on_connection_change(self, change: ConnectionChange) -> None:
        """The adapter's news, as it happens (a blip shorter than a tick is still seen)."""
        self.broker.observe(change.connected, change.ts, change.reason,
                            planned=in_planned_downtime(self.bot.broker))

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
        planned = in_planned_downtime(self.bot.broker)
        if planned:
            self.feed_stale = False  # expected silence: judged afresh after the window
        elif self.live_feed:
            self._check_feed(now)
        self._check_broker(now, planned)
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

    def _check_broker(self, now: datetime, planned: bool) -> None:
        connected = broker_connected(self.bot.broker)
        if connected is not None:
            state = getattr(self.bot.broker, "connection", None)
            reason = str(getattr(state, "reason", ""))
            self.broker.observe(connected, now, reason, planned=planned)

    def _heartbeat_text(self) -> str:
        bot = self.bot
        equity = bot.portfolio.equity(bot.market.quotes, at_liquidation=True)
        state = bot.control.state.value + (", entries paused" if bot.control.paused else "")
        return (f"Alive: {state}; {len(bot.portfolio.open_positions())} positions, "
                f"{len(bot.orders.open_orders())} working orders, equity {equity:,.2f}")
