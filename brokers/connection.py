"""A venue connection's state, kept by each adapter and told to whoever listens.

Adapters flip it from their own transport events (a websocket up or down, a socket lost, calls
failing after their retries); `ConnectionState` only remembers the last value and calls the
listeners when it *changes*. A reconnect loop that fails twenty times therefore says
"disconnected" once, and the monitor turns each change into at most one alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectionChange:
    """The venue became reachable (`connected`) or not, when, and the adapter's why."""

    venue: str
    connected: bool
    ts: datetime
    reason: str


ConnectionListener = Callable[[ConnectionChange], None]


class ConnectionState:
    """Last known connection of one venue; listeners hear each change exactly once."""

    def __init__(
        self, venue: str, *, connected: bool = False, reason: str = "not connected yet"
    ) -> None:
        self.venue = venue
        self.connected = connected
        self.reason = reason
        self.since: datetime | None = None
        self._listeners: list[ConnectionListener] = []

    def add_listener(self, listener: ConnectionListener) -> None:
        self._listeners.append(listener)

    def set(self, connected: bool, ts: datetime, reason: str) -> bool:
        """Record the venue's state; True (and listeners told) only when it changed."""
        if connected == self.connected:
            return False
        self.connected, self.reason, self.since = connected, reason, ts
        change = ConnectionChange(self.venue, connected, ts, reason)
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:
                log.exception("connection listener failed on %s", change)
        return True
