"""Time to expiry: the expiry is the close of the expiration session, to the minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from market.calendar import ExchangeCalendar
from market.greeks import YearBasis, expiry_session, years_to_expiries, years_to_expiry

CAL = ExchangeCalendar()
MINUTE_CAL = 1.0 / (365 * 24 * 60)
MINUTE_TRADING = 1.0 / (252 * 390)


def test_zero_dte_on_a_half_day_counts_minutes_to_the_1pm_close() -> None:
    # 2015-12-24 closed at 13:00 New York (18:00 UTC). At 12:00 NY one hour is left.
    now = datetime(2015, 12, 24, 17, 0, tzinfo=UTC)
    t = years_to_expiry(now, date(2015, 12, 24), CAL)
    assert t == pytest.approx(60 * MINUTE_CAL, rel=1e-12)
    assert years_to_expiry(now, date(2015, 12, 24), CAL, YearBasis.TRADING) == pytest.approx(
        60 * MINUTE_TRADING, rel=1e-12)


def test_expired_after_the_close() -> None:
    after = datetime(2015, 12, 24, 18, 0, tzinfo=UTC)
    assert years_to_expiry(after, date(2015, 12, 24), CAL) == 0.0
    assert years_to_expiry(after + timedelta(days=3), date(2015, 12, 24), CAL) == 0.0


def test_trading_basis_skips_nights_weekends_and_holidays() -> None:
    # Thursday 2015-12-24 12:00 NY to the Monday 2015-12-28 close: 60 minutes left on the
    # half day, Christmas closed, weekend closed, then a full 390-minute Monday.
    now = datetime(2015, 12, 24, 17, 0, tzinfo=UTC)
    t = years_to_expiry(now, date(2015, 12, 28), CAL, YearBasis.TRADING)
    assert t == pytest.approx((60 + 390) * MINUTE_TRADING, rel=1e-12)
    calendar_t = years_to_expiry(now, date(2015, 12, 28), CAL)
    close = datetime(2015, 12, 28, 21, 0, tzinfo=UTC)
    assert calendar_t == pytest.approx((close - now).total_seconds() / (365 * 86400), rel=1e-12)


def test_a_holiday_expiration_moves_to_the_session_before() -> None:
    # Good Friday 2016-03-25: the March 2016 monthly expired on Thursday 03-24 at 16:00.
    session = expiry_session(date(2016, 3, 25), CAL)
    assert session.day == date(2016, 3, 24)
    assert session.close == datetime(2016, 3, 24, 20, 0, tzinfo=UTC)


def test_a_chain_of_expirations_and_a_naive_time() -> None:
    now = datetime(2015, 12, 24, 14, 31, tzinfo=UTC)
    days = [date(2015, 12, 24), date(2016, 1, 15), date(2015, 12, 24)]
    t = years_to_expiries(now, days, CAL)
    assert t.shape == (3,)
    assert t[0] == t[2] and t[1] > t[0]
    np.testing.assert_allclose(t[0], (18 * 60 - (14 * 60 + 31)) * MINUTE_CAL)
    with pytest.raises(ValueError, match="timezone-aware"):
        years_to_expiry(datetime(2015, 12, 24, 12, 0), date(2015, 12, 24), CAL)
