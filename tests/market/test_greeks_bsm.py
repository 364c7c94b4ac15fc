"""European Greeks and implied volatility, checked against QuantLib and textbook values.

QuantLib is the independent reference: `BlackCalculator` and `blackFormulaImpliedStdDev` for
minute-accurate times on the real GOOG quotes of 2015-12-24 (a half day with 0DTE contracts),
and the full `VanillaOption` + `AnalyticEuropeanEngine` path on the shared chain snapshots.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import QuantLib as ql

from market.greeks import Greeks, IVReason, bsm_greeks, bsm_price, implied_volatility
from tests.market.greeks_data import RATE, chain_snapshot, goog_quotes

MINUTES = ("2015-12-24T09:30:00-05:00", "2015-12-24T11:00:00-05:00",
           "2015-12-24T12:58:00-05:00")


@pytest.fixture(scope="module")
def goog() -> object:
    return goog_quotes(MINUTES)


def time_value(price, is_call, s, k, t, r, q):
    fwd = s * np.exp((r - q) * t)
    intrinsic = np.where(is_call, np.maximum(fwd - k, 0), np.maximum(k - fwd, 0))
    return price - intrinsic * np.exp(-r * t)


def ql_implied_vol(price, is_call, s, k, t, r, q) -> float:
    fwd = s * math.exp((r - q) * t)
    right = ql.Option.Call if is_call else ql.Option.Put
    std = ql.blackFormulaImpliedStdDev(right, k, fwd, price, math.exp(-r * t), 0.0,
                                       ql.nullDouble(), 1e-15, 10_000)
    return std / math.sqrt(t)


def ql_calculator(is_call, s, k, t, r, q, sigma) -> ql.BlackCalculator:
    right = ql.Option.Call if is_call else ql.Option.Put
    fwd = s * math.exp((r - q) * t)
    payoff = ql.PlainVanillaPayoff(right, float(k))
    return ql.BlackCalculator(payoff, fwd, sigma * math.sqrt(t), math.exp(-r * t))


# --- hand-computed textbook values -------------------------------------------------------

def test_hull_prices() -> None:
    # Hull, Options Futures and Other Derivatives, example 15.6: 4.76 and 0.81.
    price = bsm_price([True, False], 42.0, 40.0, 0.5, 0.10, 0.0, 0.20)
    assert price == pytest.approx([4.7594, 0.8086], abs=5e-5)


def test_hull_greeks_of_a_call() -> None:
    # Hull's running example (S=49, K=50, r=5%, sigma=20%, 20 weeks): delta 0.522,
    # gamma 0.066, theta -4.31 per year, vega 12.1, rho 8.91.
    g = bsm_greeks(True, 49.0, 50.0, 20 / 52, 0.05, 0.0, 0.20)
    assert float(g.delta) == pytest.approx(0.522, abs=5e-4)
    assert float(g.gamma) == pytest.approx(0.066, abs=5e-4)
    assert float(g.theta) == pytest.approx(-4.31, abs=5e-3)
    assert float(g.vega) == pytest.approx(12.1, abs=0.05)
    assert float(g.rho) == pytest.approx(8.91, abs=5e-3)


def test_put_call_parity_with_dividends() -> None:
    s, k, t, r, q, v = 750.0, np.array([600.0, 750.0, 900.0]), 0.3, 0.02, 0.015, 0.35
    call = bsm_greeks(True, s, k, t, r, q, v)
    put = bsm_greeks(False, s, k, t, r, q, v)
    forward_value = s * math.exp(-q * t) - k * math.exp(-r * t)
    np.testing.assert_allclose(call.price - put.price, forward_value, rtol=0, atol=1e-10)
    np.testing.assert_allclose(call.delta - put.delta, math.exp(-q * t), atol=1e-14)
    np.testing.assert_allclose(call.gamma, put.gamma, rtol=1e-14)
    np.testing.assert_allclose(call.vega, put.vega, rtol=1e-14)


def test_at_the_forward_iv_matches_brenner_subrahmanyam_closed_form() -> None:
    # At the forward, C = F D (2 N(sigma sqrt(t) / 2) - 1) exactly: invert it by hand.
    s, t, r, sigma = 100.0, 0.25, 0.03, 0.4
    fwd = s * math.exp(r * t)
    price = math.exp(-r * t) * fwd * math.erf(sigma * math.sqrt(t) / 2 / math.sqrt(2))
    res = implied_volatility(price, True, s, fwd, t, r, 0.0)
    assert float(res.iv) == pytest.approx(sigma, abs=1e-13)
    assert int(res.reason) == IVReason.OK


# --- golden values from QuantLib on the real quotes ---------------------------------------

def test_iv_matches_quantlib_on_real_goog_quotes(goog) -> None:
    q = goog
    res = implied_volatility(q.price, q.is_call, q.spot, q.strike, q.t, RATE, 0.0)
    solvable = res.ok
    assert solvable.sum() > 2000  # most two-sided quotes have an IV
    tv = time_value(q.price, q.is_call, q.spot, q.strike, q.t, RATE, 0.0)
    checked = 0
    for i in np.flatnonzero(solvable & (tv >= 0.01)):
        ref = ql_implied_vol(q.price[i], q.is_call[i], q.spot[i], q.strike[i], q.t[i], RATE, 0.0)
        assert abs(res.iv[i] - ref) <= 1e-8, (q.symbol[i], res.iv[i], ref)
        checked += 1
    assert checked > 1500
    # 0DTE quotes (the half day closes at 13:00) are part of the check.
    assert (q.t[solvable] < 1.0 / 365).sum() > 50


def test_greeks_match_quantlib_on_real_goog_quotes(goog) -> None:
    q = goog
    iv = implied_volatility(q.price, q.is_call, q.spot, q.strike, q.t, RATE, 0.0).iv
    ok = np.flatnonzero(np.isfinite(iv))
    dividend = 0.012  # a non-zero yield, to exercise q in every formula
    g = bsm_greeks(q.is_call[ok], q.spot[ok], q.strike[ok], q.t[ok], RATE, dividend, iv[ok])
    for j, i in enumerate(ok):
        c = ql_calculator(q.is_call[i], q.spot[i], q.strike[i], q.t[i], RATE, dividend, iv[i])
        s, t = q.spot[i], q.t[i]
        expected = (c.value(), c.delta(s), c.gamma(s), c.theta(s, t), c.vega(t), c.rho(t))
        got = (g.price[j], g.delta[j], g.gamma[j], g.theta[j], g.vega[j], g.rho[j])
        for name, a, b in zip(("price", "delta", "gamma", "theta", "vega", "rho"), got,
                              expected, strict=True):
            assert abs(a - b) <= 1e-8 * max(1.0, abs(b)), (q.symbol[i], name, a, b)


@pytest.mark.parametrize("snapshot", ["GOOG_2015-12-24_chain.csv.gz",
                                      "SPY_2024-01-02_chain.csv.gz",
                                      "AAPL_2014-06-02_chain.csv.gz"])
def test_engine_path_matches_quantlib_on_chain_snapshots(snapshot: str) -> None:
    chain = chain_snapshot(snapshot)
    rng = np.random.default_rng(7)
    chain = chain.iloc[rng.permutation(len(chain))[:300]].reset_index(drop=True)
    r, q = 0.01, 0.015
    t = chain.days.to_numpy() / 365.0  # Actual365Fixed on whole days, as QuantLib counts
    is_call = (chain.right == "C").to_numpy()
    spot = chain.underlying_close.to_numpy()
    strike = chain.strike.to_numpy(dtype=float)
    price = chain.close.to_numpy()
    res = implied_volatility(price, is_call, spot, strike, t, r, q)
    tv = time_value(price, is_call, spot, strike, t, r, q)
    today = ql.Date(2, 1, 2000)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    spot_q = ql.SimpleQuote(1.0)
    vol_q = ql.SimpleQuote(0.2)
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(spot_q),
        ql.YieldTermStructureHandle(ql.FlatForward(today, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(),
                                                           ql.QuoteHandle(vol_q), dc)))
    engine = ql.AnalyticEuropeanEngine(process)
    checked = 0
    for i in np.flatnonzero(res.ok & (tv >= 0.01)):
        right = ql.Option.Call if is_call[i] else ql.Option.Put
        option = ql.VanillaOption(ql.PlainVanillaPayoff(right, strike[i]),
                                  ql.EuropeanExercise(today + int(chain.days[i])))
        option.setPricingEngine(engine)
        spot_q.setValue(spot[i])
        ref_iv = option.impliedVolatility(price[i], process, 1e-14, 10_000, 1e-7, 10.0)
        assert abs(res.iv[i] - ref_iv) <= 1e-8, (chain.occ_symbol[i], res.iv[i], ref_iv)
        vol_q.setValue(res.iv[i])
        g = bsm_greeks(is_call[i], spot[i], strike[i], t[i], r, q, res.iv[i])
        expected = (option.NPV(), option.delta(), option.gamma(), option.theta(),
                    option.vega(), option.rho())
        got = (g.price, g.delta, g.gamma, g.theta, g.vega, g.rho)
        for a, b in zip(got, expected, strict=True):
            assert abs(float(a) - b) <= 1e-8 * max(1.0, abs(b))
        checked += 1
    assert checked >= 10


# --- no implied volatility: NaN with a reason -------------------------------------------

def test_nan_with_reason_for_every_unsolvable_case() -> None:
    s, k, t, r = 100.0, 100.0, 0.5, 0.02
    lower_bound_put = k * math.exp(-r * t) - 80.0  # European put floor at S = 80
    cases = [
        # price, is_call, spot, strike, t, expected reason
        (5.0, True, float("nan"), k, t, IVReason.BAD_INPUT),
        (5.0, True, s, -1.0, t, IVReason.BAD_INPUT),
        (5.0, True, s, k, 0.0, IVReason.EXPIRED),
        (5.0, True, s, k, -0.01, IVReason.EXPIRED),
        (0.0, True, s, k, t, IVReason.NO_PRICE),  # a zero bid
        (lower_bound_put - 0.5, False, 80.0, k, t, IVReason.BELOW_INTRINSIC),
        (lower_bound_put, False, 80.0, k, t, IVReason.NO_TIME_VALUE),
        (100.0, True, s, k, t, IVReason.ABOVE_MAX),  # a call worth the stock
        (k, False, s, k, t, IVReason.ABOVE_MAX),  # a put worth more than K e^{-rt}
    ]
    price, is_call, spot, strike, tt, expected = (np.array(c) for c in zip(*cases, strict=True))
    res = implied_volatility(price.astype(float), is_call.astype(bool), spot.astype(float),
                             strike.astype(float), tt.astype(float), r, 0.0)
    assert np.isnan(res.iv).all()
    assert [IVReason(int(x)) for x in res.reason] == list(expected)
    assert res.counts()["above_max"] == 2


# --- round trips over the whole domain, shapes ------------------------------------------

def test_round_trip_across_moneyness_expiry_and_volatility() -> None:
    rng = np.random.default_rng(42)
    n = 50_000
    s = 750.0
    k = rng.uniform(200, 1500, n)
    t = np.exp(rng.uniform(np.log(1 / (365 * 24 * 60)), np.log(3.0), n))  # 1 minute .. 3 years
    sigma = rng.uniform(0.02, 3.0, n)
    is_call = rng.random(n) < 0.5
    r, q = 0.04, 0.01
    price = bsm_price(is_call, s, k, t, r, q, sigma)
    res = implied_volatility(price, is_call, s, k, t, r, q)
    tv = time_value(price, is_call, s, k, t, r, q)
    identifiable = tv >= 0.05
    assert identifiable.sum() > 20_000
    assert res.ok[identifiable].all()
    assert np.abs(res.iv - sigma)[identifiable].max() <= 1e-10
    assert not (res.reason == IVReason.NOT_CONVERGED).any()


def test_scalars_and_shapes_broadcast() -> None:
    strikes = np.array([[90.0, 100.0], [110.0, 120.0]])
    g = bsm_greeks(True, 100.0, strikes, 0.5, 0.01, 0.0, 0.3)
    assert isinstance(g, Greeks)
    assert g.delta.shape == (2, 2)
    res = implied_volatility(g.price, True, 100.0, strikes, 0.5, 0.01, 0.0)
    assert res.iv.shape == (2, 2)
    np.testing.assert_allclose(res.iv, 0.3, atol=1e-12)
    assert float(bsm_price(True, 100.0, 100.0, 0.0, 0.01, 0.0, 0.3)) != float(
        bsm_price(True, 100.0, 100.0, 0.1, 0.01, 0.0, 0.3))  # NaN at t = 0
    assert math.isnan(float(bsm_price(True, 100.0, 100.0, 0.0, 0.01, 0.0, 0.3)))


def test_fused_greeks_equal_bsm_greeks_at_the_implied_vol(goog) -> None:
    from market.greeks import implied_volatility_and_greeks

    q = goog
    dividend = 0.012
    res, fused = implied_volatility_and_greeks(q.price, q.is_call, q.spot, q.strike, q.t, RATE,
                                               dividend)
    alone = implied_volatility(q.price, q.is_call, q.spot, q.strike, q.t, RATE, dividend)
    np.testing.assert_array_equal(res.reason, alone.reason)
    np.testing.assert_array_equal(res.iv, alone.iv)
    ref = bsm_greeks(q.is_call, q.spot, q.strike, q.t, RATE, dividend, res.iv)
    for name in ("price", "delta", "gamma", "theta", "vega", "rho"):
        a, b = getattr(fused, name), getattr(ref, name)
        assert np.array_equal(np.isnan(a), np.isnan(b)), name
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11, err_msg=name)
    # The price at the implied vol reproduces the quote.
    ok = res.ok
    np.testing.assert_allclose(fused.price[ok], q.price[ok], rtol=1e-11, atol=1e-11)


def test_whole_real_day_solves_or_says_why() -> None:
    """All 160k two-sided GOOG quotes of the day: every NaN has a data reason, none is a
    numerical failure, and every IV reprices its quote."""
    q = goog_quotes()
    res = implied_volatility(q.price, q.is_call, q.spot, q.strike, q.t, RATE, 0.0)
    counts = res.counts()
    assert "not_converged" not in counts
    assert counts["ok"] > 140_000
    assert set(counts) <= {"ok", "below_intrinsic", "no_time_value", "above_max"}
    ok = res.ok
    price = bsm_price(q.is_call[ok], q.spot[ok], q.strike[ok], q.t[ok], RATE, 0.0, res.iv[ok])
    np.testing.assert_allclose(price, q.price[ok], rtol=1e-10, atol=1e-10)
