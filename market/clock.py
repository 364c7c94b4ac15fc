"""Clocks: the one place where "now" comes from.

Everything below the daemon takes a `Clock` in its constructor so that the same code runs on
wall time (live, paper) and on simulated time (backtest, replay). Only `LiveClock` reads the
system clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Source of the current time (always timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class LiveClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)  # clock-ok: the one wall-clock read


class SimClock:
    """Simulated time, advanced by the replay driver; it never goes backwards."""

    __slots__ = ("_now",)

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs a timezone-aware start time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> None:
        """Move time forward to `when`; earlier times are ignored (events may share a stamp)."""
        if when > self._now:
            self._now = when
