"""systemd notify protocol (Type=notify, WatchdogSec): a datagram to $NOTIFY_SOCKET.

Twenty lines do not justify a dependency; outside systemd every call is a no-op.
"""

from __future__ import annotations

import os
import socket
from contextlib import suppress


class SystemdNotifier:
    def __init__(self) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self._address = address or None
        usec = os.environ.get("WATCHDOG_USEC")
        self.watchdog_interval = int(usec) / 2e6 if usec and usec.isdigit() else None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, message: str) -> None:
        if self._address is None:
            return
        # Non-blocking: a reader that does not keep up (or a dead systemd) must never stall the
        # event loop; a lost ping is what the watchdog exists to notice anyway.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, suppress(OSError):
            sock.setblocking(False)
            sock.sendto(message.encode(), self._address)

    def ready(self, status: str = "") -> None:
        self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")
