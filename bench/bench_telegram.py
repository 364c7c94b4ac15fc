"""Telegram must never slow trading (issue 9).

1. Hot-path latency per market event over the recorded GOOG 2015-12-24 chain, in the daemon's
   own loop shape (the engine called synchronously, a yield every 2000 events), three ways:
   no Telegram; Telegram attached but gone (the fake Bot API stopped after start-up, so
   polling and every alert send fail and retry); Telegram attached but black-holed (TCP
   accepted, never answered: requests hang until PTB's timeouts). Every notice, signals
   included, is routed to the alert queue: the worst case. Prints p50/p99/max per event.
2. The cost of one alert push (what the EventBus pays on the hot path) against the standard
   library's queues: asyncio.Queue.put_nowait and a heapq priority queue.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.events import Notice  # noqa: E402
from bot.telegram import TelegramService  # noqa: E402
from bot.telegram.alerts import AlertQueue  # noqa: E402
from bot.wiring import Bot, build_bot  # noqa: E402
from market.clock import SimClock  # noqa: E402
from market.feeds.replay import ReplayDay, ReplayFeed  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.integration.fakes.telegram import FakeBotAPI  # noqa: E402

TOKEN = "987654321:AAFakeTokenForBenchOnly_abcdefghijk"
DAY = date(2015, 12, 24)
YIELD_EVERY = 2000  # as bot.daemon


def new_bot(base_url: str | None) -> Bot:
    telegram: dict[str, Any] = {}
    if base_url is not None:
        telegram = {"enabled": True, "token": TOKEN, "base_url": base_url, "admins": [1],
                    "alert_min_priority": 0, "alert_interval_seconds": 0.0,
                    "poll_timeout_seconds": 1, "heartbeat_minutes": 0}
    settings = make_settings(telegram=telegram) if telegram else make_settings()
    return build_bot(settings, SimClock(datetime(2015, 12, 24, 14, 30, tzinfo=UTC)),
                     run_tag="bench")


async def replay(bot: Bot) -> list[int]:
    """Per-event engine latency in ns, the loop shaped like the daemon's replay."""
    feed = ReplayFeed([ReplayDay.discover(ROOT / "data" / "replay", "GOOG", DAY)])
    bot.market.open_interest.update(feed.open_interest)
    clock = bot.clock
    assert isinstance(clock, SimClock)
    on_event = bot.engine.on_event
    out: list[int] = []
    now = time.perf_counter_ns
    for i, event in enumerate(feed.events()):
        if i % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        clock.advance_to(event.ts)
        t0 = now()
        on_event(event)
        out.append(now() - t0)
    bot.engine.close_session()
    return out


async def blackhole() -> tuple[asyncio.Server, int]:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(-1)

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def scenario(name: str, setup: Callable[[], Awaitable[tuple[str | None, Any]]]
                   ) -> tuple[str, list[int], str]:
    base_url, teardown = await setup()
    bot = new_bot(base_url)
    service = None
    if base_url is not None:
        service = TelegramService(bot, bot.settings.telegram)
        await service.start()
        if isinstance(teardown, FakeBotAPI):
            await asyncio.wait_for(service.ready.wait(), 10)
            await teardown.stop()  # Telegram goes away while the bot trades
    latencies = await replay(bot)
    note = ""
    if service is not None:
        queued = sum(len(q) for q in service.queues.values())
        dropped = sum(q.dropped for q in service.queues.values())
        polls = "failing" if isinstance(teardown, FakeBotAPI) else "hanging"
        note = (f"alerts queued {queued}, dropped {dropped}; Telegram {service.status}, "
                f"requests {polls}")
        await service.stop()
    if isinstance(teardown, asyncio.Server):
        teardown.close()
    bot.close()
    return name, latencies, note


async def no_telegram() -> tuple[str | None, Any]:
    return None, None


async def gone() -> tuple[str | None, Any]:
    fake = FakeBotAPI(TOKEN)
    await fake.start()
    return fake.base_url, fake


async def black_holed() -> tuple[str | None, Any]:
    server, port = await blackhole()
    return f"http://127.0.0.1:{port}/bot", server


def pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000.0


def _per_push(push: Callable[[int, Notice], object], notices: list[Notice]) -> float:
    best = float("inf")
    for _ in range(3):  # best of three: the machine is shared
        t0 = time.perf_counter_ns()
        for i, notice in enumerate(notices):
            push(i, notice)
        best = min(best, (time.perf_counter_ns() - t0) / len(notices))
    return best


def push_costs(n: int = 200_000) -> list[tuple[str, float]]:
    notices = [Notice("fill", datetime(2015, 12, 24, tzinfo=UTC), "x", i % 3) for i in range(n)]
    roomy, full = AlertQueue(10 * n), AlertQueue(200)
    aq: asyncio.Queue[Notice] = asyncio.Queue()
    heap: list[tuple[int, int, Notice]] = []
    return [
        ("AlertQueue.push, room left", _per_push(lambda _i, x: roomy.push(x), notices)),
        ("AlertQueue.push, full (evicts)", _per_push(lambda _i, x: full.push(x), notices)),
        ("asyncio.Queue.put_nowait (unbounded)",
         _per_push(lambda _i, x: aq.put_nowait(x), notices)),
        ("heapq.heappush (unbounded)",
         _per_push(lambda i, x: heapq.heappush(heap, (-x.priority, i, x)), notices)),
    ]


async def main() -> None:
    logging.disable(logging.CRITICAL)  # retries are expected and would flood the output
    print("hot path per market event, GOOG 2015-12-24 full chain (µs)")
    print(f"{'scenario':<34}{'events':>9}{'p50':>8}{'p99':>8}{'max':>10}{'mean':>8}")
    for name, setup in (("no Telegram", no_telegram), ("Telegram gone (refused)", gone),
                        ("Telegram black-holed (hangs)", black_holed)):
        label, lat, note = await scenario(name, setup)
        print(f"{label:<34}{len(lat):>9}{pct(lat, 0.5):>8.2f}{pct(lat, 0.99):>8.2f}"
              f"{max(lat) / 1000:>10.1f}{statistics.fmean(lat) / 1000:>8.2f}")
        if note:
            print(f"{'':<34}{note}")
    print("\nalert push cost (ns per push)")
    for label, ns in push_costs():
        print(f"  {label:<40}{ns:>8.0f}")


if __name__ == "__main__":
    asyncio.run(main())
