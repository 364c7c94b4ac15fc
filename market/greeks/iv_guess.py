"""Initial guesses for the implied-volatility solver (Jäckel, "Let's be rational", 2015, §4-5).

In normalized terms (an out-of-the-money call, ``x = ln(F/K) <= 0``, price ``beta`` in units of
``sqrt(F K)`` discounted), total volatility ``s`` is found from four branches split at the
inflection point ``s_c = sqrt(2|x|)`` and at the two points where its tangent reaches 0 and
``b_max``. Each branch interpolates a smooth map of ``beta`` with a shape-preserving rational
cubic (Delbourgo-Gregory), so the guess is already within ~1e-3 and one or two Householder
steps finish the job. Written from the paper's formulas; vectorized with masks.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from market.greeks.bsm import INV_SQRT_2PI, FloatArray

_EPS = float(np.finfo(np.float64).eps)
_R_MIN = -(1.0 - np.sqrt(_EPS))
_R_MAX = 2.0 / (_EPS * _EPS)
_SQRT3 = float(np.sqrt(3.0))
_LOWER_SCALE = 2.0 * np.pi / np.sqrt(27.0)
_SQRT_PI_OVER_2 = float(np.sqrt(np.pi / 2.0))


def normalized_call(x: FloatArray, s: FloatArray) -> FloatArray:
    """b(x, s) = e^{x/2} N(x/s + s/2) - e^{-x/2} N(x/s - s/2): a call in forward units."""
    h = x / s
    half = 0.5 * s
    e_half = np.exp(0.5 * x)
    return e_half * ndtr(h + half) - ndtr(h - half) / e_half


def normalized_vega(x: FloatArray, s: FloatArray) -> FloatArray:
    """db/ds = exp(-(x^2/s^2 + s^2/4) / 2) / sqrt(2 pi)."""
    return INV_SQRT_2PI * np.exp(-0.5 * ((x / s) ** 2 + 0.25 * s * s))


def rational_cubic(v: FloatArray, x_l: FloatArray, x_r: FloatArray, y_l: FloatArray,
                   y_r: FloatArray, d_l: FloatArray, d_r: FloatArray,
                   r: FloatArray) -> FloatArray:
    """Delbourgo-Gregory rational cubic through (x_l, y_l), (x_r, y_r) with end slopes d."""
    h = x_r - x_l
    t = (v - x_l) / h
    omt = 1.0 - t
    t2 = t * t
    omt2 = omt * omt
    cubic = ((y_r * t2 * t + (r * y_r - h * d_r) * t2 * omt + (r * y_l + h * d_l) * t * omt2
              + y_l * omt2 * omt) / (1.0 + (r - 3.0) * t * omt))
    return np.where(r < _R_MAX, cubic, y_r * t + y_l * omt)


def _minimum_control(d_l: FloatArray, d_r: FloatArray, slope: FloatArray,
                     prefer_shape: bool) -> FloatArray:
    """Smallest control parameter keeping the interpolant monotone and convex where the data is."""
    monotonic = (d_l * slope >= 0) & (d_r * slope >= 0)
    convex = (d_l <= slope) & (slope <= d_r)
    concave = (d_l >= slope) & (slope >= d_r)
    fallback = _R_MAX if prefer_shape else -_R_MAX
    r1 = np.where(monotonic, np.where(slope != 0, (d_r + d_l) / slope, fallback), -_R_MAX)
    d_rl = d_r - d_l
    d_rs = d_r - slope
    s_dl = slope - d_l
    shaped = convex | concave
    fits = (s_dl != 0) & (d_rs != 0)
    r2_shape = np.where(fits, np.maximum(np.abs(d_rl / d_rs), np.abs(d_rl / s_dl)), fallback)
    r2 = np.where(shaped, r2_shape, np.where(monotonic & prefer_shape, _R_MAX, -_R_MAX))
    r_min = np.maximum(_R_MIN, np.maximum(r1, r2))
    return np.where(monotonic | shaped, r_min, _R_MIN)


def _control(num: FloatArray, den: FloatArray) -> FloatArray:
    safe = np.where(den == 0, 1.0, den)
    ratio = np.where(den == 0, np.where(num > 0, _R_MAX, _R_MIN), num / safe)
    return np.where(num == 0, 0.0, ratio)


def control_fit_right(x_l: FloatArray, x_r: FloatArray, y_l: FloatArray, y_r: FloatArray,
                      d_l: FloatArray, d_r: FloatArray, second_r: FloatArray,
                      prefer_shape: bool) -> FloatArray:
    h = x_r - x_l
    slope = (y_r - y_l) / h
    r = _control(0.5 * h * second_r + (d_r - d_l), d_r - slope)
    return np.maximum(r, _minimum_control(d_l, d_r, slope, prefer_shape))


def control_fit_left(x_l: FloatArray, x_r: FloatArray, y_l: FloatArray, y_r: FloatArray,
                     d_l: FloatArray, d_r: FloatArray, second_l: FloatArray,
                     prefer_shape: bool) -> FloatArray:
    h = x_r - x_l
    slope = (y_r - y_l) / h
    r = _control(0.5 * h * second_l + (d_r - d_l), slope - d_l)
    return np.maximum(r, _minimum_control(d_l, d_r, slope, prefer_shape))


def _lower_map(x: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """f = c|x| N(-z)^3 with z = |x|/(sqrt(3) s), and df/dbeta, d2f/dbeta2 at s."""
    ax = np.abs(x)
    z = ax / (_SQRT3 * s)
    y = z * z
    s2 = s * s
    phi_cdf = ndtr(-z)
    phi_pdf = INV_SQRT_2PI * np.exp(-0.5 * y)
    grow = np.exp(y + 0.125 * s2)
    fpp = (np.pi / 6.0 * y / (s2 * s) * phi_cdf
           * (8.0 * _SQRT3 * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * phi_cdf / phi_pdf)
           * grow * grow)
    fp = 2.0 * np.pi * y * phi_cdf * phi_cdf * grow
    f = _LOWER_SCALE * ax * phi_cdf ** 3
    return f, fp, fpp


def _inverse_lower_map(x: FloatArray, f: FloatArray) -> FloatArray:
    ax = np.abs(x)
    return ax / (-_SQRT3 * ndtri(np.cbrt(f / (_LOWER_SCALE * ax))))


def _upper_map(x: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """f = N(-s/2), and df/dbeta, d2f/dbeta2 at s."""
    w = (x / s) ** 2
    f = ndtr(-0.5 * s)
    fp = -0.5 * np.exp(0.5 * w)
    fpp = _SQRT_PI_OVER_2 * np.exp(w + 0.125 * s * s) * w / s
    return f, fp, fpp


def initial_total_vol(x: FloatArray, beta: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Guess s for b(x, s) = beta (x <= 0, 0 < beta < e^{x/2}); also returns b_c.

    Entries with beta < b_c should be refined on the lower objective, the others on the upper.
    """
    ax = -x
    e_half = np.exp(0.5 * x)
    b_max = e_half
    s_c = np.sqrt(2.0 * ax)
    b_c = 0.5 * e_half - ndtr(-s_c) / e_half
    v_c = INV_SQRT_2PI * np.exp(-0.5 * ax)
    guess = np.empty_like(beta)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        low = np.flatnonzero(beta < b_c)
        if low.size:
            guess[low] = _below_inflection(x[low], beta[low], s_c[low], b_c[low], v_c[low])
        high = np.flatnonzero(beta >= b_c)
        if high.size:
            guess[high] = _above_inflection(x[high], beta[high], s_c[high], b_c[high],
                                             v_c[high], b_max[high])
    return guess, b_c


