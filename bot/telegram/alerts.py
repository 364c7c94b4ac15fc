"""Alerts: notices from the EventBus to Telegram chats, without ever slowing trading.

The bus calls `AlertRouter` synchronously on the hot path, so a push is O(1): a deque append
per priority level, no formatting, no I/O. One `AlertSender` task per chat drains its queue:
highest priority first, several alerts batched into one message, at most one message per
interval, waiting out Telegram's RetryAfter, backing off while Telegram is unreachable. When
a queue is full the oldest alert of the lowest priority goes first; how many were dropped is
said in the next message that gets through.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.events import Notice
from market.calendar import NEW_YORK

log = logging.getLogger(__name__)

LEVELS = 3  # Notice.priority: 0 low, 1 normal, 2 high
MAX_MESSAGE_CHARS = 3800  # Telegram allows 4096; keep room for the dropped-count line
MAX_BATCH = 25
MAX_BACKOFF_SECONDS = 60.0

ICONS = {
    "fill": "✅", "order_denied": "⛔", "order_rejected": "❌",
    "order_pending_reconciliation": "❓", "state_changed": "🚨", "paused": "⏸",
    "resumed": "▶️", "reconciliation": "🔍", "store_failed": "💾", "feed_stale": "📡",
    "feed_recovered": "📡", "broker_disconnected": "🔌", "broker_reconnected": "🔌",
    "daemon_started": "🟢", "daemon_stopping": "🔴", "daily_summary": "📊",
    "heartbeat": "💓", "loop_stalled": "🐢", "telegram_conflict": "⚠️", "signal": "💡",
    "execution_gave_up": "⌛",
}


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about the int form; either form is fine
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _level(priority: int) -> int:
    return priority if 0 <= priority < LEVELS else (0 if priority < 0 else LEVELS - 1)


class AlertQueue:
    """Bounded, prioritized, O(1) push. Single-threaded: push from the event loop's thread."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._levels: list[deque[Notice]] = [deque() for _ in range(LEVELS)]
        self._size = 0
        self.dropped = 0  # evicted for lack of room, ever
        self.ready = asyncio.Event()

    def __len__(self) -> int:
        return self._size

    def push(self, notice: Notice) -> None:
        level = _level(notice.priority)
        if self._size >= self.maxsize and not self._evict(level):
            self.dropped += 1  # everything queued matters more than this one
            return
        self._levels[level].append(notice)
        self._size += 1
        if self._size == 1:
            self.ready.set()

    def _evict(self, level: int) -> bool:
        """Make room for a notice of `level`: drop the oldest of the lowest priority queued,
        unless all queued notices rank above `level`."""
        for lowest in range(level + 1):
            if self._levels[lowest]:
                self._levels[lowest].popleft()
                self._size -= 1
                self.dropped += 1
                return True
        return False

    def pop_batch(self, max_items: int = MAX_BATCH,
                  max_chars: int = MAX_MESSAGE_CHARS) -> list[Notice]:
        """Up to `max_items` notices, highest priority first, oldest first within one."""
        batch: list[Notice] = []
        chars = 0
        for level in range(LEVELS - 1, -1, -1):
            queue = self._levels[level]
            while queue and len(batch) < max_items:
                cost = len(queue[0].text) + 16
                if batch and chars + cost > max_chars:
                    return self._popped(batch)
                batch.append(queue.popleft())
                chars += cost
        return self._popped(batch)

    def _popped(self, batch: list[Notice]) -> list[Notice]:
        self._size -= len(batch)
        if not self._size:
            self.ready.clear()
        return batch

    def requeue(self, batch: Iterable[Notice]) -> None:
        """Put an unsent batch back in front, in order (room permitting)."""
        for notice in reversed(list(batch)):
            level = _level(notice.priority)
            if self._size >= self.maxsize and not self._evict(level):
                self.dropped += 1
                continue
            self._levels[level].appendleft(notice)
            self._size += 1
        if self._size:
            self.ready.set()


