"""The daemon: one asyncio loop around the synchronous engine.

Start-up: validate (live needs its confirmation), restore our books, reconcile with the broker,
then feed market events into the engine. Shutdown on SIGTERM/SIGINT: stop intake, cancel or
keep working orders as configured, flush the store, exit 0. On the replay feed the run ends
with the recorded day and prints the day's summary.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time
from collections.abc import Coroutine
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from bot.account_view import AccountView
from bot.config import Settings, check_live_confirmation
from bot.http import create_app, make_server
from bot.live_feed import LiveFeed, LiveFeedError, MassiveLive
from bot.reconcile import ReconcileReport, reconcile, restore
from bot.services import Service, build_services
from bot.summary import day_summary, print_summary
from bot.systemd import SystemdNotifier
from bot.web.hub import LiveHub
from bot.wiring import Bot, build_bot, reset_replay_state
from brokers.base import Broker
from brokers.connection import ConnectionChange
from market.clock import Clock, LiveClock, SimClock
from market.feeds.replay import ReplayDay, ReplayFeed
from market.greeks import warm_up

log = logging.getLogger("tradefly.daemon")

YIELD_EVERY = 2000  # events between chances for other tasks (HTTP, Telegram) to run


class TaskSupervisor:
    """Keeps background tasks referenced and logs their failures instead of losing them."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed: %r", task.get_name(), task.exception())

    async def shutdown(self, grace: float = 5.0) -> None:
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=grace)