def _below_inflection(x: FloatArray, beta: FloatArray, s_c: FloatArray, b_c: FloatArray,
                      v_c: FloatArray) -> FloatArray:
    s_l = s_c - b_c / v_c
    positive = s_l > 0
    b_l = np.zeros_like(x)
    b_l[positive] = normalized_call(x[positive], s_l[positive])
    guess = np.empty_like(x)
    # Between b_l and b_c: interpolate s itself; s'' = 0 at the inflection point.
    mid = np.flatnonzero(beta >= b_l)
    if mid.size:
        xm, slm, blm, bcm = x[mid], s_l[mid], b_l[mid], b_c[mid]
        inv_vl = 1.0 / normalized_vega(xm, slm)
        inv_vc = 1.0 / v_c[mid]
        r_lm = control_fit_right(blm, bcm, slm, s_c[mid], inv_vl, inv_vc, np.zeros_like(xm),
                                 False)
        guess[mid] = rational_cubic(beta[mid], blm, bcm, slm, s_c[mid], inv_vl, inv_vc, r_lm)
    # Below b_l: interpolate the lower map f(beta) from (0, 0) with f'(0) = 1, then invert it.
    low = np.flatnonzero(beta < b_l)
    if low.size:
        xl, bl, betal = x[low], b_l[low], beta[low]
        f_l, fp_l, fpp_l = _lower_map(xl, s_l[low])
        zero = np.zeros_like(xl)
        one = np.ones_like(xl)
        r_ll = control_fit_right(zero, bl, zero, f_l, one, fp_l, fpp_l, True)
        f = rational_cubic(betal, zero, bl, zero, f_l, one, fp_l, r_ll)
        t = betal / bl
        f = np.where(f > 0, f, (f_l * t + bl * (1.0 - t)) * t)
        guess[low] = _inverse_lower_map(xl, f)
    return np.where(np.isfinite(guess) & (guess > 0) & (guess <= s_c), guess, 0.5 * s_c)


def _above_inflection(x: FloatArray, beta: FloatArray, s_c: FloatArray, b_c: FloatArray,
                      v_c: FloatArray, b_max: FloatArray) -> FloatArray:
    s_u = s_c + (b_max - b_c) / v_c
    b_u = normalized_call(x, s_u)
    guess = np.empty_like(x)
    mid = np.flatnonzero(beta <= b_u)
    if mid.size:
        xm, sum_, bum, bcm, scm = x[mid], s_u[mid], b_u[mid], b_c[mid], s_c[mid]
        inv_vu = 1.0 / normalized_vega(xm, sum_)
        inv_vc = 1.0 / v_c[mid]
        r_hm = control_fit_left(bcm, bum, scm, sum_, inv_vc, inv_vu, np.zeros_like(xm), False)
        guess[mid] = rational_cubic(beta[mid], bcm, bum, scm, sum_, inv_vc, inv_vu, r_hm)
    high = np.flatnonzero(beta > b_u)
    if high.size:
        xh, bu, bmax, betah = x[high], b_u[high], b_max[high], beta[high]
        f_u, fp_u, fpp_u = _upper_map(xh, s_u[high])
        half = np.full_like(xh, -0.5)
        zero = np.zeros_like(xh)
        r_uu = control_fit_left(bu, bmax, f_u, zero, fp_u, half, fpp_u, True)
        f = rational_cubic(betah, bu, bmax, f_u, zero, fp_u, half, r_uu)
        h = bmax - bu
        t = (betah - bu) / h
        f = np.where(f > 0, f, (f_u * (1.0 - t) + 0.5 * h * t) * (1.0 - t))
        guess[high] = -2.0 * ndtri(f)
    return np.where(np.isfinite(guess) & (guess >= s_c), guess, np.maximum(s_c, 1e-8) * 2.0)
