"""The exchange calendar against facts checked by hand on the NYSE's published holiday and
early-close schedules (and the shipped data's half day, 2015-12-24)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from market.calendar import NEW_YORK, ExchangeCalendar


@pytest.fixture(scope="module")
def cal() -> ExchangeCalendar:
    return ExchangeCalendar()


def utc(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


@pytest.mark.parametrize("day", [
    date(2015, 12, 25),  # Christmas
    date(2015, 4, 3),  # Good Friday (not a federal holiday; the exchange closes)
    date(2015, 11, 26),  # Thanksgiving
    date(2018, 12, 5),  # national day of mourning, President G. H. W. Bush
    date(2012, 10, 29), date(2012, 10, 30),  # Hurricane Sandy
    date(2022, 6, 20),  # Juneteenth, observed on the Monday (first year)
    date(2021, 7, 5),  # Independence Day observed (the 4th was a Sunday)
    date(2015, 12, 26),  # a Saturday
])
def test_holidays_and_closures_are_not_sessions(cal: ExchangeCalendar, day: date) -> None:
    assert not cal.is_session(day)
    with pytest.raises(ValueError, match="not a trading session"):
        cal.session(day)


def test_juneteenth_traded_before_it_was_observed(cal: ExchangeCalendar) -> None:
    assert cal.is_session(date(2021, 6, 18))


@pytest.mark.parametrize(("day", "close_utc"), [
    (date(2015, 12, 24), utc(2015, 12, 24, 18)),  # the shipped GOOG day: 13:00 EST
    (date(2015, 11, 27), utc(2015, 11, 27, 18)),  # day after Thanksgiving
    (date(2023, 7, 3), utc(2023, 7, 3, 17)),  # 13:00 EDT (the SPX data's half day)
])
def test_early_closes(cal: ExchangeCalendar, day: date, close_utc: datetime) -> None:
    session = cal.session(day)
    assert session.close == close_utc
    assert session.minutes == 210
    assert cal.is_early_close(day)
    assert cal.session_for(close_utc.replace(hour=close_utc.hour - 1)) == session
    assert not session.contains(close_utc)  # the close itself is outside [open, close)


def test_regular_day_and_dst_shift_the_utc_open(cal: ExchangeCalendar) -> None:
    before, after = cal.session(date(2016, 3, 11)), cal.session(date(2016, 3, 14))  # DST 03-13
    assert before.open == utc(2016, 3, 11, 14, 30) and after.open == utc(2016, 3, 14, 13, 30)
    assert before.minutes == after.minutes == 390
    assert not cal.is_early_close(date(2016, 3, 14))
    autumn = cal.session(date(2015, 11, 2))  # DST ended 2015-11-01
    assert autumn.open == utc(2015, 11, 2, 14, 30) and autumn.close == utc(2015, 11, 2, 21)
    for s in (before, after, autumn):
        assert s.open.astimezone(NEW_YORK).strftime("%H:%M") == "09:30"


def test_session_counts_and_next_session(cal: ExchangeCalendar) -> None:
    # December 2015: 23 weekdays, Christmas off
    assert len(cal.sessions_between(date(2015, 12, 1), date(2015, 12, 31))) == 22
    assert cal.next_session(date(2015, 12, 24)).day == date(2015, 12, 28)
    assert cal.next_session(date(2015, 4, 2)).day == date(2015, 4, 6)  # over Good Friday
    assert cal.session_for(utc(2015, 12, 25, 15)) is None


def test_extended_hours(cal: ExchangeCalendar) -> None:
    normal = cal.extended_session(date(2013, 10, 7))
    assert (normal.open, normal.close) == (utc(2013, 10, 7, 8), utc(2013, 10, 8, 0))  # EDT
    half = cal.extended_session(date(2015, 12, 24))
    assert (half.open, half.close) == (utc(2015, 12, 24, 9), utc(2015, 12, 24, 22))  # 17:00
    assert half.contains(utc(2015, 12, 24, 20)) and not cal.session(half.day).contains(
        utc(2015, 12, 24, 20))
    with pytest.raises(ValueError, match="not a trading session"):
        cal.extended_session(date(2015, 12, 25))


@pytest.mark.parametrize(("expiration", "last"), [
    (date(2015, 12, 24), date(2015, 12, 24)),  # a weekly on the half day
    (date(2014, 6, 21), date(2014, 6, 20)),  # a Saturday-dated monthly (pre-2015, real data)
    (date(2015, 4, 3), date(2015, 4, 2)),  # Good Friday: the Thursday
])
def test_last_trading_day(cal: ExchangeCalendar, expiration: date, last: date) -> None:
    assert cal.last_trading_day(expiration) == last


def test_trading_days_to_expiry(cal: ExchangeCalendar) -> None:
    assert cal.trading_days_to_expiry(date(2015, 12, 24), date(2015, 12, 24)) == 0  # 0DTE
    assert cal.trading_days_to_expiry(date(2015, 12, 23), date(2015, 12, 24)) == 1
    # Thu 12-24 → Thu 12-31: 28, 29, 30, 31 (Christmas closed)
    assert cal.trading_days_to_expiry(date(2015, 12, 24), date(2015, 12, 31)) == 4
    assert cal.trading_days_to_expiry(date(2014, 6, 20), date(2014, 6, 21)) == 0
    assert cal.trading_days_to_expiry(date(2015, 12, 26), date(2015, 12, 31)) == 4  # Saturday
    assert cal.trading_days_to_expiry(date(2015, 12, 28), date(2015, 12, 24)) == -1  # expired
