"""Initial guesses for the implied-volatility solver (Jäckel, "Let's be rational", 2015, §4-5).

In normalized terms (an out-of-the-money call, ``x = ln(F/K) <= 0``, price ``beta`` in units of
``sqrt(F K)`` discounted), total volatility ``s`` is found from four branches split at the
inflection point ``s_c = sqrt(2|x|)`` and at the two points where its tangent reaches 0 and
``b_max``. Each branch interpolates a smooth map of ``beta`` with a shape-preserving rational
cubic (Delbourgo-Gregory). Measured on real GOOG quotes the guess is within ~0.3% in the two
middle branches and ~5% high in the lowest one, at a cost of up to a log, a root and two
rational functions. So below the inflection point (95% of real quotes) the guess is instead
read from a table of the answer itself (`_LOWER`, bilinear in ``sqrt(s_c)`` and
``sqrt(ln b_c / ln beta)``), within 1.6e-3 everywhere and ~1e-4 typically; Jäckel's branches
remain above it and outside the table's range (``|x| < 5e-4`` or ``> 18``). The solver's
quartic steps take it from there (one step for nearly every quote).
Written from the paper's formulas as scalar numba functions (one option at a time).

Every function takes ``eh = e^{x/2}`` (which is also ``b_max``) and ``1/eh`` from the caller,
who has them from a square root, and Phi from `normal.scaled_cdf`, so a normalized call costs
one exp; the maps' own exponentials are derived from densities already computed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from market.greeks.logexp import fast_exp, fast_log
from market.greeks.normal import (
    INLINE,
    INV_SQRT_2PI,
    JIT,
    approx_inverse_cdf,
    cdf_from_pdf,
    hastings_tail,
    scaled_cdf,
)

_EPS = 2.220446049250313e-16
_R_MIN = -(1.0 - math.sqrt(_EPS))
_R_MAX = 2.0 / (_EPS * _EPS)
_SQRT3 = math.sqrt(3.0)
_LOWER_SCALE = 2.0 * math.pi / math.sqrt(27.0)
_THIRD = 1.0 / 3.0


@njit(**JIT)
def normalized_call(x: float, eh: float, inv_eh: float, s: float) -> tuple[float, float]:
    """b(x, s) = e^{x/2} Phi(x/s + s/2) - e^{-x/2} Phi(x/s - s/2) and its vega db/ds."""
    h = x / s
    half = 0.5 * s
    vega = INV_SQRT_2PI * fast_exp(-0.5 * (h * h + half * half))
    # e^{x/2} phi(h + s/2) = e^{-x/2} phi(h - s/2) = vega: the one exp serves all three.
    return scaled_cdf(h + half, vega, eh) - scaled_cdf(h - half, vega, inv_eh), vega


_TABLE_LOW = 1.0 / 32.0  # |x| from 5e-4 ...
_TABLE_STEP = 1.0 / 512.0
_TABLE_ROWS = 3057  # ... to 18 (s_c up to 6)
_TABLE_HIGH = _TABLE_LOW + _TABLE_STEP * (_TABLE_ROWS - 1)
_INV_STEP = 1.0 / _TABLE_STEP


@njit(**JIT)
def _lerp(i: int, w: float, col: int) -> float:
    a = _TABLE[i, col]
    return a + w * (_TABLE[i + 1, col] - a)


@njit(**JIT)
def _anchor(
    col: int, x: float, eh: float, inv_eh: float, s: float, s_c: float, scale: float, v_c: float
) -> tuple[float, float]:
    """(b, vega) at s = s_u (col 0): from the table where it covers s_c."""
    if _TABLE_LOW <= s_c < _TABLE_HIGH:
        pos = (s_c - _TABLE_LOW) * _INV_STEP
        i = int(pos)
        w = pos - i
        return _lerp(i, w, col) * scale, _lerp(i, w, col + 1) * v_c
    return normalized_call(x, eh, inv_eh, s)


@njit(**JIT)
def rational_cubic(
    v: float, x_l: float, x_r: float, y_l: float, y_r: float, d_l: float, d_r: float, r: float
) -> float:
    """Delbourgo-Gregory rational cubic through (x_l, y_l), (x_r, y_r) with end slopes d."""
    h = x_r - x_l
    t = (v - x_l) / h
    omt = 1.0 - t
    if r >= _R_MAX:
        return y_r * t + y_l * omt
    t2 = t * t
    omt2 = omt * omt
    return (
        y_r * t2 * t
        + (r * y_r - h * d_r) * t2 * omt
        + (r * y_l + h * d_l) * t * omt2
        + y_l * omt2 * omt
    ) / (1.0 + (r - 3.0) * t * omt)


@njit(**JIT)
def _shape_control(
    d_l: float, d_r: float, slope: float, monotonic: bool, prefer_shape: bool
) -> float:
    """The control keeping a convex (or concave) data set so."""
    fallback = _R_MAX if prefer_shape else -_R_MAX
    convex = d_l <= slope <= d_r
    concave = d_l >= slope >= d_r
    if convex or concave:
        d_rl = d_r - d_l
        d_rs = d_r - slope
        s_dl = slope - d_l
        if s_dl != 0.0 and d_rs != 0.0:
            return max(abs(d_rl / d_rs), abs(d_rl / s_dl))
        return fallback
    return _R_MAX if monotonic and prefer_shape else -_R_MAX


@njit(**JIT)
def minimum_control(d_l: float, d_r: float, slope: float, prefer_shape: bool) -> float:
    """Smallest control parameter keeping the interpolant monotone and convex where the data is."""
    monotonic = d_l * slope >= 0.0 and d_r * slope >= 0.0
    shaped = (d_l <= slope <= d_r) or (d_l >= slope >= d_r)
    if not (monotonic or shaped):
        return _R_MIN
    flat = _R_MAX if prefer_shape else -_R_MAX
    r1 = -_R_MAX
    if monotonic:
        r1 = (d_r + d_l) / slope if slope != 0.0 else flat
    r2 = _shape_control(d_l, d_r, slope, monotonic, prefer_shape)
    return max(_R_MIN, max(r1, r2))


@njit(**JIT)
def _control(num: float, den: float) -> float:
    if num == 0.0:
        return 0.0
    if den == 0.0:
        return _R_MAX if num > 0.0 else _R_MIN
    return num / den


@njit(**JIT)
def control_fit_right(
    x_l: float,
    x_r: float,
    y_l: float,
    y_r: float,
    d_l: float,
    d_r: float,
    second_r: float,
    prefer_shape: bool,
) -> float:
    """Control matching the second derivative at the right end (kept shape-preserving)."""
    h = x_r - x_l
    slope = (y_r - y_l) / h
    r = _control(0.5 * h * second_r + (d_r - d_l), d_r - slope)
    return max(r, minimum_control(d_l, d_r, slope, prefer_shape))


@njit(**JIT)
def control_fit_left(
    x_l: float,
    x_r: float,
    y_l: float,
    y_r: float,
    d_l: float,
    d_r: float,
    second_l: float,
    prefer_shape: bool,
) -> float:
    """Control matching the second derivative at the left end (kept shape-preserving)."""
    h = x_r - x_l
    slope = (y_r - y_l) / h
    r = _control(0.5 * h * second_l + (d_r - d_l), slope - d_l)
    return max(r, minimum_control(d_l, d_r, slope, prefer_shape))


@njit(**JIT)
def lower_map(x: float, s: float, vega: float) -> tuple[float, float, float]:
    """f = c|x| Phi(-z)^3 with z = |x|/(sqrt(3) s), and df/dbeta, d2f/dbeta2 at s (where the
    normalized vega is `vega`)."""
    ax = abs(x)
    z = ax / (_SQRT3 * s)
    y = z * z
    s2 = s * s
    pdf = INV_SQRT_2PI * math.exp(-0.5 * y)
    cdf = cdf_from_pdf(-z, pdf)
    grow = pdf / vega  # exp(y + s^2/8)
    fpp = (
        math.pi
        / 6.0
        * y
        / (s2 * s)
        * cdf
        * (8.0 * _SQRT3 * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * cdf / pdf)
        * grow
        * grow
    )
    fp = 2.0 * math.pi * y * cdf * cdf * grow
    return _LOWER_SCALE * ax * cdf * cdf * cdf, fp, fpp


@njit(**JIT)
def upper_map(x: float, s: float, vega: float) -> tuple[float, float, float]:
    """f = Phi(-s/2), and df/dbeta, d2f/dbeta2 at s (where the normalized vega is `vega`)."""
    w = (x / s) ** 2
    half = 0.5 * s
    pdf = INV_SQRT_2PI * fast_exp(-0.5 * half * half)
    f = cdf_from_pdf(-half, pdf)
    fp = -0.5 * pdf / vega  # -exp(w/2) / 2
    fpp = 0.5 * pdf / (vega * vega) * w / s  # sqrt(pi/2) exp(w + s^2/8) w / s
    return f, fp, fpp


@njit(**JIT)
def _lowest(x: float, beta: float, s_l: float, b_l: float, v_l: float) -> float:
    """Below b_l: interpolate the lower map f(beta) from (0, 0) with f'(0) = 1, then invert."""
    f_l, fp_l, fpp_l = lower_map(x, s_l, v_l)
    r = control_fit_right(0.0, b_l, 0.0, f_l, 1.0, fp_l, fpp_l, True)
    f = rational_cubic(beta, 0.0, b_l, 0.0, f_l, 1.0, fp_l, r)
    if not f > 0.0:
        t = beta / b_l
        f = (f_l * t + b_l * (1.0 - t)) * t
    ax = abs(x)
    cube = f / (_LOWER_SCALE * ax)  # Phi(-z)^3
    if cube < 0.125:  # Phi(-z) < 1/2: the tail form takes ln Phi(-z) = ln(cube) / 3, no root
        return ax / (_SQRT3 * hastings_tail(math.sqrt(-2.0 * _THIRD * math.log(cube))))
    return ax / (-_SQRT3 * approx_inverse_cdf(cube**_THIRD))


