"""Daily statistics per underlying: IV rank, IV percentile and the 30-session volume average.

Pure functions over a history the caller provides, plus `RollingDaily`, a bounded window of one
value per session that is fed as data arrives. Persistence is the caller's: the daemon loads a
window from a `DailyHistoryStore` at start-up and saves each session's closing value (the
protocol below is all this module asks of the store).

Definitions (the common retail-platform ones, stated so numbers can be checked by hand):

* IV rank = 100 * (IV_now - min) / (max - min), min and max over the window *and* IV_now,
  so it lies in [0, 100]; NaN while the window is shorter than `min_sessions` or flat.
* IV percentile = 100 * (sessions in the window with IV < IV_now) / (sessions in the window).
* volume_avg_30d = mean daily option volume over the last 30 completed sessions.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

IV_WINDOW = 252
VOLUME_WINDOW = 30


@dataclass(frozen=True, slots=True)
class DailyValue:
    """The value of one daily series (e.g. closing 30-day ATM IV) for one session."""

    day: date
    value: float


class DailyHistoryStore(Protocol):
    """Where the daily series live between runs (implemented in `bot/store`)."""

    def load_daily(self, underlying: str, series: str, sessions: int) -> Sequence[DailyValue]:
        """The last `sessions` values of `series` for `underlying`, oldest first."""
        ...

    def save_daily(self, underlying: str, series: str, value: DailyValue) -> None:
        """Insert or replace the value of `value.day`."""
        ...


def _window(history: Iterable[float]) -> NDArray[np.float64]:
    values = np.fromiter(history, dtype=np.float64)
    return values[np.isfinite(values)]


def iv_rank(current: float, history: Iterable[float], min_sessions: int = 20) -> float:
    """Where `current` sits in the window's IV range, 0-100 (NaN when undefined)."""
    window = _window(history)
    if not math.isfinite(current) or window.size < min_sessions:
        return math.nan
    low = min(float(window.min()), current)
    high = max(float(window.max()), current)
    if high <= low:
        return math.nan
    return 100.0 * (current - low) / (high - low)


def iv_percentile(current: float, history: Iterable[float], min_sessions: int = 20) -> float:
    """Share of the window's sessions whose IV was below `current`, 0-100."""
    window = _window(history)
    if not math.isfinite(current) or window.size < min_sessions:
        return math.nan
    return 100.0 * float(np.count_nonzero(window < current)) / window.size


def volume_avg_30d(daily_volumes: Iterable[float], min_sessions: int = VOLUME_WINDOW) -> float:
    """Mean of the last 30 completed sessions' option volumes (NaN with fewer than
    `min_sessions`; pass the completed sessions only, not today's partial volume)."""
    window = _window(daily_volumes)[-VOLUME_WINDOW:]
    window = window[window >= 0]
    if window.size < min_sessions or window.size == 0:
        return math.nan
    return float(window.mean())


class RollingDaily:
    """The last `window` sessions of one daily series, one value per session.

    Recording a day already present replaces its value (an intraday update of today's close);
    an older day than the newest is refused, NaN and negative values are ignored, so a bad
    print never enters the history.
    """

    def __init__(self, window: int, values: Iterable[DailyValue] = ()) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self._items: deque[DailyValue] = deque(maxlen=window)
        for item in values:
            self.record(item.day, item.value)

    def record(self, day: date, value: float) -> bool:
        """Add or replace `day`'s value; False when the value was refused."""
        if not math.isfinite(value) or value < 0:
            return False
        if self._items and day < self._items[-1].day:
            return False
        if self._items and day == self._items[-1].day:
            self._items.pop()
        self._items.append(DailyValue(day, value))
        return True

    def __len__(self) -> int:
        return len(self._items)

    @property
    def last_day(self) -> date | None:
        return self._items[-1].day if self._items else None

    def values(self, before: date | None = None) -> NDArray[np.float64]:
        """The values, oldest first; only days strictly before `before` when given."""
        return np.array([i.value for i in self._items if before is None or i.day < before],
                        dtype=np.float64)

    def items(self) -> list[DailyValue]:
        return list(self._items)


@dataclass
class UnderlyingDailyStats:
    """IV rank/percentile and volume average of one underlying, kept current as data arrives.

    Feed `close_session` with each completed session's IV (e.g. 30-day ATM) and total option
    volume; read `rank`/`percentile` with the live IV during the session.
    """

    iv: RollingDaily
    volume: RollingDaily

    @classmethod
    def empty(cls) -> UnderlyingDailyStats:
        return cls(RollingDaily(IV_WINDOW), RollingDaily(VOLUME_WINDOW))

    def close_session(self, day: date, iv: float, volume: float) -> None:
        self.iv.record(day, iv)
        self.volume.record(day, volume)

    def rank(self, current_iv: float, today: date) -> float:
        return iv_rank(current_iv, self.iv.values(before=today))

    def percentile(self, current_iv: float, today: date) -> float:
        return iv_percentile(current_iv, self.iv.values(before=today))

    def volume_avg_30d(self, today: date) -> float:
        return volume_avg_30d(self.volume.values(before=today))
