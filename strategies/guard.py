"""Every call into strategy code goes through here: a failing strategy is disabled, not the bot."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from strategies.base import Signal, Strategy

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class GuardedStrategy:
    strategy: Strategy
    enabled: bool = True
    max_errors: int = 3
    errors: int = 0
    disabled_reason: str = ""
    signals_emitted: int = field(default=0)

    @property
    def name(self) -> str:
        return self.strategy.name

    def call(self, hook: Callable[[T], list[Signal]], arg: T) -> list[Signal]:
        if not self.enabled:
            return []
        try:
            signals = hook(arg)
        except Exception as exc:
            self.errors += 1
            log.exception("strategy %s failed in %s (%d/%d)", self.name,
                          getattr(hook, "__name__", "hook"), self.errors, self.max_errors)
            if self.errors >= self.max_errors:
                self.enabled = False
                self.disabled_reason = f"disabled after {self.errors} errors: {exc!r}"
                log.error("strategy %s %s", self.name, self.disabled_reason)
            return []
        if signals:
            self.signals_emitted += len(signals)
        return signals
