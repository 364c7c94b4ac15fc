"""Typed notifications the engine publishes, and the fan-out that delivers them.

Publishing is synchronous and cheap (append to a bounded buffer per subscriber); delivery to
Telegram, the dashboard or a webhook happens in their own tasks, so a slow or broken notifier
never blocks or breaks trading.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Notice:
    """Base of every notification: what kind, when, and a one-line human text."""

    kind: str
    ts: datetime
    text: str
    priority: int = 1  # 0 low (signals), 1 normal (fills), 2 high (breaker, faults)
    data: dict[str, Any] | None = None


Subscriber = Callable[[Notice], None]


class EventBus:
    """Synchronous fan-out; each subscriber is isolated from the others' failures."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self.published = 0

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, notice: Notice) -> None:
        self.published += 1
        for sub in self._subscribers:
            try:
                sub(notice)
            except Exception:
                log.exception("notifier %r failed on %s", sub, notice.kind)
