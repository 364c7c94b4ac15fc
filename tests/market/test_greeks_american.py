"""American exercise: the Leisen-Reimer tree against QuantLib's American engines.

Stated tolerance (201 steps, Richardson-extrapolated): price within max($0.005, 2e-5 x price)
of QuantLib's high-precision QdFp engine; delta within 2e-3 and gamma within 5% + 1e-5 of
QuantLib's finite-difference engine; vega within 1% of bumped QdFp prices (near the exercise
boundary of short, low-vol puts); implied volatility of a QuantLib American price within
5e-4 of the volatility that produced it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import QuantLib as ql

from market.greeks import IVReason, bsm_price, implied_volatility
from market.greeks.american import american_greeks, american_implied_volatility, american_price
from tests.market.greeks_data import chain_snapshot

TODAY = ql.Date(2, 1, 2000)
R, Q = 0.02, 0.01


def ql_american(is_call: bool, s: float, k: float, days: int, vol: float, r: float = R,
                q: float = Q, fd: bool = False) -> ql.VanillaOption:
    ql.Settings.instance().evaluationDate = TODAY
    dc = ql.Actual365Fixed()
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(s)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, q, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(TODAY, r, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(TODAY, ql.NullCalendar(), vol, dc)))
    right = ql.Option.Call if is_call else ql.Option.Put
    option = ql.VanillaOption(ql.PlainVanillaPayoff(right, k),
                              ql.AmericanExercise(TODAY, TODAY + days))
    engine = (ql.FdBlackScholesVanillaEngine(process, 800, 800) if fd else
              ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.highPrecisionScheme()))
    option.setPricingEngine(engine)
    return option


@pytest.fixture(scope="module")
def contracts():
    """60 real GOOG contracts of 2015-12-24 (7 to 393 days), with their own European IVs."""
    chain = chain_snapshot("GOOG_2015-12-24_chain.csv.gz")
    t = chain.days.to_numpy() / 365.0
    is_call = (chain.right == "C").to_numpy()
    spot = chain.underlying_close.to_numpy()
    strike = chain.strike.to_numpy(dtype=float)
    iv = implied_volatility(chain.close.to_numpy(), is_call, spot, strike, t, R, Q).iv
    moneyness = strike / spot
    usable = np.flatnonzero(np.isfinite(iv) & (moneyness > 0.7) & (moneyness < 1.3))
    pick = np.random.default_rng(3).choice(usable, 60, replace=False)
    return [(bool(is_call[i]), float(spot[i]), float(strike[i]), int(chain.days[i]),
             float(iv[i])) for i in pick]


def test_prices_match_quantlib_high_precision_engine(contracts) -> None:
    is_call, s, k, days, vol = (np.array(c) for c in zip(*contracts, strict=True))
    ours = american_price(is_call, s, k, days / 365.0, R, Q, vol)
    for i, (c, s_, k_, d, v) in enumerate(contracts):
        ref = ql_american(c, s_, k_, d, v).NPV()
        assert abs(ours[i] - ref) <= max(0.005, 2e-5 * ref), (c, s_, k_, d, v, ours[i], ref)
    assert (~is_call).sum() > 10 and is_call.sum() > 10


def test_tree_greeks_match_quantlib_finite_differences(contracts) -> None:
    for c, s, k, d, v in contracts[:12]:
        g = american_greeks(c, s, k, d / 365.0, R, Q, v)
        ref = ql_american(c, s, k, d, v, fd=True)
        assert abs(float(g.delta) - ref.delta()) <= 2e-3, (c, s, k, d)
        assert abs(float(g.gamma) - ref.gamma()) <= 0.05 * abs(ref.gamma()) + 1e-5
        # Vega and rho by bumping: compare with bumping QuantLib's accurate engine.
        up = ql_american(c, s, k, d, v + 1e-3).NPV()
        down = ql_american(c, s, k, d, v - 1e-3).NPV()
        assert float(g.vega) == pytest.approx((up - down) / 2e-3, rel=1e-2, abs=0.05)


def test_american_put_is_worth_more_than_european_and_call_without_dividend_is_not() -> None:
    t, s, k, vol = 0.5, 100.0, 110.0, 0.3
    put = american_price(False, s, k, t, 0.05, 0.0, vol)
    assert float(put) > float(bsm_price(False, s, k, t, 0.05, 0.0, vol)) + 0.05
    call = american_price(True, s, 90.0, t, 0.05, 0.0, vol)
    assert float(call) == pytest.approx(float(bsm_price(True, s, 90.0, t, 0.05, 0.0, vol)),
                                        abs=2e-3)
    # Deep in the money with high rates, the put is exercised now: worth exactly K - S.
    deep = american_price(False, 50.0, 100.0, 1.0, 0.10, 0.0, 0.2)
    assert float(deep) == pytest.approx(50.0, abs=1e-9)


def test_implied_vol_recovers_the_volatility_of_quantlib_american_prices(contracts) -> None:
    sample = contracts[:20]
    prices = np.array([ql_american(c, s, k, d, v).NPV() for c, s, k, d, v in sample])
    is_call, s, k, days, vol = (np.array(c) for c in zip(*sample, strict=True))
    res = american_implied_volatility(prices, is_call, s, k, days / 365.0, R, Q)
    assert res.ok.all(), res.counts()
    np.testing.assert_allclose(res.iv, vol, atol=5e-4)


def test_american_iv_reasons() -> None:
    s, k, t = 80.0, 100.0, 1.0
    prices = np.array([19.0, 20.0, 20.5, 0.0])  # below K - S, at it, above it, no bid
    res = american_implied_volatility(prices, False, s, k, t, 0.05, 0.0)
    assert [IVReason(int(x)) for x in res.reason[[0, 1, 3]]] == [
        IVReason.BELOW_INTRINSIC, IVReason.NO_TIME_VALUE, IVReason.NO_PRICE]
    # 20.5 is 0.5 above exercise value: it solves, and its American IV is below the European
    # IV of the same price because part of the price pays for the right to exercise early.
    assert res.ok[2]
    euro = float(implied_volatility(20.5, False, s, k, t, 0.05, 0.0).iv)
    assert res.iv[2] < euro
    repriced = float(american_price(False, s, k, t, 0.05, 0.0, res.iv[2]))
    assert math.isfinite(repriced)
    assert repriced == pytest.approx(20.5, abs=1e-6)
