"""Under systemd (Type=notify, WatchdogSec) the daemon says READY after reconciliation, pings
the watchdog, and says STOPPING on shutdown — over a real datagram socket."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from bot.daemon import Daemon
from tests.conftest import REPLAY_DIR, make_settings


async def test_ready_watchdog_and_stopping_reach_the_notify_socket(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # ping every 0.1 s
    messages: list[str] = []

    def drain() -> None:
        while True:
            try:
                messages.append(server.recv(4096).decode())
            except BlockingIOError:
                return

    daemon = Daemon(make_settings(tmp_path, replay={"folder": REPLAY_DIR, "speed": 600}))
    task = asyncio.create_task(daemon.run())
    for _ in range(30):  # read as systemd would, while the daemon runs
        await asyncio.sleep(0.05)
        drain()
    daemon.request_stop("test")
    assert await task == 0
    drain()
    server.close()
    assert messages[0].startswith("READY=1")
    assert messages.count("WATCHDOG=1") >= 3
    assert messages[-1] == "STOPPING=1"


def test_a_reader_that_never_reads_cannot_block_the_daemon(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.systemd import SystemdNotifier

    path = tmp_path / "full.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    notifier = SystemdNotifier()
    for _ in range(1000):  # far beyond the socket's queue: must return, not hang
        notifier.watchdog()
    server.close()
