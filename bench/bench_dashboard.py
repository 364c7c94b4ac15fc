"""Dashboard cost on the hot path: what one published notice costs the engine.

Times `EventBus.publish` of a fill notice on the bot's bus (a) without the dashboard, (b) with
the dashboard hub subscribed and no page open, (c) with the hub and 50 pages open — the hub
buffers once whatever the number of pages — against (d) the obvious design done in the subscriber:
serialize and append to each of the 50 pages' queues on the spot. Then the pump's side, off
the hot path: messages per second serialized and queued for 50 pages.

Run: `make bench` or `.venv/bin/python bench/bench_dashboard.py`. Figures only; nothing asserts.
"""

from __future__ import annotations

import asyncio
import json
import timeit
from collections import deque
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings
from bot.events import EventBus, Notice
from bot.web.hub import Client, LiveHub, notice_message
from bot.wiring import build_bot
from market.clock import SimClock

PAGES = 50
N = 200_000
NOTICE = Notice("fill", datetime(2015, 12, 24, 15, 27, tzinfo=UTC),
                "Filled buy 3 GOOG160115C00747500 @ 14.20 (fees 1.95)",
                data={"client_order_id": "tf-1", "symbol": "GOOG160115C00747500",
                      "side": "buy", "quantity": 3, "price": 14.2})


class NullSocket:
    async def send_text(self, data: str) -> None:
        return None

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        return None


def per_publish_ns(bus: EventBus, drain: deque[Any] | None = None) -> float:
    def once() -> None:
        bus.publish(NOTICE)
        if drain is not None and len(drain) > 5000:
            drain.clear()  # keep memory flat; a pump would empty it
    best = min(timeit.repeat(once, number=N, repeat=3))
    return best / N * 1e9


def naive_bus(queues: list[deque[str]]) -> EventBus:
    bus = EventBus()

    def fan_out(notice: Notice) -> None:
        text = json.dumps(notice_message(notice), default=str)
        for q in queues:
            q.append(text)
            if len(q) > 5000:
                q.clear()
    bus.subscribe(fan_out)
    return bus


async def main() -> None:
    settings = Settings(store={"url": "sqlite:///:memory:"}, paper={"ledger_path": ":memory:"},
                        http={"enabled": False})
    bot = build_bot(settings, SimClock(NOTICE.ts), run_tag="bench")
    print(f"EventBus.publish of one fill notice, best of 3 x {N:,} (ns per publish):")
    print(f"  the bot's own bus, no dashboard       {per_publish_ns(bot.bus):8.0f}")
    hub = LiveHub(bot, lambda: {})
    print(f"  dashboard hub, no page open           {per_publish_ns(bot.bus):8.0f}")
    for _ in range(PAGES):
        hub.clients.add(Client(NullSocket()))
    print(f"  dashboard hub, {PAGES} pages open          "
          f"{per_publish_ns(bot.bus, hub._pending):8.0f}")
    queues: list[deque[str]] = [deque() for _ in range(PAGES)]
    print(f"  peer design: serialize + fan out in   {per_publish_ns(naive_bus(queues)):8.0f}"
          f"\n    the subscriber to {PAGES} queues")
    hub.clients.clear()
    for _ in range(PAGES):
        hub.clients.add(Client(NullSocket()))
    text = json.dumps(notice_message(NOTICE))
    rounds = 20_000

    def pump_round() -> None:
        hub.broadcast(json.dumps(notice_message(NOTICE), default=str))
        for c in hub.clients:
            c.queue.clear()
    seconds = min(timeit.repeat(pump_round, number=rounds, repeat=3))
    print(f"pump (off the hot path): {rounds / seconds:,.0f} messages/s serialized and queued "
          f"for {PAGES} pages ({len(text)} bytes each)")
    bot.close()


if __name__ == "__main__":
    asyncio.run(main())