@njit(**JIT)
def _below_inflection(
    x: float, eh: float, inv_eh: float, beta: float, s_c: float, b_c: float, v_c: float
) -> float:
    """Jäckel's two lower branches, evaluated directly (where `_LOWER` does not reach)."""
    s_l = s_c - b_c / v_c
    if not s_l > 0.0:
        return 0.5 * s_c
    b_l, v_l = normalized_call(x, eh, inv_eh, s_l)
    if beta < b_l:
        guess = _lowest(x, beta, s_l, b_l, v_l)
    else:
        # Between b_l and b_c: interpolate s itself; s'' = 0 at the inflection point.
        inv_vl = 1.0 / v_l
        inv_vc = 1.0 / v_c
        r = control_fit_right(b_l, b_c, s_l, s_c, inv_vl, inv_vc, 0.0, False)
        guess = rational_cubic(beta, b_l, b_c, s_l, s_c, inv_vl, inv_vc, r)
    if math.isfinite(guess) and 0.0 < guess <= s_c:
        return guess
    return 0.5 * s_c


@njit(**JIT)
def _highest(x: float, beta: float, s_u: float, b_u: float, v_u: float, b_max: float) -> float:
    """Above b_u: interpolate the upper map f(beta) down to (b_max, 0), then invert."""
    f_u, fp_u, fpp_u = upper_map(x, s_u, v_u)
    r = control_fit_left(b_u, b_max, f_u, 0.0, fp_u, -0.5, fpp_u, True)
    f = rational_cubic(beta, b_u, b_max, f_u, 0.0, fp_u, -0.5, r)
    if not f > 0.0:
        h = b_max - b_u
        t = (beta - b_u) / h
        f = (f_u * (1.0 - t) + 0.5 * h * t) * (1.0 - t)
    return -2.0 * approx_inverse_cdf(f)


