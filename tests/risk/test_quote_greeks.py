"""Greeks from quotes: implied volatility from the mid, then BSM Greeks, checked against
QuantLib's BlackCalculator at the same volatility and time."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
import QuantLib as ql

from market.calendar import ExchangeCalendar
from market.clock import SimClock
from market.data import Quote
from market.greeks import years_to_expiry
from market.state import MarketState
from risk.quote_greeks import QuoteGreeks

NOW = datetime(2015, 12, 24, 16, 0, tzinfo=UTC)
CALL = "GOOG151231C00750000"
SPOT, STRIKE, VOL = 750.0, 750.0, 0.30
CAL = ExchangeCalendar()


def quantlib(t: float) -> ql.BlackCalculator:
    payoff = ql.PlainVanillaPayoff(ql.Option.Call, STRIKE)
    return ql.BlackCalculator(payoff, SPOT, VOL * math.sqrt(t), 1.0)  # r = q = 0


def market_with(price: float) -> MarketState:
    market = MarketState()
    market.on_quote(Quote("GOOG", NOW, SPOT - 0.05, SPOT + 0.05, 100, 100))
    market.on_quote(Quote(CALL, NOW, price - 0.05, price + 0.05, 10, 10, "GOOG"))
    return market


def test_greeks_from_the_quote_match_quantlib():
    t = years_to_expiry(NOW, CALL_EXPIRY, CAL)
    ref = quantlib(t)
    source = QuoteGreeks(market_with(ref.value()), SimClock(NOW), CAL)
    g = source(CALL)
    assert g is not None and g.underlying_price == pytest.approx(SPOT)
    assert g.delta == pytest.approx(ref.delta(SPOT), rel=1e-6)
    assert g.gamma == pytest.approx(ref.gamma(SPOT), rel=1e-6)
    assert g.vega == pytest.approx(ref.vega(t) / 100.0, rel=1e-6)
    assert g.theta == pytest.approx(ref.theta(SPOT, t) / 365.0, rel=1e-6)


def test_greeks_are_cached_for_max_age_then_recomputed():
    t = years_to_expiry(NOW, CALL_EXPIRY, CAL)
    market = market_with(quantlib(t).value())
    clock = SimClock(NOW)
    source = QuoteGreeks(market, clock, CAL, max_age=timedelta(seconds=30))
    first = source(CALL)
    market.on_quote(Quote(CALL, NOW, 40.0, 40.1, 10, 10, "GOOG"))  # much dearer
    assert source(CALL) is first
    clock.advance_to(NOW + timedelta(seconds=30))
    assert source(CALL) is not first


def test_no_greeks_without_a_usable_market():
    market = MarketState()
    source = QuoteGreeks(market, SimClock(NOW), CAL)
    assert source(CALL) is None  # no quote
    market.on_quote(Quote(CALL, NOW, 10.0, 10.2, 10, 10, "GOOG"))
    assert source("GOOG") is None  # not an option
    assert QuoteGreeks(market, SimClock(NOW), CAL)(CALL) is None  # no underlying price
    below_intrinsic = market_with(0.01)
    deep = "GOOG151231C00500000"
    below_intrinsic.on_quote(Quote(deep, NOW, 1.0, 1.1, 10, 10, "GOOG"))  # < 250 intrinsic
    assert QuoteGreeks(below_intrinsic, SimClock(NOW), CAL)(deep) is None


CALL_EXPIRY = datetime(2015, 12, 31).date()


def test_the_epoch_holds_within_a_max_age_slice_and_moves_at_its_end():
    source = QuoteGreeks(MarketState(), SimClock(NOW), CAL, max_age=timedelta(seconds=30))
    first = source.epoch(NOW)  # 16:00:00 starts a 30 s slice
    assert source.epoch(NOW + timedelta(seconds=29.9)) == first
    assert source.epoch(NOW + timedelta(seconds=30)) == first + 1
    assert source.epoch(NOW - timedelta(microseconds=1)) == first - 1
