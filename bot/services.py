"""Optional services that run beside the engine in the daemon's loop (Telegram, dashboard…).

A service starts after reconciliation and stops before the store is flushed. Each one must
never block the loop: I/O happens in its own tasks, and it reads the bot through the control
layer. `build_services` is the one place that decides which services a config turns on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.daemon import Daemon


class Service(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def build_services(daemon: Daemon) -> list[Service]:
    """The services this config turns on, in start order."""
    services: list[Service] = []
    return services
