"""The compiled IV + Greeks kernel: its special functions, its edge cases, and QuantLib.

QuantLib prices the synthetic quotes (BlackCalculator, an independent implementation) and
gives the reference Greeks; scipy gives the reference error functions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import QuantLib as ql
from scipy.special import erf, erfcx, ndtr

from market.greeks import IVReason, fused, implied_volatility, implied_volatility_and_greeks
from market.greeks.normal import approx_inverse_cdf, erf_small, norm_cdf
from market.greeks.normal import erfcx as kernel_erfcx

MINUTE = 1.0 / (365.0 * 24 * 60)


def test_error_functions_match_scipy_to_the_last_bits() -> None:
    u = np.linspace(0.46875, 40.0, 40_001)
    ours = np.array([kernel_erfcx(v) for v in u])
    assert np.abs(ours / erfcx(u) - 1).max() < 2e-15
    u = np.linspace(-0.46875, 0.46875, 4_001)
    u = u[u != 0]
    ours = np.array([erf_small(v) for v in u])
    assert np.abs(ours / erf(u) - 1).max() < 1e-15
    z = np.linspace(-20.0, 8.0, 28_001)
    ours = np.array([norm_cdf(v) for v in z])
    # exp(-z^2/2) carries a relative error of ~eps z^2 in any implementation (scipy's too).
    assert np.abs(ours / ndtr(z) - 1).max() < 2e-13


def test_guess_inverse_normal_is_within_its_stated_accuracy() -> None:
    from scipy.special import ndtri

    p = np.concatenate([np.geomspace(1e-300, 0.5, 2000), np.linspace(0.5, 1 - 1e-12, 2000)])
    ours = np.array([approx_inverse_cdf(v) for v in p])
    assert np.abs(ours - ndtri(p)).max() < 4.6e-4


def test_reason_codes_are_the_kernels() -> None:
    for reason in IVReason:
        assert getattr(fused, reason.name) == reason.value


def _ql_price(
    is_call: bool, s: float, k: float, t: float, r: float, q: float, sigma: float
) -> ql.BlackCalculator:
    right = ql.Option.Call if is_call else ql.Option.Put
    fwd = s * math.exp((r - q) * t)
    return ql.BlackCalculator(
        ql.PlainVanillaPayoff(right, k), fwd, sigma * math.sqrt(t), math.exp(-r * t)
    )


def test_zero_dte_minutes_deep_itm_and_otm_against_quantlib() -> None:
    """Minutes to expiry up to two years, strikes from half to double the spot, calls and
    puts with a dividend yield: QuantLib prices, we recover the volatility to 1e-10 wherever
    the time value is at least $0.05 and fill Greeks equal to QuantLib's at that volatility."""
    s, r, q = 100.0, 0.03, 0.02
    rows = []
    for years in (5 * MINUTE, 30 * MINUTE, 120 * MINUTE, 1 / 365, 30 / 365, 2.0):
        fwd = s * math.exp((r - q) * years)
        for strike in (
            50.0,
            80.0,
            95.0,
            99.0,
            99.5,
            99.9,
            fwd,
            100.1,
            100.5,
            101.0,
            105.0,
            125.0,
            200.0,
        ):
            for vol in (0.05, 0.3, 1.5):
                for call in (True, False):
                    rows.append((call, strike, years, vol))
    is_call = np.array([row[0] for row in rows])
    k = np.array([row[1] for row in rows])
    t = np.array([row[2] for row in rows])
    sigma = np.array([row[3] for row in rows])
    calcs = [
        _ql_price(bool(c), s, float(kk), float(tt), r, q, float(v))
        for c, kk, tt, v in zip(is_call, k, t, sigma, strict=True)
    ]
    price = np.array([c.value() for c in calcs])
    forwards = s * np.exp((r - q) * t)
    intrinsic = np.where(is_call, np.maximum(forwards - k, 0), np.maximum(k - forwards, 0))
    time_value = price - intrinsic * np.exp(-r * t)
    res, g = implied_volatility_and_greeks(price, is_call, s, k, t, r, q)
    identifiable = time_value >= 0.05
    assert identifiable.sum() > 100
    assert (t[identifiable] < 1 / 365).sum() >= 20  # 0DTE minutes are in the checked set
    assert res.ok[identifiable].all()
    assert np.abs(res.iv - sigma)[identifiable].max() <= 1e-10
    # Below $0.05 of time value QuantLib's own prices carry rounding larger than the time
    # value (1e-13 on a 5-minute option), so no IV can be checked; a number still reprices.
    solved = res.ok & ~identifiable
    assert solved.any()
    assert np.abs(g.price - price)[solved].max() <= 1e-12
    assert set(np.unique(res.reason[~res.ok])) <= {IVReason.NO_TIME_VALUE, IVReason.NO_PRICE}
    for i in np.flatnonzero(identifiable):
        c = _ql_price(bool(is_call[i]), s, float(k[i]), float(t[i]), r, q, float(res.iv[i]))
        expected = (c.value(), c.delta(s), c.gamma(s), c.theta(s, t[i]), c.vega(t[i]), c.rho(t[i]))
        got = (g.price[i], g.delta[i], g.gamma[i], g.theta[i], g.vega[i], g.rho[i])
        for a, b in zip(got, expected, strict=True):
            assert abs(a - b) <= 1e-8 * max(1.0, abs(b)), (i, a, b)


