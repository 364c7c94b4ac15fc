"""Optional services that run beside the engine in the daemon's loop (Telegram, dashboard…).

A service starts after reconciliation and stops before the store is flushed. Each one must
never block the loop: I/O happens in its own tasks, and it reads the bot through the control
layer. `build_services` is the one place that decides which services a config turns on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot.control import restore_strategy_switches

if TYPE_CHECKING:
    from bot.daemon import Daemon


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_services(daemon: Daemon) -> list[Service]:
    """The services this config turns on, in start order."""
    services: list[Service] = []
    settings = daemon.settings
    restore_strategy_switches(daemon.bot)
    if settings.telegram.enabled or settings.http.enabled:
        from bot.monitor import Monitor

        # Its notices (broker and feed down/back, stalls) reach the dashboard too.
        services.append(Monitor(daemon.bot, live_feed=not daemon.replay,
                                stale_after=settings.feed.stale_after_seconds,
                                heartbeat_minutes=settings.telegram.heartbeat_minutes))
    if settings.telegram.enabled:
        from bot.telegram import TelegramService

        services.append(TelegramService(daemon.bot, settings.telegram, health=daemon.health,
                                        stop_reason=lambda: daemon.stop_reason))
    return services
