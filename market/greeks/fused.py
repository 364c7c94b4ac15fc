"""The compiled per-option loop: validate, normalize, solve the IV, fill the Greeks (numba).

One pass over the quotes, one option at a time, nothing allocated inside: the only costs left
are the special functions (1 exp + 1 log + 2 sqrt to normalize, 1 log + 3 sqrt and a table for
the guess, 1 log per Householder step plus an exp near the money, 1 exp for the Greeks; Phi
itself is rational, see `normal`; log and exp are inlined, see `logexp`), and the helpers are
inlined by numba (`normal.INLINE`). Single-threaded on purpose: the daemon owns its cores, and
figures are per core.

Inputs are 1-d arrays of length n, or of length 1 for a value shared by every option (a rate,
a dividend yield), so scalars are never copied out to n.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from market.greeks.iv_guess import initial_total_vol
from market.greeks.logexp import fast_exp, fast_log
from market.greeks.normal import INLINE, INV_SQRT_2PI, JIT, scaled_cdf
from market.greeks.solver import total_vol

# IVReason codes (kept equal to implied_vol.IVReason; a test checks they match).
OK = 0
BAD_INPUT = 1
EXPIRED = 2
NO_PRICE = 3
BELOW_INTRINSIC = 4
NO_TIME_VALUE = 5
ABOVE_MAX = 6
NOT_CONVERGED = 7

_NOISE = 16.0 * 2.220446049250313e-16


@njit(**INLINE)
def _precheck(p: float, s: float, k: float, t: float, r: float, q: float) -> int:
    finite = (
        math.isfinite(p)
        and math.isfinite(s)
        and math.isfinite(k)
        and math.isfinite(t)
        and math.isfinite(r)
        and math.isfinite(q)
    )
    if not (finite and s > 0.0 and k > 0.0):
        return BAD_INPUT
    if t <= 0.0:
        return EXPIRED
    if p <= 0.0:
        return NO_PRICE
    return OK


@njit(**INLINE)
def _total_vol(
    p: float, call: bool, fwd: float, k: float, inv_disc: float, x: float, inv_root: float
) -> tuple[float, int, float]:
    """Total volatility sigma sqrt(t) of one quote (or NaN) with its reason code, and the
    normalized time value beta = (price - intrinsic) / (D sqrt(F K))."""
    beta = p * inv_root * inv_disc
    # e^{-|x|/2} (the largest normalized price b_max) and its inverse, from the same root.
    # Written with min/max rather than branches on the moneyness, which is random from one
    # quote to the next (a mispredicted branch costs about as much as a division).
    eh = min(fwd, k) * inv_root
    inv_eh = max(fwd, k) * inv_root
    # An in-the-money quote becomes its out-of-the-money twin by put-call parity: minus the
    # normalized intrinsic value |F - K| / sqrt(F K) = 2 sinh(|x|/2) (zero out of the money).
    sign = 2.0 * call - 1.0
    beta_otm = beta - max(sign * (fwd - k), 0.0) * inv_root
    noise = _NOISE * beta
    if beta_otm < -noise:
        return math.nan, BELOW_INTRINSIC, beta_otm
    if beta_otm <= noise:
        return math.nan, NO_TIME_VALUE, beta_otm
    if beta_otm >= eh - noise:  # at the upper bound within rounding: any huge volatility fits
        return math.nan, ABOVE_MAX, beta_otm
    xr = -abs(x)
    guess, lower, target = initial_total_vol(xr, eh, inv_eh, beta_otm)
    sd, converged = total_vol(xr, eh, inv_eh, target, guess, lower)
    if not converged:
        return math.nan, NOT_CONVERGED, beta_otm
    return sd, OK, beta_otm


@njit(**INLINE)
def _greeks(
    out: np.ndarray,
    i: int,
    call: bool,
    s: float,
    k: float,
    t: float,
    r: float,
    q: float,
    fwd: float,
    disc: float,
    x: float,
    sd: float,
    beta_otm: float,
    root: float,
    inv_root: float,
    sqrt_t: float,
    inv_sqrt_t: float,
) -> None:
    """Price and the five Greeks (QuantLib's units: theta per year, vega and rho per 1.00).

    From the solve's normalized terms: with h = -|x|/sd and the out-of-the-money call
    beta = e^{-|x|/2} Phi(h + sd/2) - e^{|x|/2} Phi(h - sd/2), one Phi is computed and the
    other follows from beta (no cancellation: the second term is the smaller one)."""
    eh = min(fwd, k) * inv_root
    inv_eh = max(fwd, k) * inv_root
    inv_sd = 1.0 / sd
    h = -abs(x) * inv_sd
    half = 0.5 * sd
    vega_n = INV_SQRT_2PI * fast_exp(-0.5 * (h * h + half * half))
    upper = scaled_cdf(h + half, vega_n, eh)  # e^{-|x|/2} Phi(h + sd/2)
    cdf_hi = upper * inv_eh  # Phi(h + sd/2)
    cdf_lo = max(upper - beta_otm, 0.0) * eh  # Phi(h - sd/2)
    # x <= 0: d1 = h + sd/2, d2 = h - sd/2. x > 0: d1 = -(h - sd/2), d2 = -(h + sd/2), so
    # these are N(-d1), N(-d2). A call then needs N(d), a put N(-d): complement when they differ.
    # Selected by 0/1 weights (exact: one product is zero), not by branches.
    swap = 1.0 * (x > 0.0)
    c1 = swap * cdf_lo + (1.0 - swap) * cdf_hi
    c2 = swap * cdf_hi + (1.0 - swap) * cdf_lo
    flip = 1.0 * ((x > 0.0) == call)
    c1 = flip * (1.0 - c1) + (1.0 - flip) * c1
    c2 = flip * (1.0 - c2) + (1.0 - flip) * c2
    sign = 2.0 * call - 1.0
    dens = disc * root * vega_n  # S e^{-qt} phi(d1) = D sqrt(F K) vega_n
    s_div = fwd * disc  # S e^{-qt}
    k_disc = k * disc
    out[0, i] = sign * (s_div * c1 - k_disc * c2)
    inv_s = 1.0 / s
    out[1, i] = sign * s_div * inv_s * c1
    out[2, i] = dens * inv_s * inv_s * inv_sd
    out[3, i] = -0.5 * dens * sd * inv_sqrt_t * inv_sqrt_t + sign * (
        q * s_div * c1 - r * k_disc * c2
    )
    out[4, i] = dens * sqrt_t
    out[5, i] = sign * k_disc * t * c2


@njit(**JIT)
def solve(
    price: np.ndarray,
    is_call: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    years: np.ndarray,
    rate: np.ndarray,
    div: np.ndarray,
    iv: np.ndarray,
    reason: np.ndarray,
    greeks: np.ndarray,
) -> None:
    """Fill iv, reason and (when `greeks` has n columns) greeks[0..5] = price, delta, gamma,
    theta, vega, rho. Entries with no IV get NaN Greeks."""
    n = iv.size
    want = greeks.shape[1] == n
    steps = (
        price.size > 1,
        is_call.size > 1,
        spot.size > 1,
        strike.size > 1,
        years.size > 1,
        rate.size > 1,
        div.size > 1,
    )
    for i in range(n):
        p = price[i if steps[0] else 0]
        call = is_call[i if steps[1] else 0]
        s = spot[i if steps[2] else 0]
        k = strike[i if steps[3] else 0]
        t = years[i if steps[4] else 0]
        r = rate[i if steps[5] else 0]
        q = div[i if steps[6] else 0]
        code = _precheck(p, s, k, t, r, q)
        if code != OK:
            reason[i] = code
            iv[i] = math.nan
            if want:
                for j in range(6):
                    greeks[j, i] = math.nan
            continue
        # Independent of the solve, so the processor overlaps them with it.
        sqrt_t = math.sqrt(t)
        inv_sqrt_t = 1.0 / sqrt_t
        inv_disc = fast_exp(r * t)
        disc = 1.0 / inv_disc
        fwd = s * inv_disc if q == 0.0 else s * fast_exp((r - q) * t)
        x = fast_log(fwd / k)
        root = math.sqrt(fwd * k)
        inv_root = 1.0 / root
        sd, code, beta_otm = _total_vol(p, call, fwd, k, inv_disc, x, inv_root)
        reason[i] = code
        if code != OK:
            iv[i] = math.nan
            if want:
                for j in range(6):
                    greeks[j, i] = math.nan
            continue
        iv[i] = sd * inv_sqrt_t
        if want:
            _greeks(
                greeks,
                i,
                call,
                s,
                k,
                t,
                r,
                q,
                fwd,
                disc,
                x,
                sd,
                beta_otm,
                root,
                inv_root,
                sqrt_t,
                inv_sqrt_t,
            )