@njit(**JIT)
def _above_inflection(
    x: float, eh: float, inv_eh: float, beta: float, s_c: float, b_c: float, v_c: float
) -> float:
    b_max = eh
    s_u = s_c + (b_max - b_c) / v_c
    b_u, v_u = _anchor(0, x, eh, inv_eh, s_u, s_c, b_max, v_c)
    if beta <= b_u:
        inv_vu = 1.0 / v_u
        inv_vc = 1.0 / v_c
        r = control_fit_left(b_c, b_u, s_c, s_u, inv_vc, inv_vu, 0.0, False)
        guess = rational_cubic(beta, b_c, b_u, s_c, s_u, inv_vc, inv_vu, r)
    else:
        guess = _highest(x, beta, s_u, b_u, v_u, b_max)
    if math.isfinite(guess) and guess >= s_c:
        return guess
    return max(s_c, 1e-8) * 2.0


@njit(**INLINE)
def initial_total_vol(x: float, eh: float, inv_eh: float, beta: float) -> tuple[float, bool, float]:
    """Guess s for b(x, s) = beta (x <= 0, eh = e^{x/2}, 0 < beta < eh), whether beta is
    below the inflection point (refine on the lower objective) or not (the upper one), and
    that objective's target: ln(beta) below, ln(b_max - beta) above (the solver's one log,
    which the lowest branch's guess shares)."""
    s_c = math.sqrt(-2.0 * x)
    # At s_c: h + s/2 = 0, and e^{-x/2} phi(s_c) = e^{x/2} / sqrt(2 pi) is the vega there.
    v_c = INV_SQRT_2PI * eh
    tabulated = _TABLE_LOW <= s_c < _TABLE_HIGH
    i, w = 0, 0.0
    if tabulated:
        # One row lookup serves b_c and the lower guess (rows in sqrt(s_c), see `_LOWER`).
        pos = (math.sqrt(s_c) - _LOWER_U0) * (1.0 / _LOWER_STEP)
        i = min(int(pos), _LOWER_ROWS - 2)
        w = pos - i
        b_c = (_LOWER_AUX[i, 1] + w * (_LOWER_AUX[i + 1, 1] - _LOWER_AUX[i, 1])) * eh
    else:
        b_c = 0.5 * eh - scaled_cdf(-s_c, v_c, inv_eh)
    if beta < b_c:
        log_beta = fast_log(beta)
        if tabulated:
            guess = _lower_tabulated(x, log_beta, s_c, i, w)
        else:
            guess = _below_inflection(x, eh, inv_eh, beta, s_c, b_c, v_c)
        return guess, True, log_beta
    return _above_inflection(x, eh, inv_eh, beta, s_c, b_c, v_c), False, fast_log(eh - beta)


