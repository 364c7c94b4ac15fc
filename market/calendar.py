"""The exchange calendar (NYSE sessions, holidays and early closes) from `exchange_calendars`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True, slots=True)
class Session:
    """One trading session's regular hours (aware datetimes, UTC)."""

    day: date
    open: datetime
    close: datetime

    @property
    def minutes(self) -> int:
        return int((self.close - self.open).total_seconds() // 60)

    def contains(self, when: datetime) -> bool:
        return self.open <= when < self.close


class ExchangeCalendar:
    """Regular sessions of a US equity-options exchange (XNYS hours; options follow them)."""

    def __init__(self, name: str = "XNYS") -> None:
        self._cal = xcals.get_calendar(name, start="2005-01-01")

    def is_session(self, day: date) -> bool:
        return bool(self._cal.is_session(pd.Timestamp(day)))

    @lru_cache(maxsize=4096)  # noqa: B019 - calendars live for the whole process
    def session(self, day: date) -> Session:
        """The session on `day`; raises ValueError on a weekend or holiday."""
        ts = pd.Timestamp(day)
        if not self._cal.is_session(ts):
            raise ValueError(f"{day} is not a trading session")
        return Session(
            day,
            self._cal.session_open(ts).to_pydatetime(),
            self._cal.session_close(ts).to_pydatetime(),
        )

    def session_for(self, when: datetime) -> Session | None:
        """The session whose calendar day (New York) contains `when`, if that day trades."""
        day = when.astimezone(NEW_YORK).date()
        return self.session(day) if self.is_session(day) else None

    def next_session(self, day: date) -> Session:
        probe = day + timedelta(days=1)
        while not self.is_session(probe):
            probe += timedelta(days=1)
        return self.session(probe)

    def sessions_between(self, start: date, end: date) -> list[date]:
        days = self._cal.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
        return [d.date() for d in days]