def test_unsolvable_quotes_get_nan_greeks_with_their_reason() -> None:
    s, k, t, r, q = 100.0, 100.0, 0.25, 0.03, 0.0
    disc = math.exp(-r * t)
    put_floor = k * disc - 60.0 * math.exp(-q * t)  # deep ITM put at S = 60
    cases = [
        (0.0, True, s, k, IVReason.NO_PRICE),  # a zero bid's mid
        (put_floor - 0.01, False, 60.0, k, IVReason.BELOW_INTRINSIC),
        (put_floor, False, 60.0, k, IVReason.NO_TIME_VALUE),
        (s, True, s, k, IVReason.ABOVE_MAX),
        (float("inf"), True, s, k, IVReason.BAD_INPUT),
        (3.0, True, s, 0.0, IVReason.BAD_INPUT),
        (3.0, True, s, k, IVReason.OK),
    ]
    price, is_call, spot, strike, expected = (np.array(c) for c in zip(*cases, strict=True))
    res, g = implied_volatility_and_greeks(
        price.astype(float), is_call.astype(bool), spot.astype(float), strike.astype(float), t, r, q
    )
    assert [IVReason(int(v)) for v in res.reason] == list(expected)
    bad = ~res.ok
    assert np.isnan(res.iv[bad]).all()
    for name in ("price", "delta", "gamma", "theta", "vega", "rho"):
        values = getattr(g, name)
        assert np.isnan(values[bad]).all(), name
        assert np.isfinite(values[~bad]).all(), name
    assert g.price[-1] == pytest.approx(3.0, abs=1e-12)


def test_shared_and_per_option_rates_agree_and_inputs_are_not_touched() -> None:
    rng = np.random.default_rng(3)
    n = 200
    k = rng.uniform(60, 140, n)
    price = rng.uniform(0.5, 20, n)
    is_call = rng.random(n) < 0.5
    t = rng.uniform(1 / 365, 1.0, n)
    frozen = [a.copy() for a in (price, k, t)]
    for a in (price, k, t):
        a.flags.writeable = False  # e.g. arrays handed out by pandas
    shared = implied_volatility(price, is_call, 100.0, k, t, 0.03, 0.01)
    per_option = implied_volatility(
        price, is_call, np.full(n, 100.0), k, t, np.full(n, 0.03), np.full(n, 0.01)
    )
    np.testing.assert_array_equal(shared.iv, per_option.iv)
    np.testing.assert_array_equal(shared.reason, per_option.reason)
    for a, b in zip((price, k, t), frozen, strict=True):
        np.testing.assert_array_equal(a, b)
    grid = implied_volatility(
        price.reshape(20, 10),
        is_call.reshape(20, 10),
        100.0,
        k.reshape(20, 10),
        t.reshape(20, 10),
        0.03,
        0.01,
    )
    np.testing.assert_array_equal(grid.iv.ravel(), shared.iv)
    empty = implied_volatility(np.empty(0), True, 100.0, 100.0, 0.5, 0.03, 0.0)
    assert empty.iv.shape == (0,)