@njit(**JIT)
def _tabulate(rows: int) -> NDArray[np.float64]:
    """The x-only points of the upper guess on a grid of s_c = sqrt(2|x|): b_u / b_max and
    v_u / v_c. Evaluating them per quote was a normalized call each; linear interpolation on
    this grid is within ~1e-6 relative, far inside the guess's own error."""
    out = np.empty((rows, 2))
    for i in range(rows):
        s_c = _TABLE_LOW + _TABLE_STEP * i
        x = -0.5 * s_c * s_c
        eh = math.exp(0.5 * x)
        v_c = INV_SQRT_2PI * eh
        b_c = 0.5 * eh - scaled_cdf(-s_c, v_c, 1.0 / eh)
        b_u, v_u = normalized_call(x, eh, 1.0 / eh, s_c + (eh - b_c) / v_c)
        out[i, 0] = b_u / eh
        out[i, 1] = v_u / v_c
    return out


_TABLE = _tabulate(_TABLE_ROWS)


# Below the inflection point the guess is the answer itself, from a table. There
# ln b ~ -x^2 / (2 s^2) as s -> 0 and b is convex up to s_c, so w = sqrt(ln b_c / ln beta) in
# (0, 1) is nearly proportional to s: the table holds s / (s_c w), smooth in (s_c, w), on a
# grid of sqrt(s_c) (finer where s_c is small) by 129 values of w, in float32 (a guess needs
# 1e-4, not 1e-7; half the cache).
_LOWER_U0 = math.sqrt(_TABLE_LOW)  # rows: sqrt(s_c) from sqrt(1/32) ...
_LOWER_STEP = 1.0 / 256.0
_LOWER_ROWS = 583  # ... to just above sqrt(6): s_c up to 6, |x| up to 18, as `_TABLE`
_LOWER_COLS_M1 = 128
_LOWER_SAMPLES = 4096


