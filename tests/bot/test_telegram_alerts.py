"""The alert queue and sender: priorities, bounded memory, RetryAfter, outages, redaction.

The sender is driven with PTB's own exception classes (what `Bot.send_message` raises); the
wire-level behaviour against a Bot API server is in tests/integration/test_telegram.py.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.events import EventBus, Notice
from bot.logging_setup import Redactor
from bot.telegram.alerts import AlertQueue, AlertRouter, AlertSender, render
from bot.telegram.format import short_symbol

TS = datetime(2015, 12, 24, 15, 0, tzinfo=UTC)
TOKEN = "987654321:AAFakeTokenForTestsOnly_abcdefghij"


def n(text: str, priority: int = 1, kind: str = "fill") -> Notice:
    return Notice(kind, TS, text, priority)


def texts(batch: list[Notice]) -> list[str]:
    return [x.text for x in batch]


def test_highest_priority_first_and_oldest_first_within_one() -> None:
    q = AlertQueue(10)
    for notice in (n("a", 0), n("b", 1), n("c", 2), n("d", 1)):
        q.push(notice)
    assert texts(q.pop_batch()) == ["c", "b", "d", "a"]
    assert len(q) == 0 and not q.ready.is_set()


def test_full_queue_drops_the_oldest_of_the_lowest_priority() -> None:
    q = AlertQueue(3)
    for notice in (n("n1"), n("l1", 0), n("n2")):
        q.push(notice)
    q.push(n("h1", 2))  # evicts l1: the only low one
    q.push(n("l2", 0))  # every queued alert ranks above it: the newcomer is dropped
    q.push(n("n3"))  # evicts n1: the oldest of the lowest level present
    assert q.dropped == 3
    assert texts(q.pop_batch()) == ["h1", "n2", "n3"]


def test_memory_stays_bounded_whatever_is_pushed() -> None:
    q = AlertQueue(50)
    for i in range(10_000):
        q.push(n(str(i), i % 3))
    assert len(q) == 50 and q.dropped == 10_000 - 50
    batch = q.pop_batch(max_items=100, max_chars=10**9)
    assert {x.priority for x in batch} == {2}  # only high-priority alerts survived


def test_requeue_puts_an_unsent_batch_back_in_order() -> None:
    q = AlertQueue(10)
    for notice in (n("a"), n("b"), n("c")):
        q.push(notice)
    first = q.pop_batch(max_items=2)
    q.push(n("d"))
    q.requeue(first)
    assert texts(q.pop_batch()) == ["a", "b", "c", "d"]


def test_batches_respect_the_message_size() -> None:
    q = AlertQueue(100)
    for i in range(10):
        q.push(n(f"{i}" * 500))
    batch = q.pop_batch(max_chars=1600)
    assert len(batch) == 3 and len(q) == 7


def test_router_filters_by_priority_and_fans_out() -> None:
    a, b = AlertQueue(10), AlertQueue(10)
    bus = EventBus()
    bus.subscribe(AlertRouter([a, b], min_priority=1))
    bus.publish(n("signal", 0, "signal"))
    bus.publish(n("fill", 1))
    bus.publish(n("alive", 0, "heartbeat"))  # always sent, whatever its priority
    bus.publish(n("closed", 1, "session_closed"))  # the service sends a richer summary
    assert texts(a.pop_batch()) == ["fill", "alive"] == texts(b.pop_batch())


def test_render_says_how_many_were_dropped_and_redacts_secrets() -> None:
    text = render([n(f"failed calling https://api.telegram.org/bot{TOKEN}/getMe")], 4,
                  Redactor([TOKEN]).redact)
    assert text.startswith("⚠️ 4 alerts dropped")
    assert TOKEN not in text and "***" in text
    assert "10:00:00" in text  # New York time


class FakeTelegram:
    """`send` for the sender: fails as scripted, then records what got through."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.delivered: list[tuple[float, str]] = []
        self.attempts: list[float] = []

    async def send(self, chat_id: int, text: str) -> object:
        self.attempts.append(time.monotonic())
        if self.failures:
            raise self.failures.pop(0)
        self.delivered.append((time.monotonic(), text))
        return object()


def sender(q: AlertQueue, tg: FakeTelegram, interval: float = 0.0) -> AlertSender:
    return AlertSender(42, q, tg.send, interval=interval, redact=Redactor([TOKEN]).redact,
                       min_backoff=0.01)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_retry_after_is_waited_out_and_nothing_is_lost() -> None:
    q = AlertQueue(10)
    q.push(n("fill 1"))
    tg = FakeTelegram([RetryAfter(timedelta(milliseconds=300))])
    await asyncio.wait_for(sender(q, tg).send_pending(), 5)
    assert [t for _, t in tg.delivered] == ["✅ 10:00:00 fill 1"]
    assert tg.delivered[0][0] - tg.attempts[0] >= 0.29  # waited as Telegram asked


async def test_outage_keeps_trading_data_bounded_and_reports_drops_on_return() -> None:
    q = AlertQueue(5)
    for i in range(3):
        q.push(n(f"early {i}"))
    tg = FakeTelegram([NetworkError("connection refused"), TimedOut(), NetworkError("x")])
    s = sender(q, tg)
    task = asyncio.create_task(s.send_pending())
    await asyncio.sleep(0.02)
    assert not s.reachable
    for i in range(6):  # still down: the queue overflows
        q.push(n(f"late {i}", 2 if i == 5 else 1))
    await asyncio.wait_for(task, 5)
    assert s.reachable and len(tg.delivered) == 1
    text = tg.delivered[0][1]
    assert text.startswith("⚠️ 4 alerts dropped")
    assert text.splitlines()[1].endswith("late 5")  # the high-priority one leads
    assert "early 0" not in text and "late 4" in text


async def test_a_refused_chat_loses_that_batch_but_the_sender_goes_on() -> None:
    q = AlertQueue(10)
    q.push(n("lost"))
    tg = FakeTelegram([BadRequest("Chat not found")])
    s = sender(q, tg)
    await s.send_pending()
    q.push(n("next"))
    await s.send_pending()
    assert [t for _, t in tg.delivered] == ["✅ 10:00:00 next"]


async def test_messages_are_paced_and_alerts_in_between_are_batched() -> None:
    q = AlertQueue(10)
    tg = FakeTelegram([])
    s = sender(q, tg, interval=0.3)
    task = asyncio.create_task(s.run())
    q.push(n("one"))
    await asyncio.sleep(0.05)
    for word in ("two", "three", "four"):
        q.push(n(word))
    await asyncio.sleep(0.5)
    task.cancel()
    assert [t.count("\n") + 1 for _, t in tg.delivered] == [1, 3]
    assert tg.delivered[1][0] - tg.delivered[0][0] >= 0.29


@pytest.mark.parametrize(("occ", "short"), [
    ("GOOG151224C00750000", "GOOG 12/24 750C"),
    ("SPXW240119P04712500", "SPXW 01/19 4712.5P"),
    ("GOOG", "GOOG"),
])
def test_option_symbols_are_shortened_for_a_phone(occ: str, short: str) -> None:
    assert short_symbol(occ) == short
