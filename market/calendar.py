"""The exchange calendar (NYSE sessions, holidays and early closes) from `exchange_calendars`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_CLOSE = time(16, 0)
EXTENDED_START = time(4, 0)
EXTENDED_END = time(20, 0)
EARLY_CLOSE_EXTENDED_END = time(17, 0)


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
        self._is_session: dict[date, bool] = {}

    def is_session(self, day: date) -> bool:
        known = self._is_session.get(day)
        if known is None:  # pandas lookups cost ~100 µs: ask once per day
            known = self._is_session[day] = bool(self._cal.is_session(pd.Timestamp(day)))
        return known

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

    def is_early_close(self, day: date) -> bool:
        """A half day (13:00 close), e.g. Christmas Eve or the day after Thanksgiving."""
        return self.session(day).close.astimezone(NEW_YORK).time() < REGULAR_CLOSE

    def extended_session(self, day: date) -> Session:
        """Pre-market to after-hours of a trading day: 04:00-20:00 New York (after-hours end
        at 17:00 on early-close days). Stocks trade then; listed equity options do not."""
        end = EARLY_CLOSE_EXTENDED_END if self.is_early_close(day) else EXTENDED_END
        return Session(day, _new_york(day, EXTENDED_START), _new_york(day, end))

    def last_trading_day(self, expiration: date) -> date:
        """The session in which a contract expiring on `expiration` last trades: that day, or
        the session before when it is a holiday (Good Friday) or a Saturday (monthly
        expirations before 2015 were dated on the Saturday after the third Friday)."""
        day = expiration
        for _ in range(10):
            if self.is_session(day):
                return day
            day -= timedelta(days=1)
        raise ValueError(f"no trading session in the 10 days up to {expiration}")

    def trading_days_to_expiry(self, today: date, expiration: date) -> int:
        """Sessions after `today` up to the last trading day: 0 on expiry day (0DTE), 1 the
        session before, and negative once expired."""
        last = self.last_trading_day(expiration)
        if last < today:
            return -len(self.sessions_between(last, today)) + (1 if self.is_session(today) else 0)
        return len(self.sessions_between(today, last)) - (1 if self.is_session(today) else 0)


def _new_york(day: date, at: time) -> datetime:
    return datetime.combine(day, at, NEW_YORK).astimezone(UTC)
