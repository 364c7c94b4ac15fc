"""50 WebSocket clients that never read do not change what the engine does, and their cost to
the hot path is measured (per-event engine time printed with and without them)."""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from bot.daemon import Daemon
from bot.events import Notice
from market.data import Quote
from tests.conftest import ROOT, make_settings

TOKEN = "slow-clients-token"
SLOW_CLIENTS = 50

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


async def replay_day(tmp_path: Path, slow_clients: int) -> dict[str, Any]:
    """The GOOG day at full speed; the replay starts once the clients are connected."""
    settings = make_settings(tmp_path, replay={"folder": ROOT / "data" / "replay", "speed": 0},
                             http={"enabled": True, "port": 0, "token": TOKEN})
    daemon = Daemon(settings)
    go = asyncio.Event()
    run_replay = daemon._run_replay

    async def gated() -> None:
        await go.wait()
        await run_replay()

    daemon._run_replay = gated  # type: ignore[method-assign]
    engine = daemon.bot.engine
    on_event = engine.on_event
    quote_ns: list[int] = []

    def timed(event: Any) -> None:
        start = time.perf_counter_ns()
        on_event(event)
        if type(event) is Quote:
            quote_ns.append(time.perf_counter_ns() - start)

    engine.on_event = timed  # type: ignore[method-assign]
    fills: list[tuple[Any, ...]] = []

    def on_notice(notice: Notice) -> None:
        if notice.kind == "fill":
            fills.append((notice.ts, notice.text))

    daemon.bot.bus.subscribe(on_notice)
    task = asyncio.create_task(daemon.run())
    for _ in range(500):
        if daemon.http_port:
            break
        await asyncio.sleep(0.01)
    url = f"ws://127.0.0.1:{daemon.http_port}/ws"
    # max_queue=1: the client library stops reading after one frame, like a stuck browser.
    clients: list[ClientConnection] = [
        await connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"},
                      max_queue=1) for _ in range(slow_clients)]
    for _ in range(200):
        if daemon.dashboard is not None and len(daemon.dashboard.clients) == slow_clients:
            break
        await asyncio.sleep(0.01)
    assert daemon.dashboard is not None and len(daemon.dashboard.clients) == slow_clients
    go.set()
    assert await asyncio.wait_for(task, 60) == 0
    for client in clients:
        client.transport.abort()
    return {"fills": fills, "quote_ns": quote_ns, "summary": daemon.summary,
            "sent": daemon.dashboard.sent_messages, "dropped": daemon.dashboard.dropped_clients}


async def test_fifty_slow_clients_change_nothing_the_engine_does(tmp_path: Path) -> None:
    alone = await replay_day(tmp_path / "alone", 0)
    crowded = await replay_day(tmp_path / "crowded", SLOW_CLIENTS)
    for name, run in (("no clients", alone), (f"{SLOW_CLIENTS} slow clients", crowded)):
        ns = sorted(run["quote_ns"])
        print(f"\n{name:>16}: engine per quote mean {statistics.fmean(ns) / 1000:.2f} us, "
              f"p50 {ns[len(ns) // 2] / 1000:.2f} us, p99 {ns[int(len(ns) * 0.99)] / 1000:.2f}"
              f" us over {len(ns)} quotes; messages queued {run['sent']}, clients dropped "
              f"{run['dropped']}")
    assert crowded["fills"] and crowded["fills"] == alone["fills"]
    assert len(crowded["quote_ns"]) == len(alone["quote_ns"])
    assert crowded["summary"] == alone["summary"]
    assert crowded["sent"] > 0  # the clients really were being fed
