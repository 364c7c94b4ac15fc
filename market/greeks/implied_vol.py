"""Vectorized implied volatility under Black-Scholes-Merton, to machine precision.

The method follows the structure of Jäckel's "Let's be rational" (2015) in a numpy form:

1. Normalize: with forward F, discount D, ``x = ln(F/K)`` and ``beta = price / (D sqrt(F K))``
   every option becomes an out-of-the-money call in ``(x <= 0, beta)``; an in-the-money quote
   is turned into its out-of-the-money twin by put-call parity (its time value).
2. Start from Jäckel's four-branch rational-cubic guesses (`iv_guess`), typically within
   0.1-5% of the answer.
3. Refine with third-order Householder steps on an objective chosen per region (1/ln b
   below the inflection point, -ln(b_max - b) above it); about two steps per quote reach
   ~1e-12. A bracket kept from the signs of the residuals turns any step that would leave
   it into bisection, so the solver cannot diverge.

Quotes with no implied volatility get NaN and a reason code (`IVReason`), never a number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from market.greeks.bsm import INV_SQRT_2PI, FloatArray, Greeks, as_bool, as_float
from market.greeks.iv_guess import initial_total_vol

MAX_ITERATIONS = 60
BLOCK = 65536
_FINAL_STEP = 1e-3  # after a Householder-3 step this small (relative) the error is ~1e-12
_NOISE_STEP = 1e-9  # a step that stops shrinking below this is rounding noise
_REL_STEP_TOL = 1e-13  # a bracket this narrow (relative) pins s down
_EPS = np.finfo(np.float64).eps


class IVReason(IntEnum):
    """Why an implied volatility is NaN (OK when it is a number). Stable metric labels."""

    OK = 0
    BAD_INPUT = 1  # NaN/inf input, non-positive spot or strike
    EXPIRED = 2  # t <= 0: no time left, no volatility to imply
    NO_PRICE = 3  # price <= 0, e.g. a zero bid
    BELOW_INTRINSIC = 4  # below the European lower bound D * max(F - K, 0) (or put twin)
    NO_TIME_VALUE = 5  # equal to that bound within rounding: any tiny volatility fits
    ABOVE_MAX = 6  # at or above S e^{-qt} (call) or K e^{-rt} (put)
    NOT_CONVERGED = 7  # numerical failure (not seen on real quotes; kept as a safety net)

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class IVResult:
    """Implied volatilities (annualized, NaN where none) and why each NaN is NaN."""

    iv: FloatArray
    reason: NDArray[np.int8]

    @property
    def ok(self) -> NDArray[np.bool_]:
        return self.reason == IVReason.OK

    def counts(self) -> dict[str, int]:
        """How many results per reason label (for metrics and logs)."""
        values, counts = np.unique(self.reason, return_counts=True)
        return {IVReason(int(v)).label: int(c) for v, c in zip(values, counts, strict=True)}


def implied_volatility(price: ArrayLike, is_call: ArrayLike, s: ArrayLike, k: ArrayLike,
                       t: ArrayLike, r: ArrayLike, q: ArrayLike) -> IVResult:
    """Implied volatility of European option prices (all arguments broadcast together).

    ``price`` is the option premium per share (e.g. the NBBO mid); ``t`` is in years;
    ``r`` and ``q`` are continuous rate and dividend yield. See `IVReason` for the NaN cases.
    """
    return _run(price, is_call, s, k, t, r, q, want_greeks=False)[0]


def implied_volatility_and_greeks(price: ArrayLike, is_call: ArrayLike, s: ArrayLike,
                                  k: ArrayLike, t: ArrayLike, r: ArrayLike, q: ArrayLike,
                                  ) -> tuple[IVResult, Greeks]:
    """`implied_volatility` plus the Greeks at that volatility (as `bsm_greeks` gives them),
    reusing the forward, discount and log-moneyness of the solve: a chain in one pass."""
    result, greeks = _run(price, is_call, s, k, t, r, q, want_greeks=True)
    assert greeks is not None
    return result, greeks


def _run(price: ArrayLike, is_call: ArrayLike, s: ArrayLike, k: ArrayLike, t: ArrayLike,
         r: ArrayLike, q: ArrayLike, want_greeks: bool) -> tuple[IVResult, Greeks | None]:
    arrays = np.broadcast_arrays(as_float(price), as_bool(is_call), as_float(s), as_float(k),
                                 as_float(t), as_float(r), as_float(q))
    shape = arrays[0].shape
    flat = [np.ravel(a) for a in arrays]
    n = flat[0].size
    iv = np.empty(n)
    reason = np.empty(n, dtype=np.int8)
    fields = {name: np.full(n, np.nan) for name in Greeks.__slots__} if want_greeks else {}
    # Blocks bound the memory of the temporaries on very large inputs (speed is the same).
    for start in range(0, n, BLOCK):
        block = slice(start, start + BLOCK)
        iv[block], reason[block], greeks = _solve_block(*(a[block] for a in flat),
                                                        want_greeks=want_greeks)
        for name, values in greeks.items():
            fields[name][block] = values
    result = IVResult(iv.reshape(shape), reason.reshape(shape))
    if not want_greeks:
        return result, None
    return result, Greeks(**{name: a.reshape(shape) for name, a in fields.items()})


def _solve_block(p: FloatArray, call: NDArray[np.bool_], s: FloatArray, k: FloatArray,
                 t: FloatArray, r: FloatArray, q: FloatArray, *, want_greeks: bool,
                 ) -> tuple[FloatArray, NDArray[np.int8], dict[str, FloatArray]]:
    reason = np.zeros(p.size, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        finite = (np.isfinite(p) & np.isfinite(s) & np.isfinite(k) & np.isfinite(t)
                  & np.isfinite(r) & np.isfinite(q))
        reason[~finite | ~(s > 0) | ~(k > 0)] = IVReason.BAD_INPUT
        reason[(reason == 0) & (t <= 0)] = IVReason.EXPIRED
        reason[(reason == 0) & (p <= 0)] = IVReason.NO_PRICE
    iv = np.full(p.size, np.nan)
    idx = np.flatnonzero(reason == 0)
    if idx.size == 0:
        return iv, reason, {}
    subset = idx.size < p.size
    if subset:
        call = call[idx]
        p, s, k, t, r, q = (a[idx] for a in (p, s, k, t, r, q))
    disc = np.exp(-r * t)
    fwd = s * np.exp((r - q) * t)
    beta = p / (disc * np.sqrt(fwd * k))
    x = np.log(fwd / k)
    in_the_money = np.where(call, x > 0, x < 0)
    ax = np.abs(x)
    # The out-of-the-money twin's price, by put-call parity.
    beta_otm = np.where(in_the_money, beta - 2.0 * np.sinh(0.5 * ax), beta)
    xr = -ax
    noise = 16.0 * _EPS * beta
    sub = np.zeros(idx.size, dtype=np.int8)
    sub[beta_otm < -noise] = IVReason.BELOW_INTRINSIC
    sub[(sub == 0) & (beta_otm <= noise)] = IVReason.NO_TIME_VALUE
    sub[(sub == 0) & (beta_otm >= np.exp(0.5 * xr))] = IVReason.ABOVE_MAX
    solve = np.flatnonzero(sub == 0)
    total_vol, converged = _normalized_implied_vol(xr[solve], beta_otm[solve])
    sqrt_t = np.sqrt(t)
    sub_iv = np.full(idx.size, np.nan)
    sub_iv[solve] = np.where(converged, total_vol / sqrt_t[solve], np.nan)
    sub[solve[~converged]] = IVReason.NOT_CONVERGED
    iv[idx] = sub_iv
    reason[idx] = sub
    if not want_greeks:
        return iv, reason, {}
    greeks = _greeks(call, s, k, t, r, q, sub_iv, sqrt_t, disc, fwd, x)
    if subset:
        for name, values in greeks.items():
            full = np.full(reason.size, np.nan)
            full[idx] = values
            greeks[name] = full
    return iv, reason, greeks


def _greeks(call: NDArray[np.bool_], s: FloatArray, k: FloatArray, t: FloatArray,
            r: FloatArray, q: FloatArray, sigma: FloatArray, sqrt_t: FloatArray,
            disc: FloatArray, fwd: FloatArray, x: FloatArray) -> dict[str, FloatArray]:
    """`bsm_greeks` from the solve's own forward, discount and log-moneyness (NaN sigma gives
    NaN Greeks)."""
    sd = sigma * sqrt_t
    d1 = x / sd + 0.5 * sd
    sign = np.where(call, 1.0, -1.0)
    nd1 = ndtr(sign * d1)
    nd2 = ndtr(sign * (d1 - sd))
    pdf1 = INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    s_div = fwd * disc  # S e^{-qt}
    k_disc = k * disc
    return {
        "price": sign * (s_div * nd1 - k_disc * nd2),
        "delta": sign * (s_div / s) * nd1,
        "gamma": s_div * pdf1 / (s * s * sd),
        "theta": -0.5 * s_div * pdf1 * sigma / sqrt_t + sign * (q * s_div * nd1
                                                                - r * k_disc * nd2),
        "vega": s_div * pdf1 * sqrt_t,
        "rho": sign * k_disc * t * nd2,
    }


def _derivative_ratios(x: FloatArray, s: FloatArray,
                       ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """h = x/s, s/2, b'(s) and the ratios b''/b', b'''/b' (closed forms, no special function)."""
    h = x / s
    half = 0.5 * s
    h_sq = h * h
    vega = INV_SQRT_2PI * np.exp(-0.5 * (h_sq + half * half))
    r2 = h_sq / s - 0.25 * s
    r3 = r2 * r2 - 3.0 * h_sq / (s * s) - 0.25
    return h, half, vega, r2, r3


def _householder(nu: FloatArray, h2: FloatArray, h3: FloatArray) -> FloatArray:
    return nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu / 6.0))


def _lower_step(x: FloatArray, log_beta: FloatArray, s: FloatArray,
                ) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Householder-3 step on f = 1/ln b - 1/ln beta (nearly linear below the inflection)."""
    h, half, vega, r2, r3 = _derivative_ratios(x, s)
    e_half = np.exp(0.5 * x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = e_half * ndtr(h + half) - ndtr(h - half) / e_half
        log_b = np.log(b)
        nu = (b / vega) * (log_b / log_beta) * (log_beta - log_b)
        g2 = -(log_b + 2.0) / (b * log_b) * vega
        g3 = (2.0 * log_b * log_b + 6.0 * log_b + 6.0) / (b * b * log_b * log_b) * vega * vega
        step = _householder(nu, g2 + r2, g3 + 3.0 * g2 * r2 + r3)
    return step, log_b < log_beta


def _upper_step(x: FloatArray, log_gap_beta: FloatArray, s: FloatArray,
                ) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Householder-3 step on f = ln(b_max - beta) - ln(b_max - b), b_max - b computed directly."""
    h, half, vega, r2, r3 = _derivative_ratios(x, s)
    e_half = np.exp(0.5 * x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gap = e_half * ndtr(-(h + half)) + ndtr(h - half) / e_half
        log_gap = np.log(gap)
        nu = (log_gap - log_gap_beta) * gap / vega
        k2 = vega / gap
        step = _householder(nu, k2 + r2, 2.0 * k2 * k2 + 3.0 * k2 * r2 + r3)
    return step, log_gap > log_gap_beta


def _normalized_implied_vol(x: FloatArray, beta: FloatArray,
                            ) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Total volatility s with b(x, s) = beta for x <= 0 and 0 < beta < e^{x/2}."""
    s, b_c = initial_total_vol(x, beta)
    lower = beta < b_c
    converged = np.zeros(s.size, dtype=np.bool_)
    upper = ~lower
    regions: tuple[tuple[NDArray[np.bool_], StepFn, FloatArray], ...] = (
        (lower, _lower_step, np.log(beta[lower])),
        (upper, _upper_step, np.log(np.exp(0.5 * x[upper]) - beta[upper])),
    )
    for region, step_fn, target in regions:
        where = np.flatnonzero(region)
        if where.size:
            s[where], converged[where] = _solve(step_fn, x[where], target, s[where])
    return s, converged


StepFn = Callable[[FloatArray, FloatArray, FloatArray], tuple[FloatArray, NDArray[np.bool_]]]


def _solve(step_fn: StepFn, x: FloatArray, target: FloatArray, s: FloatArray,
           ) -> tuple[FloatArray, NDArray[np.bool_]]:
    """Iterate `step_fn` on the still-unconverged entries, inside a bracket kept from signs.

    The working arrays hold only the unconverged entries and are compacted when some finish,
    so no iteration gathers from or scatters to the full arrays.
    """
    out = s.copy()
    converged = np.zeros(s.size, dtype=np.bool_)
    ids: NDArray[np.intp] = np.arange(s.size)
    xa, ta, sa = x, target, s
    lo: FloatArray = np.zeros(s.size)
    hi: FloatArray = np.full(s.size, np.inf)
    last: FloatArray = np.full(s.size, np.inf)
    for _ in range(MAX_ITERATIONS):
        step, too_low = step_fn(xa, ta, sa)
        lo = np.where(too_low, np.maximum(lo, sa), lo)
        hi = np.where(too_low, hi, np.minimum(hi, sa))
        proposal = sa + step
        inside = np.isfinite(proposal) & (proposal > lo) & (proposal < hi)
        fallback = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * sa)
        exact = step == 0.0
        new_s = np.where(exact, sa, np.where(inside, proposal, fallback))
        size = np.abs(step)
        # A quartic step of relative size d leaves an error of order d^4 (1e-12 at d = 1e-3,
        # checked against QuantLib in the tests). A step that stops shrinking is rounding noise.
        small = size <= _FINAL_STEP * new_s
        stalled = (size >= last) & (size <= _NOISE_STEP * new_s)
        done = exact | (inside & (small | stalled)) | (hi - lo <= _REL_STEP_TOL * new_s)
        out[ids] = new_s
        if done.all():
            converged[ids] = True
            break
        if done.any():
            converged[ids[done]] = True
            keep = ~done
            ids, xa, ta, new_s, lo, hi, size = (a[keep] for a in (ids, xa, ta, new_s, lo, hi,
                                                                   size))
        sa, last = new_s, size
    return out, converged
