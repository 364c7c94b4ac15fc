"""The monitor: feed silence in session, broker connection changes, loop stalls, heartbeat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.events import Notice
from bot.monitor import Monitor
from bot.wiring import Bot, build_bot
from market.clock import SimClock
from market.data import Quote
from tests.conftest import make_settings


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> SimClock:
    return SimClock(datetime(2015, 12, 24, 15, 0, tzinfo=UTC))  # in session (early close 18:00)


@pytest.fixture
def bot(clock: SimClock) -> Iterator[Bot]:
    the_bot = build_bot(make_settings(), clock, run_tag="mon")
    yield the_bot
    the_bot.close()


@pytest.fixture
def seen(bot: Bot) -> list[Notice]:
    notices: list[Notice] = []
    bot.bus.subscribe(notices.append)
    return notices


def kinds(notices: list[Notice]) -> list[str]:
    return [n.kind for n in notices]


def tick(bot: Bot, clock: SimClock, seconds: float) -> None:
    clock.advance_to(clock.now() + timedelta(seconds=seconds))
    bot.engine.on_event(Quote("GOOG", clock.now(), 750.0, 750.1, 1, 1))


def test_feed_stale_in_session_is_said_once_and_its_recovery_too(
        bot: Bot, clock: SimClock, seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=True, stale_after=30, heartbeat_minutes=0)
    tick(bot, clock, 1)
    monitor.check()
    assert seen == []
    clock.advance_to(clock.now() + timedelta(seconds=31))
    monitor.check()
    monitor.check()
    assert kinds(seen) == ["feed_stale"] and "31 s" in seen[0].text and seen[0].priority == 2
    tick(bot, clock, 1)
    monitor.check()
    assert kinds(seen) == ["feed_stale", "feed_recovered"]


def test_a_quiet_feed_outside_the_session_is_normal(bot: Bot, clock: SimClock,
                                                    seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=True, stale_after=30, heartbeat_minutes=0)
    tick(bot, clock, 1)
    clock.advance_to(datetime(2015, 12, 24, 19, 0, tzinfo=UTC))  # after the 13:00 ET close
    monitor.check()
    assert seen == []


def test_broker_disconnect_and_reconnect_are_announced(bot: Bot, seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=False, stale_after=30, heartbeat_minutes=0)
    monitor.check()  # the paper venue says nothing about a connection: nothing to report
    broker = bot.broker
    broker.connected = True  # type: ignore[attr-defined]
    monitor.check()  # connected from the start: not news
    broker.connected = False  # type: ignore[attr-defined]
    monitor.check()
    monitor.check()
    broker.connected = True  # type: ignore[attr-defined]
    monitor.check()
    assert kinds(seen) == ["broker_disconnected", "broker_reconnected"]
    assert "paper disconnected" in seen[0].text


def test_heartbeat_comes_on_schedule_and_a_stalled_loop_is_reported(
        bot: Bot, seen: list[Notice]) -> None:
    ticker = Ticker()
    monitor = Monitor(bot, live_feed=False, stale_after=30, heartbeat_minutes=1,
                      monotonic=ticker)
    monitor._next_heartbeat = 60.0
    ticker.now = 59.0
    monitor.check()
    ticker.now = 60.0
    monitor.check()
    ticker.now = 61.0
    monitor.check(late=3.5)
    assert kinds(seen) == ["heartbeat", "loop_stalled"]
    assert seen[0].text.startswith("Alive: active; 0 positions, 0 working orders")
    assert "3.5 s" in seen[1].text


async def test_runs_as_a_service_and_stops_cleanly(bot: Bot, seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=False, stale_after=30, heartbeat_minutes=0.001,
                      interval=0.01)
    await monitor.start()
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.01)
    await monitor.stop()
    assert "heartbeat" in kinds(seen)


def test_an_adapter_event_flag_counts_as_its_connection(bot: Bot, seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=False, stale_after=30, heartbeat_minutes=0)
    flag = asyncio.Event()
    bot.broker.connected = flag  # type: ignore[attr-defined]
    monitor.check()  # not connected from the start: said once
    flag.set()
    monitor.check()
    assert kinds(seen) == ["broker_disconnected", "broker_reconnected"]


def test_planned_broker_downtime_mutes_broker_and_feed_alarms(
        bot: Bot, clock: SimClock, seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=True, stale_after=30, heartbeat_minutes=0)
    broker = bot.broker
    downtime = [True]
    broker.in_planned_downtime = lambda: downtime[0]  # type: ignore[attr-defined]
    broker.connected = True  # type: ignore[attr-defined]
    tick(bot, clock, 1)
    monitor.check()
    broker.connected = False  # type: ignore[attr-defined]
    clock.advance_to(clock.now() + timedelta(seconds=120))  # silent feed, inside the session
    monitor.check()
    assert seen == []
    downtime[0] = False  # the window is over and the broker is still down: now it is news
    monitor.check()
    assert kinds(seen) == ["feed_stale", "broker_disconnected"]
