"""The live hub: the hot path stays O(1), slow clients are dropped, never waited for."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from bot.events import Notice
from bot.web import hub as hub_module
from bot.web.hub import LiveHub
from bot.wiring import Bot
from market.clock import SimClock
from market.feeds.replay import ReplayFeed

TS = datetime(2015, 12, 24, 15, 0, tzinfo=UTC)


class FastSocket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed: int | None = None

    async def send_text(self, data: str) -> None:
        self.sent.append(json.loads(data))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = code


class StuckSocket(FastSocket):
    """A client whose network never drains: every send hangs."""

    async def send_text(self, data: str) -> None:
        await asyncio.Event().wait()


def fill(i: int) -> Notice:
    return Notice("fill", TS, f"fill {i}", data={"symbol": "GOOG", "quantity": 1, "price": 1.0})


async def wait_until(predicate: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_notices_reach_a_client_in_publish_order(mem_bot: Bot) -> None:
    hub = LiveHub(mem_bot, lambda: {"status": {}, "pnl": {}})
    sock = FastSocket()
    task = asyncio.create_task(hub.serve(sock, {"type": "hello"}))
    await wait_until(lambda: hub.clients)
    for i in range(5):
        mem_bot.bus.publish(fill(i))
    await wait_until(lambda: sum(m.get("kind") == "fill" for m in sock.sent) == 5)
    texts = [m["text"] for m in sock.sent if m.get("kind") == "fill"]
    assert sock.sent[0] == {"type": "hello"} and texts == [f"fill {i}" for i in range(5)]
    await hub.stop()
    await asyncio.wait_for(task, 1)


async def test_publishing_touches_no_client_and_stuck_clients_are_dropped(
        mem_bot: Bot, monkeypatch: Any) -> None:
    monkeypatch.setattr(hub_module, "CLIENT_QUEUE_MAX", 20)
    hub = LiveHub(mem_bot, lambda: {"status": {}, "pnl": {}}, send_timeout=30.0)
    stuck = [StuckSocket() for _ in range(50)]
    healthy = FastSocket()
    tasks = [asyncio.create_task(hub.serve(s, {"type": "hello"})) for s in [*stuck, healthy]]
    await wait_until(lambda: len(hub.clients) == 51)
    for burst in range(20):
        for i in range(10):  # synchronously, as the engine does: no await in between
            mem_bot.bus.publish(fill(burst * 10 + i))
        # The hot path only buffered the notices: no client queue grew while publishing.
        assert len(hub._pending) == 10
        await asyncio.sleep(0.02)  # the engine's loop yields between events
    await wait_until(lambda: hub.dropped_clients == 50)
    await wait_until(lambda: sum(m.get("kind") == "fill" for m in healthy.sent) == 200)
    assert all(s.closed == 1013 for s in stuck)  # told why: "try again later"
    assert len(hub.clients) == 1 and healthy.closed is None
    await hub.stop()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)


async def test_a_send_that_stalls_ends_that_client_only(mem_bot: Bot) -> None:
    hub = LiveHub(mem_bot, lambda: {"status": {}, "pnl": {}}, send_timeout=0.05)
    stuck, healthy = StuckSocket(), FastSocket()
    stuck_task = asyncio.create_task(hub.serve(stuck, {"type": "hello"}))
    healthy_task = asyncio.create_task(hub.serve(healthy, {"type": "hello"}))
    await asyncio.wait_for(stuck_task, 2)  # returns once the stalled send timed out
    mem_bot.bus.publish(fill(1))
    await wait_until(lambda: any(m.get("kind") == "fill" for m in healthy.sent))
    assert len(hub.clients) == 1
    await hub.stop()
    await asyncio.wait_for(healthy_task, 1)


async def test_no_client_no_buffering(mem_bot: Bot) -> None:
    hub = LiveHub(mem_bot, lambda: {})
    for i in range(10):
        mem_bot.bus.publish(fill(i))
    assert not hub._pending  # nobody listens: nothing kept


async def test_order_status_changes_are_pushed(mem_bot: Bot, sim_clock: SimClock,
                                               goog_feed: ReplayFeed) -> None:
    hub = LiveHub(mem_bot, lambda: {"status": {}, "pnl": {}})
    sock = FastSocket()
    task = asyncio.create_task(hub.serve(sock, {"type": "hello"}))
    await wait_until(lambda: hub.clients)
    for event in goog_feed.events():  # the real day, until the bot's first fill
        sim_clock.advance_to(event.ts)
        mem_bot.engine.on_event(event)
        if mem_bot.portfolio.open_positions():
            break
    await wait_until(lambda: any(m["type"] == "order" and m["status"] == "filled"
                                 for m in sock.sent))
    pushed = [m for m in sock.sent if m["type"] == "order"]
    filled = next(m for m in pushed if m["status"] == "filled")
    order = mem_bot.orders.orders[filled["client_order_id"]]
    assert filled["symbol"] == order.request.symbol and filled["open"] is False
    assert filled["filled"] == order.filled_quantity == order.request.quantity
    await hub.stop()
    await asyncio.wait_for(task, 1)