@njit(**JIT)
def _tabulate_lower(
    rows: int, cols: int, samples: int
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """s / (s_c w) on the (sqrt(s_c), w) grid, and per row ln(b_c / b_max) and b_c / b_max (which
    splits the two objectives). Sampled forward at s = m s_c / samples (a normalized call each),
    then resampled in w."""
    table = np.empty((rows, cols), dtype=np.float32)
    aux = np.empty((rows, 2))
    ws = np.empty(samples)
    ys = np.empty(samples)
    grid = np.linspace(0.0, 1.0, cols)
    for j in range(rows):
        u = _LOWER_U0 + _LOWER_STEP * j
        s_c = u * u
        x = -0.5 * s_c * s_c
        eh = math.exp(0.5 * x)
        b_c = 0.5 * eh - scaled_cdf(-s_c, INV_SQRT_2PI * eh, 1.0 / eh)
        ln_bc = math.log(b_c)
        aux[j, 0] = ln_bc - 0.5 * x
        aux[j, 1] = b_c / eh
        n = 0
        for m in range(1, samples):
            s = s_c * m / samples
            b = normalized_call(x, eh, 1.0 / eh, s)[0]
            if not b > 0.0:  # underflow: no quote gets here (NO_TIME_VALUE)
                continue
            w = math.sqrt(ln_bc / math.log(b))
            if n > 0 and w <= ws[n - 1]:
                continue
            ws[n] = w
            ys[n] = s / (s_c * w)
            n += 1
        ws[n] = 1.0
        ys[n] = 1.0
        n += 1
        for c in range(cols):  # flat below the first sample (w -> 0, where s / (s_c w) settles)
            table[j, c] = np.interp(grid[c], ws[:n], ys[:n])
    return table, aux


_LOWER, _LOWER_AUX = _tabulate_lower(_LOWER_ROWS, _LOWER_COLS_M1 + 1, _LOWER_SAMPLES)


@njit(**INLINE)
def _lower_tabulated(x: float, log_beta: float, s_c: float, i: int, wr: float) -> float:
    """The guess below the inflection point from `_LOWER` (bilinear; row i, weight wr), for
    1/32 <= s_c < 6: within 1.6e-3 of the root (2e-4 for s_c > 1/4), so one quartic solver
    step finishes."""
    a = _LOWER_AUX[i, 0]
    w = math.sqrt((a + wr * (_LOWER_AUX[i + 1, 0] - a) + 0.5 * x) / log_beta)
    col = w * _LOWER_COLS_M1
    j = min(int(col), _LOWER_COLS_M1 - 1)
    v = col - j
    t0 = _LOWER[i, j] + v * (_LOWER[i, j + 1] - _LOWER[i, j])
    t1 = _LOWER[i + 1, j] + v * (_LOWER[i + 1, j + 1] - _LOWER[i + 1, j])
    return s_c * w * (t0 + wr * (t1 - t0))
