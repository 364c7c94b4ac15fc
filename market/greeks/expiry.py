"""Time to expiry in years, to the minute, for the option models.

An equity option stops trading at the close of its expiration session, so that instant (not
midnight) is the expiry: 16:00 New York, or 13:00 on an early-close day; when the expiration
date is a holiday, the last session before it. Two year bases are offered:

* ``CALENDAR`` (default): calendar seconds to the expiry close / (365 * 86,400) — ACT/365F,
  the basis of QuantLib's Actual365Fixed and of vendor IVs, so our IVs compare with theirs.
* ``TRADING``: regular-session minutes left until the expiry close / (252 * 390). Variance
  accrues only while the market trades, so for 0DTE and 1DTE this is the steadier clock:
  an IV computed at 09:31 and at 15:59 measure the same thing, and a night or a weekend
  does not decay premium the model thinks is still there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum

import numpy as np

from market.calendar import ExchangeCalendar, Session
from market.greeks.bsm import FloatArray

SECONDS_PER_YEAR = 365.0 * 86_400.0
TRADING_MINUTES_PER_YEAR = 252.0 * 390.0


class YearBasis(StrEnum):
    CALENDAR = "calendar"
    TRADING = "trading"


def expiry_session(expiration: date, calendar: ExchangeCalendar) -> Session:
    """The session in which a contract expiring on `expiration` last trades."""
    day = expiration
    for _ in range(10):
        if calendar.is_session(day):
            return calendar.session(day)
        day -= timedelta(days=1)
    raise ValueError(f"no trading session in the 10 days up to {expiration}")


def years_to_expiry(now: datetime, expiration: date, calendar: ExchangeCalendar,
                    basis: YearBasis = YearBasis.CALENDAR) -> float:
    """Years from `now` (aware) to the expiry close; 0.0 once that close has passed."""
    if now.tzinfo is None:
        raise ValueError("years_to_expiry needs a timezone-aware now")
    close = expiry_session(expiration, calendar).close
    if now >= close:
        return 0.0
    if basis is YearBasis.CALENDAR:
        return (close - now).total_seconds() / SECONDS_PER_YEAR
    return _trading_minutes(now, close, calendar) / TRADING_MINUTES_PER_YEAR


def years_to_expiries(now: datetime, expirations: Iterable[date], calendar: ExchangeCalendar,
                      basis: YearBasis = YearBasis.CALENDAR) -> FloatArray:
    """`years_to_expiry` for a chain's expirations, computing each distinct date once."""
    days = list(expirations)
    cache = {d: years_to_expiry(now, d, calendar, basis) for d in set(days)}
    return np.fromiter((cache[d] for d in days), dtype=np.float64, count=len(days))


def _trading_minutes(now: datetime, close: datetime, calendar: ExchangeCalendar) -> float:
    start_day = now.astimezone(close.tzinfo).date() - timedelta(days=1)
    total = 0.0
    for day in calendar.sessions_between(start_day, close.date()):
        session = calendar.session(day)
        begin = max(session.open, now)
        end = min(session.close, close)
        if end > begin:
            total += (end - begin).total_seconds() / 60.0
    return total
