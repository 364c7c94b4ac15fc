"""Trading states: ACTIVE trades; REDUCING and HALTED only let positions shrink."""

from __future__ import annotations

from enum import StrEnum


class TradingState(StrEnum):
    ACTIVE = "active"  # entries and exits allowed
    REDUCING = "reducing"  # only position-reducing orders (the daily-loss breaker latches here)
    HALTED = "halted"  # kill switch: only cancels and position-reducing exits (flatten)
