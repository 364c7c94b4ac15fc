"""The Telegram service: python-telegram-bot 22 inside the daemon's own event loop.

`Application.initialize/start` and `Updater.start_polling` are called by hand (no
`run_polling`: it would own the loop and the signal handlers), in a background task, so the
daemon never waits for Telegram. Whatever Telegram does — refuse the token, be unreachable,
flood-limit us, report another poller — trading goes on; the service says why in the log and,
where it can, in an alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import telegram
from telegram import BotCommand, Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.config import TelegramConfig
from bot.control import COMMANDS, AccessList, ControlAPI, Role
from bot.events import Notice
from bot.logging_setup import REDACTOR
from bot.summary import day_summary
from bot.telegram.alerts import AlertQueue, AlertRouter, AlertSender
from bot.telegram.handlers import Handlers
from bot.wiring import Bot

log = logging.getLogger(__name__)

MAX_CONNECT_BACKOFF = 60.0
DRAIN_SECONDS = 5.0  # at shutdown, time given to queued alerts (the "stopping" one included)
CONFLICT_ALERT_EVERY = 600.0

PTBApp = Application[Any, Any, Any, Any, Any, Any]


def build_application(cfg: TelegramConfig, token: str) -> PTBApp:
    return (ApplicationBuilder().token(token).base_url(cfg.base_url)
            .job_queue(None)
            .connect_timeout(5.0).read_timeout(10.0).write_timeout(20.0).pool_timeout(5.0)
            .get_updates_connect_timeout(5.0)
            .get_updates_read_timeout(cfg.poll_timeout_seconds + 10.0)
            .build())


class TelegramService:
    name = "telegram"

    def __init__(self, bot: Bot, cfg: TelegramConfig, *,
                 health: Callable[[], Mapping[str, Any]] | None = None,
                 stop_reason: Callable[[], str] = lambda: "") -> None:
        if cfg.token is None:
            raise ValueError("telegram.token is not set")
        self.bot = bot
        self.cfg = cfg
        token = cfg.token.get_secret_value()
        REDACTOR.add(token)  # from now on no log line or message can carry it
        self._stop_reason = stop_reason
        self.access = AccessList(cfg.admins, cfg.traders, cfg.viewers)
        self.api = ControlAPI(bot, health=health, confirm_seconds=cfg.confirm_seconds,
                              components={"python-telegram-bot": telegram.__version__})
        chats = cfg.alert_chats or [int(user) for user in self.access.admins]
        self.queues = {chat: AlertQueue(cfg.alert_queue_size) for chat in chats}
        # Subscribed now, before the daemon reconciles, so its findings are not missed.
        self.router = AlertRouter(self.queues.values(), cfg.alert_min_priority)
        bot.bus.subscribe(self.router)
        bot.bus.subscribe(self._on_notice)
        self.handlers = Handlers(self.api, self.access, allowed_chats=cfg.allowed_chats,
                                 redact=REDACTOR.redact)
        self.app: PTBApp = build_application(cfg, token)
        self.handlers.register(self.app)
        self.senders = [AlertSender(chat, queue, self._send_alert,
                                    interval=cfg.alert_interval_seconds,
                                    redact=REDACTOR.redact)
                        for chat, queue in self.queues.items()]
        self.status = "not started"
        self.ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_conflict_alert = -CONFLICT_ALERT_EVERY

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        """Returns at once: connecting and polling happen in a background task."""
        self.status = "connecting"
        self._tasks.append(asyncio.create_task(self._connect_and_poll(), name="telegram"))

    async def _connect_and_poll(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.app.initialize()
                break
            except InvalidToken:
                self._disable("the Bot API refused the token (401 Unauthorized)")
                return
            except NetworkError as exc:
                log.warning("Telegram unreachable at start-up (%s); retrying in %.0f s. "
                            "Trading goes on.", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(MAX_CONNECT_BACKOFF, delay * 2)
        await self.app.start()
        updater = self.app.updater
        assert updater is not None
        await updater.start_polling(
            poll_interval=0.0, timeout=self.cfg.poll_timeout_seconds, bootstrap_retries=-1,
            drop_pending_updates=True, allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
            error_callback=self._on_poll_error)
        await self._publish_commands()
        self._tasks += [asyncio.create_task(s.run(), name=f"telegram-alerts-{s.chat_id}")
                        for s in self.senders]
        self.status = "running"
        self.ready.set()
        log.info("Telegram running as @%s: %d admins, %d alert chats",
                 self.app.bot.username, len(self.access.admins), len(self.queues))
        self.router(self._started_notice())

    def _disable(self, why: str) -> None:
        self.status = f"off: {why}"
        self.router.enabled = False
        for queue in self.queues.values():
            queue.pop_batch(max_items=len(queue) or 1, max_chars=1 << 30)
        log.error("Telegram is off: %s. Trading goes on without Telegram; fix "
                  "TRADEFLY__TELEGRAM__TOKEN and restart to get it back.", why)

    async def stop(self) -> None:
        if self.status == "running":
            await asyncio.sleep(0)  # let a just-scheduled daily summary queue first
            self.router(Notice("daemon_stopping", self.bot.clock.now(), self._stopping_text(),
                               priority=2))
            await self._drain(DRAIN_SECONDS)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.handlers.close()
        app = self.app
        with contextlib.suppress(Exception):
            if app.updater is not None and app.updater.running:
                await asyncio.wait_for(app.updater.stop(), 10.0)
        with contextlib.suppress(Exception):
            if app.running:
                await app.stop()
            await app.shutdown()
        if not self.status.startswith("off"):
            self.status = "stopped"

    async def _drain(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(s.flush() for s in self.senders)), seconds)

    # -- Telegram I/O ---------------------------------------------------------------------
    async def _send_alert(self, chat_id: int, text: str) -> object:
        return await self.app.bot.send_message(chat_id, text, disable_web_page_preview=True)

    async def _publish_commands(self) -> None:
        """The command menu Telegram clients show; nice to have, so failures only log."""
        try:
            await self.app.bot.set_my_commands(
                [BotCommand(c.name, c.summary[:256]) for c in COMMANDS.values()
                 if c.role is Role.VIEWER or c.name in ("pause", "resume", "flatten")])
        except TelegramError as exc:
            log.info("could not publish the command menu: %s", type(exc).__name__)

    def _on_poll_error(self, exc: TelegramError) -> None:
        """Called by PTB's polling loop, which then backs off (1 s growing to 30 s)."""
        if isinstance(exc, Conflict):
            log.warning("Telegram 409 Conflict: another program polls with this token; "
                        "backing off")
            now = time.monotonic()
            if now - self._last_conflict_alert >= CONFLICT_ALERT_EVERY:
                self._last_conflict_alert = now
                self.router(Notice(
                    "telegram_conflict", self.bot.clock.now(),
                    "Another program is polling Telegram with this bot's token (409 "
                    "Conflict): commands may reach it instead of this bot. Stop the other "
                    "instance; this one keeps trading and retries.", priority=2))
        else:
            log.warning("Telegram polling error (%s); retrying with backoff",
                        type(exc).__name__)

    # -- alerts ---------------------------------------------------------------------------
    def _on_notice(self, notice: Notice) -> None:
        # The day's summary reads the store: do it right after the hot-path call returns,
        # not inside it.
        if notice.kind == "session_closed" and self.router.enabled:
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().call_soon(self._push_summary)

    def _push_summary(self) -> None:
        try:
            s = day_summary(self.bot)
        except Exception:
            log.exception("daily summary failed")
            return
        by_status = ", ".join(f"{k} {v}" for k, v in s["orders_by_status"].items())
        text = (f"Session closed: net {s['net_pnl']:+,.2f} after costs (realized "
                f"{s['realized_pnl_after_fees']:+,.2f}, unrealized "
                f"{s['unrealized_pnl_at_liquidation']:+,.2f}, fees {s['fees']:,.2f}); "
                f"{s['signals']} signals, {s['orders']} orders ({by_status or 'none'}), "
                f"{s['fills']} fills; equity {s['start_equity']:,.2f} → {s['equity']:,.2f}; "
                f"state {s['trading_state']}")
        self.router(Notice("daily_summary", self.bot.clock.now(), text, priority=1))

    def _started_notice(self) -> Notice:
        bot = self.bot
        paused = ", entries paused" if bot.control.paused else ""
        return Notice("daemon_started", bot.clock.now(),
                      f"TradeFly started: {bot.settings.mode} via {bot.settings.broker}, "
                      f"trading {bot.control.state.value}{paused}, "
                      f"{len(bot.portfolio.open_positions())} open positions", priority=2)

    def _stopping_text(self) -> str:
        reason = self._stop_reason()
        return (f"TradeFly stopping{' (' + reason + ')' if reason else ''}: "
                f"{len(self.bot.portfolio.open_positions())} open positions, trading "
                f"{self.bot.control.state.value}")