def test_warm_up_loads_the_kernel_and_checks_a_known_quote() -> None:
    from market.greeks import warm_up
    from market.greeks.implied_vol import _kernel

    assert warm_up() == pytest.approx(0.2, abs=1e-14)
    assert _kernel.cache_info().currsize == 1  # the compiled loop is loaded and kept


def test_tabulated_guess_anchors_match_direct_evaluation() -> None:
    """The x-only points of Jäckel's upper guess come from a table inside |x| < 18 and are
    computed directly outside it; both agree with a direct normalized call."""
    from market.greeks.iv_guess import _anchor, normalized_call

    rng = np.random.default_rng(11)
    for s_c in np.concatenate([rng.uniform(1 / 32, 6.0, 2000), [0.01, 0.02, 6.5, 7.0]]):
        x = -0.5 * s_c * s_c
        eh = math.exp(0.5 * x)
        v_c = eh / math.sqrt(2 * math.pi)
        b_c = 0.5 * eh - float(ndtr(-s_c)) / eh
        s_u = s_c + (eh - b_c) / v_c
        b, v = _anchor(0, x, eh, 1 / eh, s_u, s_c, eh, v_c)
        b_ref, v_ref = normalized_call(x, eh, 1 / eh, s_u)
        assert abs(b / b_ref - 1) <= 1e-6, s_c
        assert abs(v / v_ref - 1) <= 1e-6, s_c


def test_tabulated_inflection_prices_match_scipy() -> None:
    """b_c (which picks the solver's objective) and ln b_c (which scales the lower table's
    argument; 1e-4 there moves the guess by less than 1e-4) agree with scipy's ndtr."""
    from market.greeks.iv_guess import _LOWER_AUX, _LOWER_STEP, _LOWER_U0

    rng = np.random.default_rng(12)
    for s_c in rng.uniform(1 / 32, 5.99, 2000):
        x = -0.5 * s_c * s_c
        eh = math.exp(0.5 * x)
        b_c = 0.5 * eh - float(ndtr(-s_c)) / eh
        pos = (math.sqrt(s_c) - _LOWER_U0) / _LOWER_STEP
        i, w = int(pos), pos - int(pos)
        log_bc, ratio = _LOWER_AUX[i] + w * (_LOWER_AUX[i + 1] - _LOWER_AUX[i])
        assert ratio == pytest.approx(b_c / eh, rel=1e-4)
        assert log_bc + 0.5 * x == pytest.approx(math.log(b_c), abs=1.5e-4)


def test_guess_below_the_inflection_point_is_close_enough_for_one_solver_step() -> None:
    """Below the inflection point the tabulated guess is within 2e-3 of the root (Jäckel's
    lowest branch was up to ~9% high), so one quartic step reaches machine precision there;
    outside the table (|x| < 5e-4 or > 18) Jäckel's branches give a guess below s_c."""
    from market.greeks.iv_guess import initial_total_vol, normalized_call

    rng = np.random.default_rng(13)
    worst = 0.0
    for s_c in np.concatenate([rng.uniform(1 / 32, 6.0, 400), [1 / 32, 5.999]]):
        x = -0.5 * s_c * s_c
        eh = math.exp(0.5 * x)
        for s in np.concatenate([rng.uniform(0.005, 0.999, 40), [1e-3, 0.999]]) * s_c:
            beta, _ = normalized_call(x, eh, 1 / eh, s)
            if beta == 0.0:  # underflow: the kernel reports NO_TIME_VALUE before guessing
                continue
            guess, lower, target = initial_total_vol(x, eh, 1 / eh, beta)
            assert lower
            assert target == pytest.approx(math.log(beta), rel=1e-15, abs=1e-16)
            worst = max(worst, abs(guess / s - 1))
    assert worst < 2e-3
    for s_c in (0.001, 0.03, 6.01, 7.0):
        x = -0.5 * s_c * s_c
        eh = math.exp(0.5 * x)
        for s in (0.05 * s_c, 0.5 * s_c, 0.95 * s_c):
            beta, _ = normalized_call(x, eh, 1 / eh, s)
            if beta == 0.0:
                continue
            guess, lower, _ = initial_total_vol(x, eh, 1 / eh, beta)
            assert lower
            assert 0.0 < guess <= s_c
            assert abs(guess / s - 1) < 0.1, (s_c, s)