class AlertRouter:
    """The EventBus subscriber: filters by priority and fans out to each chat's queue."""

    ALWAYS = frozenset({"daemon_started", "daemon_stopping", "daily_summary", "heartbeat"})
    SKIP = frozenset({"session_closed"})  # the service sends the richer daily_summary instead

    def __init__(self, queues: Iterable[AlertQueue], min_priority: int = 1) -> None:
        self.queues = list(queues)
        self.min_priority = min_priority
        self.enabled = True

    def __call__(self, notice: Notice) -> None:
        if not self.enabled or notice.kind in self.SKIP or (
                notice.priority < self.min_priority and notice.kind not in self.ALWAYS):
            return
        for queue in self.queues:
            queue.push(notice)


def render(batch: list[Notice], dropped: int, redact: Callable[[str], str]) -> str:
    lines = []
    if dropped:
        lines.append(f"⚠️ {dropped} alert{'s' if dropped != 1 else ''} dropped while Telegram "
                     "was slow or unreachable (lowest priority first).")
    for notice in batch:
        when = notice.ts.astimezone(NEW_YORK).strftime("%H:%M:%S")
        text = notice.text if len(notice.text) <= 1000 else notice.text[:999] + "…"
        lines.append(f"{ICONS.get(notice.kind, '•')} {when} {text}")
    return redact("\n".join(lines))


Send = Callable[[int, str], Awaitable[object]]


class AlertSender:
    """Drains one chat's queue into Telegram messages; never raises, never gives up."""

    def __init__(self, chat_id: int, queue: AlertQueue, send: Send, *, interval: float,
                 redact: Callable[[str], str], min_backoff: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.chat_id = chat_id
        self.queue = queue
        self._send = send
        self.interval = interval
        self._redact = redact
        self._monotonic = monotonic
        self._last_sent = -float("inf")
        self._reported_drops = 0
        self._backoff = 0.0
        self.min_backoff = min_backoff
        self.sent_messages = 0
        self.reachable = True
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        while True:
            await self.queue.ready.wait()
            async with self._lock:
                await self.send_pending()

    async def flush(self) -> None:
        """Send what is queued now (after any send in flight); used at shutdown."""
        async with self._lock:
            await self.send_pending()

    async def send_pending(self) -> None:
        """Send until the queue is empty, pacing and retrying as needed."""
        while len(self.queue):
            wait = self._last_sent + self.interval - self._monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            batch = self.queue.pop_batch()
            dropped = self.queue.dropped - self._reported_drops
            delay = await self._deliver(batch, dropped)
            if delay:
                await asyncio.sleep(delay)

    async def _deliver(self, batch: list[Notice], dropped: int) -> float:
        """Send one message; returns how long to wait before trying again (0 = go on)."""
        try:
            await self._send(self.chat_id, render(batch, dropped, self._redact))
        except RetryAfter as exc:
            self.queue.requeue(batch)
            wait = retry_after_seconds(exc)
            log.warning("Telegram flood control for chat %s: waiting %.0f s", self.chat_id, wait)
            return wait
        except (BadRequest, Forbidden) as exc:
            # The chat is wrong or blocked us: retrying cannot help; say so once per batch.
            log.error("alerts to chat %s refused (%s): %d alert(s) lost; check "
                      "telegram.alert_chats", self.chat_id, exc.message, len(batch))
            return 0.0
        except (NetworkError, TelegramError) as exc:
            self.queue.requeue(batch)
            self._backoff = min(MAX_BACKOFF_SECONDS, max(self.min_backoff, self._backoff * 2))
            if self.reachable:
                log.warning("Telegram unreachable for alerts (%s); %d queued, retrying with "
                            "backoff; trading is not affected", type(exc).__name__,
                            len(self.queue))
            self.reachable = False
            return self._backoff
        self._last_sent = self._monotonic()
        self._reported_drops += dropped
        self._backoff = 0.0
        self.sent_messages += 1
        if not self.reachable:
            log.info("Telegram reachable again for chat %s", self.chat_id)
        self.reachable = True
        return 0.0
