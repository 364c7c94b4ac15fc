"""The monitor: feed silence in session, broker connection changes, loop stalls, heartbeat."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.control_views import status_view
from bot.daemon import Daemon
from bot.events import Notice
from bot.monitor import BrokerWatch, Monitor
from bot.wiring import Bot, build_bot
from brokers.connection import ConnectionListener, ConnectionState
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


class FakeVenue:
    """An adapter's connection surface: a ConnectionState the test flips, a downtime switch."""

    name = "venue"

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.connection = ConnectionState(self.name)
        self.downtime = False

    @property
    def connected(self) -> bool:
        return self.connection.connected

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        self.connection.add_listener(listener)

    def in_planned_downtime(self) -> bool:
        return self.downtime

    def go(self, connected: bool, reason: str, after: float = 0.0) -> None:
        self.clock.advance_to(self.clock.now() + timedelta(seconds=after))
        self.connection.set(connected, self.clock.now(), reason)


@pytest.fixture
def venue(bot: Bot, clock: SimClock) -> FakeVenue:
    fake = FakeVenue(clock)
    fake.go(True, "connected")
    bot.broker = fake  # type: ignore[assignment]
    return fake


def test_one_alert_per_transition_however_many_retries(clock: SimClock) -> None:
    seen: list[Notice] = []
    watch = BrokerWatch("alpaca", seen.append)
    t0 = clock.now()
    watch.observe(True, t0)  # connected from the start: not news
    assert seen == []
    for i, why in enumerate(["stream closed", "reconnect refused (503)", "stream closed"]):
        watch.observe(False, t0 + timedelta(seconds=i), why)  # each failed retry
    watch.observe(True, t0 + timedelta(seconds=42), "stream listening again")
    watch.observe(True, t0 + timedelta(seconds=43), "stream listening again")
    assert kinds(seen) == ["broker_disconnected", "broker_reconnected"]
    down, back = seen
    assert (down.priority, back.priority) == (2, 1)
    assert down.text.startswith("Broker alpaca disconnected: stream closed.")
    assert down.ts == t0
    assert "reconnected after 42 s (stream listening again)" in back.text
    assert back.data == {"venue": "alpaca", "reason": "stream listening again",
                         "down_seconds": 42.0}


def test_each_outage_gets_its_own_pair_and_long_ones_read_in_minutes(clock: SimClock) -> None:
    seen: list[Notice] = []
    watch = BrokerWatch("ibkr", seen.append)
    t0 = clock.now()
    watch.observe(False, t0, "socket lost")  # never connected yet: said once
    watch.observe(True, t0 + timedelta(minutes=5))
    watch.observe(False, t0 + timedelta(minutes=6), "socket lost")
    watch.observe(True, t0 + timedelta(minutes=6, seconds=30))
    assert kinds(seen) == ["broker_disconnected", "broker_reconnected"] * 2
    assert "after 5 min" in seen[1].text and "after 30 s" in seen[3].text


def test_planned_window_mutes_the_drop_and_a_venue_still_down_after_it_is_news(
        clock: SimClock) -> None:
    seen: list[Notice] = []
    watch = BrokerWatch("ibkr", seen.append)
    t0 = clock.now()
    watch.observe(True, t0)
    watch.observe(False, t0, "connection lost in the planned window", planned=True)
    watch.observe(True, t0 + timedelta(minutes=50), "connected", planned=True)
    assert seen == []  # IB's nightly restart, back on time: nothing to say
    watch.observe(False, t0 + timedelta(hours=1), "connection lost", planned=True)
    watch.observe(False, t0 + timedelta(hours=2), "connection lost", planned=False)  # window over
    watch.observe(True, t0 + timedelta(hours=2, seconds=20))
    assert kinds(seen) == ["broker_disconnected", "broker_reconnected"]
    assert seen[0].ts == t0 + timedelta(hours=2)
    assert "after 60 min" in seen[1].text  # counted from the drop, not from the alert


def test_the_paper_venue_is_always_connected(bot: Bot, seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=False, stale_after=30, heartbeat_minutes=0)
    monitor.check()
    assert bot.broker.connected is True and monitor.broker_connected is True
    assert seen == []


def test_a_blip_between_two_ticks_is_still_reported_once(
        bot: Bot, venue: FakeVenue, seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=False, stale_after=30, heartbeat_minutes=0)
    monitor.check()
    venue.go(False, "trade-updates stream closed", after=1)
    venue.go(False, "reconnect refused", after=1)  # a retry: no change, nothing said
    venue.go(True, "trade-updates stream listening again", after=3)
    monitor.check()
    monitor.check()
    assert kinds(seen) == ["broker_disconnected", "broker_reconnected"]
    assert "trade-updates stream closed" in seen[0].text and "after 4 s" in seen[1].text


def test_ticks_catch_a_drop_the_listener_never_told(bot: Bot, venue: FakeVenue,
                                                    seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=False, stale_after=30, heartbeat_minutes=0)
    venue.connection.connected, venue.connection.reason = False, "socket lost"  # no listener
    monitor.check()
    monitor.check()
    assert kinds(seen) == ["broker_disconnected"] and "socket lost" in seen[0].text


def test_planned_downtime_mutes_broker_and_feed_alarms(
        bot: Bot, clock: SimClock, venue: FakeVenue, seen: list[Notice]) -> None:
    monitor = Monitor(bot, live_feed=True, stale_after=30, heartbeat_minutes=0)
    venue.downtime = True
    tick(bot, clock, 1)
    monitor.check()
    venue.go(False, "connection to TWS / IB Gateway lost in the planned nightly restart "
             "window")
    clock.advance_to(clock.now() + timedelta(seconds=120))  # silent feed, inside the session
    monitor.check()
    assert seen == []
    assert bot.broker.connected is False  # /status still tells the truth
    venue.downtime = False  # the window is over and the broker is still down: now it is news
    monitor.check()
    assert kinds(seen) == ["feed_stale", "broker_disconnected"]


def test_status_says_why_and_for_how_long_the_broker_is_down(
        bot: Bot, venue: FakeVenue) -> None:
    assert status_view(bot, {}).broker_note == ""
    venue.go(False, "trade-updates stream closed", after=5)
    venue.clock.advance_to(venue.clock.now() + timedelta(seconds=42))
    view = status_view(bot, {})
    assert view.broker_connected is False
    assert view.broker_note == "trade-updates stream closed, for 42 s"
    venue.downtime = True
    assert status_view(bot, {}).broker_note.endswith("planned downtime")


@pytest.mark.parametrize(("http", "telegram", "watched"), [(True, False, True),
                                                           (False, False, False)])
def test_the_dashboard_alone_is_enough_to_run_the_monitor(
        tmp_path, http: bool, telegram: bool, watched: bool) -> None:
    daemon = Daemon(make_settings(tmp_path, http={"enabled": http, "port": 0},
                                  telegram={"enabled": telegram}))
    try:
        assert any(isinstance(s, Monitor) for s in daemon.services) is watched
    finally:
        daemon.bot.close()