class Daemon:
    def __init__(self, settings: Settings, *, broker: Broker | None = None,
                 clock: Clock | None = None) -> None:
        check_live_confirmation(settings)
        self.settings = settings
        self.replay = settings.feed.kind == "replay"
        if self.replay and settings.replay.reset_state:
            reset_replay_state(settings)
        start = datetime.combine(settings.replay.days[0], datetime.min.time(), UTC)
        self.clock: Clock = clock or (SimClock(start) if self.replay else LiveClock())
        self.bot: Bot = build_bot(settings, self.clock, broker=broker)
        # Built here so that a missing key or underlying fails before anything connects.
        self.live_feed: LiveFeed | None = None
        if settings.feed.kind == "massive":
            self.live_feed = MassiveLive(self.bot, settings)
        elif settings.feed.kind == "alpaca":
            from bot.live_feed_alpaca import AlpacaLive  # alpaca-py loads only when used

            self.live_feed = AlpacaLive(self.bot, settings)
        self.broker_downtime = False
        self.supervisor = TaskSupervisor()
        self.notifier = SystemdNotifier()
        self._stop = asyncio.Event()
        self.stop_reason = ""
        self.started_at = time.monotonic()
        self.reconcile_report: ReconcileReport | None = None
        self._reconciling = asyncio.Lock()  # one reconciliation at a time (timer, reconnect)
        self.reconnect_reconciliations = 0
        self.summary: dict[str, Any] | None = None
        self.http_port: int | None = None
        self.dashboard: LiveHub | None = None
        self.services: list[Service] = build_services(self)

    # -- lifecycle ------------------------------------------------------------------------
    async def run(self) -> int:
        iv = warm_up()  # load the compiled IV kernel now, not on the first chain
        if abs(iv - 0.2) > 1e-9:
            log.critical("the implied-volatility kernel fails its self-check (0.2 -> %r): "
                         "not trading on wrong Greeks", iv)
            return 2
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Outside the main thread (tests) there are no signal handlers: use request_stop().
            with suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop, sig.name)
        bot = self.bot
        bot.broker.add_connection_listener(self._on_broker_connection)
        await bot.broker.connect()
        self._mirror_broker_connection(bot.broker.connected)
        restore(bot.store, bot.orders, bot.portfolio)
        self.reconcile_report = await reconcile(bot.store, bot.broker, bot.orders,
                                                bot.portfolio)
        bot.engine.resume()  # brackets and working orders' deadlines, on reconciled books
        await self._start_http()
        for service in self.services:
            try:
                await service.start()
            except Exception:
                # A broken side service (Telegram down, bad token) never stops trading.
                log.exception("service %s failed to start; trading continues without it",
                              service.name)
        self._settle_memory()
        self.notifier.ready(f"trading {self.settings.mode} via {self.settings.broker}")
        if self.notifier.watchdog_interval:
            self.supervisor.spawn(self._watchdog(), "watchdog")
        log.info("TradeFly started: mode=%s broker=%s feed=%s state=%s", self.settings.mode,
                 self.settings.broker, self.settings.feed.kind, bot.control.state.value)
        try:
            if self.replay:
                await self._run_replay()
            else:
                self.supervisor.spawn(self._timer(), "timer")
                if self.live_feed is not None:
                    self.supervisor.spawn(self._run_live_feed(self.live_feed), "live-feed")
                await self._stop.wait()
        finally:
            await self._shutdown()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)  # give the process its defaults back
        return 0

    def request_stop(self, reason: str = "requested") -> None:
        if not self._stop.is_set():
            log.info("stopping: %s", reason)
            self.stop_reason = reason
            self._stop.set()

    async def _shutdown(self) -> None:
        self.notifier.stopping()
        gc.unfreeze()  # what start-up froze is ordinary garbage again once we stop
        bot = self.bot
        if bot.engine.execution is not None:
            bot.engine.execution.stop_stepping()  # a cancel must not send the next step
        if self.settings.orders.cancel_open_orders_on_shutdown:
            for order in bot.orders.open_orders():
                bot.orders.cancel(order.client_order_id)
        elif bot.orders.open_orders():
            log.warning("%d orders left working at the broker (cancel_open_orders_on_shutdown"
                        " = false)", len(bot.orders.open_orders()))
        for service in reversed(self.services):
            try:
                await service.stop()
            except Exception:
                log.exception("service %s failed to stop cleanly", service.name)
        if self.dashboard is not None:
            await self.dashboard.stop()  # close the pages' sockets before the server goes
        await self.supervisor.shutdown()
        try:
            bot.store.flush()
        finally:
            await bot.broker.close()
            bot.close()

    # -- feeds ----------------------------------------------------------------------------
    async def _run_replay(self) -> None:
        cfg = self.settings.replay
        days = [ReplayDay.discover(cfg.folder, und, day) for day in cfg.days
                for und in cfg.underlyings]
        # Open interest lands in the market's own dict as the feed publishes it (no look-ahead).
        feed = ReplayFeed(days, open_interest=self.bot.market.open_interest)
        clock = self.clock
        assert isinstance(clock, SimClock)
        engine = self.bot.engine
        first_ts: datetime | None = None
        wall_start = time.monotonic()
        for i, event in enumerate(feed.events()):
            if self._stop.is_set():
                log.info("replay stopped early after %d events", i)
                return
            if cfg.speed > 0:
                first_ts = first_ts or event.ts
                due = wall_start + (event.ts - first_ts).total_seconds() / cfg.speed
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif i % YIELD_EVERY == 0:  # behind schedule: still let Telegram/HTTP run
                    await asyncio.sleep(0)
            elif i % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            clock.advance_to(event.ts)
            engine.on_event(event)
        engine.close_session()
        self.summary = day_summary(self.bot)
        print_summary(self.summary)

    async def _run_live_feed(self, feed: LiveFeed) -> None:
        try:
            await feed.run()
        except LiveFeedError as exc:
            log.error("%s: stopping (positions stay as they are at the broker)", exc)
            self.request_stop(str(exc))

    def _check_broker_downtime(self) -> None:
        """Mirror the broker's planned downtime (IBKR's nightly restart) into the account
        view, where the connectivity risk rule refuses entries meanwhile."""
        probe = getattr(self.bot.broker, "in_planned_downtime", None)
        downtime = bool(probe()) if callable(probe) else False
        if downtime != self.broker_downtime:
            log.warning("broker %s planned downtime: %s", self.bot.broker.name,
                        "entries refused until it ends" if downtime else "over")
            self.broker_downtime = downtime
        view = self.bot.orders.ctx
        if isinstance(view, AccountView):
            view.broker_downtime = downtime

    async def _timer(self) -> None:
        bot = self.bot
        every = self.settings.orders.reconcile_interval_seconds
        next_reconcile = time.monotonic() + every
        while not self._stop.is_set():
            await asyncio.sleep(1.0)
            self._check_broker_downtime()
            bot.engine.on_timer(self.clock.now())
            if not bot.orders.store_healthy:
                bot.orders.retry_store()
            if time.monotonic() >= next_reconcile:
                next_reconcile = time.monotonic() + every
                try:
                    async with self._reconciling:
                        await reconcile(bot.store, bot.broker, bot.orders, bot.portfolio)
                except Exception:
                    log.exception("periodic reconciliation failed; retrying next interval")

    @staticmethod
    def _settle_memory() -> None:
        """Collect once and freeze what start-up built (settings, calendars, restored books):
        the collector then never rescans it, so a full collection cannot land a pause of a
        third of a second inside a risk check (measured in bench/bench_risk.py)."""
        gc.collect()
        gc.freeze()

    def _on_broker_connection(self, change: ConnectionChange) -> None:
        """Back after a drop: reconcile now rather than at the next interval (the adapter has
        already replayed what it knows it missed; this also finds what it could not know)."""
        self._mirror_broker_connection(change.connected)
        if change.connected and self.reconcile_report is not None and not self._stop.is_set():
            self.supervisor.spawn(self._reconcile_after_reconnect(), "reconcile-on-reconnect")

    def _mirror_broker_connection(self, connected: bool) -> None:
        """The connectivity risk rule refuses entries while the broker is down."""
        view = self.bot.orders.ctx
        if isinstance(view, AccountView):
            view.broker_disconnected = not connected

    async def _reconcile_after_reconnect(self) -> None:
        bot = self.bot
        try:
            async with self._reconciling:
                await reconcile(bot.store, bot.broker, bot.orders, bot.portfolio)
            self.reconnect_reconciliations += 1
        except Exception:
            log.exception("reconciliation after reconnect failed; the timer retries it")

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval or 10.0
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval)

    async def _start_http(self) -> None:
        cfg = self.settings.http
        if not cfg.enabled:
            return
        app = create_app(self.bot, self.health)
        self.dashboard = app.state.dashboard
        server = make_server(app, cfg.host, cfg.port)
        self.supervisor.spawn(server.serve(), "http")
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.01)
        if server.servers:
            self.http_port = server.servers[0].sockets[0].getsockname()[1]
            log.info("health and metrics on http://%s:%s", cfg.host, self.http_port)

    # -- health ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        bot = self.bot
        last = bot.engine.last_event_at
        age = None if last is None else (self.clock.now() - last).total_seconds()
        stale = (not self.replay and age is not None
                 and age > self.settings.feed.stale_after_seconds) or (
            self.live_feed is not None and self.live_feed.stale)
        return {
            "ok": bot.orders.store_healthy and not stale,
            "mode": self.settings.mode,
            "broker": self.settings.broker,
            "trading_state": bot.control.state.value,
            "paused": bot.control.paused,
            "store_healthy": bot.orders.store_healthy,
            "last_event_at": None if last is None else last.isoformat(),
            "feed_stale": stale,
            "broker_downtime": self.broker_downtime,
            "broker_connected": bot.broker.connected,
            "uptime_seconds": round(time.monotonic() - self.started_at, 1),
        }


def run(settings: Settings) -> int:
    """Entry point for `tradefly run`: the daemon on a fresh event loop."""
    return asyncio.run(Daemon(settings).run())
