"""Total volatility of one normalized out-of-the-money call, to machine precision (numba).

Third-order Householder steps on Jäckel's objectives: ``1/ln b`` below the inflection point
(nearly linear there) and ``-ln(b_max - b)`` above it, with ``b_max - b`` computed directly
rather than by subtraction. A bracket kept from the signs of the residuals turns any step that
would leave it into bisection, so the iteration cannot diverge. Each step costs one log, two
rational erfcx (see `normal`) and two divisions, plus an exp when a Phi argument is near 0.
"""

from __future__ import annotations

import math

from numba import njit

from market.greeks.logexp import fast_exp, fast_log
from market.greeks.normal import (
    CDF_SMALL,
    INLINE,
    JIT,
    LN_SQRT_2PI,
    SQRT_HALF,
    SQRT_HALF_PI,
    erfcx,
    scaled_cdf,
)

MAX_ITERATIONS = 60
FINAL_STEP = 2e-3  # after a Householder-3 step this small (relative) the error is <1e-12
NOISE_STEP = 1e-9  # a step that stops shrinking below this is rounding noise
REL_BRACKET = 1e-13  # a bracket this narrow (relative) pins s down


@njit(**INLINE)
def _householder(nu: float, h2: float, h3: float) -> float:
    return nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu / 6.0))


@njit(**INLINE)
def _ratio_and_log(
    h: float, half: float, eh: float, inv_eh: float, upper: bool
) -> tuple[float, float]:
    """(b / vega, ln b) of the normalized call at h = x/s, half = s/2 (or of b_max - b when
    `upper`). In the tails both Phi terms are sqrt(pi/2) vega erfcx(.), so the ratio needs no
    exp at all and ln b = ln(ratio) + ln(vega) with ln(vega) in closed form."""
    z_hi = -(h + half) if upper else h + half
    z_lo = h - half
    log_vega = -0.5 * (h * h + half * half) - LN_SQRT_2PI
    if z_hi < -CDF_SMALL and z_lo < -CDF_SMALL:
        a = erfcx(-z_hi * SQRT_HALF)
        c = erfcx(-z_lo * SQRT_HALF)
        ratio = SQRT_HALF_PI * (a + c if upper else a - c)
        return ratio, fast_log(ratio) + log_vega
    vega = fast_exp(log_vega)
    value = scaled_cdf(z_hi, vega, eh)
    other = scaled_cdf(z_lo, vega, inv_eh)
    value = value + other if upper else value - other
    return value / vega, fast_log(value)


@njit(**INLINE)
def _lower_step(
    x: float, eh: float, inv_eh: float, log_beta: float, inv_log_beta: float, s: float
) -> tuple[float, bool]:
    """Householder-3 step on f = 1/ln b - 1/ln beta, and whether s is below the root."""
    inv_s = 1.0 / s
    h = x * inv_s
    half = 0.5 * s
    h_sq = h * h
    ratio, log_b = _ratio_and_log(h, half, eh, inv_eh, False)
    if not ratio > 0.0:  # rounded away (far below the root): bisect upwards
        return math.nan, True
    r2 = h_sq * inv_s - 0.25 * s
    r3 = r2 * r2 - 3.0 * h_sq * inv_s * inv_s - 0.25
    # With A = b ln b / vega, the Newton step is nu = e A (e the relative residual in ln b) and
    # the objective's h2 = p / A, h3 = q / A^2 with p and q polynomials in ln b: the Householder
    # ratio nu (1 + h2 nu / 2) / (1 + nu (h2 + h3 nu / 6)) then needs a single division.
    big_a = ratio * log_b
    e = (log_beta - log_b) * inv_log_beta
    p = r2 * big_a - (log_b + 2.0)
    q = ((2.0 * log_b + 6.0) * log_b + 6.0) - 3.0 * (log_b + 2.0) * r2 * big_a + r3 * big_a * big_a
    pe = p * e
    step = e * big_a * (1.0 + 0.5 * pe) / (1.0 + pe + q * e * e * (1.0 / 6.0))
    return step, log_b < log_beta


@njit(**JIT)  # 5% of quotes: a call keeps the inlined loop (and its compile time) smaller
def _upper_step(
    x: float, eh: float, inv_eh: float, log_gap_beta: float, s: float
) -> tuple[float, bool]:
    """Householder-3 step on f = ln(b_max - beta) - ln(b_max - b), and whether s is below
    the root."""
    inv_s = 1.0 / s
    h = x * inv_s
    half = 0.5 * s
    h_sq = h * h
    ratio, log_gap = _ratio_and_log(h, half, eh, inv_eh, True)
    r2 = h_sq * inv_s - 0.25 * s
    r3 = r2 * r2 - 3.0 * h_sq * inv_s * inv_s - 0.25
    k2 = 1.0 / ratio
    nu = (log_gap - log_gap_beta) * ratio
    return (_householder(nu, k2 + r2, 2.0 * k2 * k2 + 3.0 * k2 * r2 + r3), log_gap > log_gap_beta)


@njit(**INLINE)
def total_vol(
    x: float,
    eh: float,
    inv_eh: float,
    target: float,
    s: float,
    lower: bool,
) -> tuple[float, bool]:
    """Refine the guess `s` of b(x, s) = beta (x <= 0, eh = e^{x/2}); (s, converged).
    `target` is the objective's ln(beta) (`lower`) or ln(eh - beta), as the guess gives it."""
    inv_target = 1.0 / target
    lo = 0.0
    hi = math.inf
    last = math.inf
    for _ in range(MAX_ITERATIONS):
        if lower:
            step, too_low = _lower_step(x, eh, inv_eh, target, inv_target, s)
        else:
            step, too_low = _upper_step(x, eh, inv_eh, target, s)
        if too_low:
            lo = max(lo, s)
        else:
            hi = min(hi, s)
        proposal = s + step
        inside = lo < proposal < hi  # False for NaN
        exact = step == 0.0
        if exact:
            new_s = s
        elif inside:
            new_s = proposal
        elif hi < math.inf:
            new_s = 0.5 * (lo + hi)
        else:
            new_s = 2.0 * s
        size = abs(step)
        # A quartic step of relative size d leaves an error of order d^4 (1e-12 at d = 1e-3,
        # checked against QuantLib in the tests). A step that stops shrinking is rounding noise.
        small = size <= FINAL_STEP * new_s
        stalled = size >= last and size <= NOISE_STEP * new_s
        s = new_s
        if exact or (inside and (small or stalled)) or hi - lo <= REL_BRACKET * new_s:
            return s, True
        last = size
    return s, False
