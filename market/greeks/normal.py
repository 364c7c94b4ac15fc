"""Scalar normal-distribution functions for the compiled IV and Greeks kernel.

The kernel evaluates Phi at h + s/2 and h - s/2 together with the vega, and all three share one
Gaussian factor. So Phi is computed *from a density the caller already has*:
``Phi(z) = sqrt(pi/2) * phi(z) * erfcx(-z / sqrt 2)`` for z < 0, where ``erfcx`` (the scaled
complementary error function) is a pure rational function: no exp, no log. Near zero, where
Phi is close to 1/2 and erfcx would need an exp, ``Phi = (1 + erf(z / sqrt 2)) / 2`` from a
rational erf instead.

The rational approximations are W. J. Cody's ("Rational Chebyshev approximations for the error
function", Math. Comp. 23, 1969), the ones Jäckel's "Let's be rational" uses; relative error
below 1e-16 on each interval (checked against scipy in the tests).
"""

from __future__ import annotations

import math

from numba import njit

# Every kernel function: cached on disk, no ZeroDivisionError checks (IEEE inf/NaN instead,
# which the solver's bracket handles), and fused multiply-add allowed (more accurate, not less)
# but no other fast-math licence.
JIT = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}
# The small functions on the hot path are inlined by numba itself: left to LLVM, the larger
# ones (a rational erfcx, a Phi) stayed out-of-line calls with numba's status-code convention
# and spilled the caller's registers around every call.
INLINE = {**JIT, "inline": "always"}

SQRT_HALF = 0.7071067811865476
SQRT_HALF_PI = 1.2533141373155003  # sqrt(pi/2)
INV_SQRT_2PI = 0.3989422804014327
INV_SQRT_PI = 0.5641895835477563
LN_SQRT_2PI = 0.9189385332046728
ERF_SMALL = 0.46875  # Cody's first interval: |u| <= this uses the erf approximation
CDF_SMALL = ERF_SMALL / SQRT_HALF  # the same split in units of z = u sqrt 2


# Cody's coefficients, highest power first; every denominator's leading coefficient is 1.
_ERF_NUM = (
    0.185777706184603153,
    3.1611237438705656,
    113.864154151050156,
    377.485237685302021,
    3209.37758913846947,
)
_ERF_DEN = (1.0, 23.6012909523441209, 244.024637934444173, 1282.61652607737228, 2844.23683343917062)
_MID_NUM = (
    2.15311535474403846e-8,
    0.564188496988670089,
    8.88314979438837594,
    66.1191906371416295,
    298.635138197400131,
    881.95222124176909,
    1712.04761263407058,
    2051.07837782607147,
    1230.33935479799725,
)
_MID_DEN = (
    1.0,
    15.7449261107098347,
    117.693950891312499,
    537.181101862009858,
    1621.38957456669019,
    3290.79923573345963,
    4362.61909014324716,
    3439.36767414372164,
    1230.33935480374942,
)
_TAIL_NUM = (
    0.0163153871373020978,
    0.305326634961232344,
    0.360344899949804439,
    0.125781726111229246,
    0.0160837851487422766,
    6.58749161529837803e-4,
)
_TAIL_DEN = (
    1.0,
    2.56852019228982242,
    1.87295284992346047,
    0.527905102951428412,
    0.0605183413124413191,
    0.00233520497626869185,
)


@njit(**INLINE)
def _poly(coeffs: tuple[float, ...], u: float) -> float:
    """Horner's rule (the loop over a constant tuple is unrolled by the compiler)."""
    acc = 0.0
    for c in coeffs:
        acc = acc * u + c
    return acc


@njit(**INLINE)
def _estrin8(c: tuple[float, ...], u: float) -> float:
    """A degree-8 polynomial (coefficients highest first) by Estrin's scheme: the same terms
    as Horner's rule but about half the chain of dependent multiply-adds."""
    u2 = u * u
    u4 = u2 * u2
    low = (c[8] + c[7] * u) + (c[6] + c[5] * u) * u2
    high = (c[4] + c[3] * u) + (c[2] + c[1] * u) * u2
    return low + (high + c[0] * u4) * u4


@njit(**INLINE)
def erf_small(u: float) -> float:
    """erf(u) for |u| <= 0.46875 (Cody's interval 1)."""
    y = u * u
    return u * _poly(_ERF_NUM, y) / _poly(_ERF_DEN, y)


@njit(**INLINE)
def erfcx(u: float) -> float:
    """exp(u^2) erfc(u) for u >= 0.46875 (Cody's intervals 2 and 3)."""
    if u <= 4.0:
        return _estrin8(_MID_NUM, u) / _estrin8(_MID_DEN, u)
    w = 1.0 / u
    y = w * w
    return (INV_SQRT_PI - y * _poly(_TAIL_NUM, y) / _poly(_TAIL_DEN, y)) * w


@njit(**JIT)
def cdf_from_pdf(z: float, pdf: float) -> float:
    """Phi(z), given pdf = phi(z) (which the caller computed for other uses too)."""
    if z < -CDF_SMALL:
        return SQRT_HALF_PI * pdf * erfcx(-z * SQRT_HALF)
    if z <= CDF_SMALL:
        return 0.5 + 0.5 * erf_small(z * SQRT_HALF)
    return 1.0 - SQRT_HALF_PI * pdf * erfcx(z * SQRT_HALF)


@njit(**INLINE)
def scaled_cdf(z: float, scaled_pdf: float, scale: float) -> float:
    """scale * Phi(z), given scaled_pdf = scale * phi(z): no division by the scale."""
    if abs(z) <= CDF_SMALL:
        return scale * (0.5 + 0.5 * erf_small(z * SQRT_HALF))
    # One tail mass for both signs (one copy of erfcx where this is inlined).
    tail = SQRT_HALF_PI * scaled_pdf * erfcx(abs(z) * SQRT_HALF)
    return tail if z < 0.0 else scale - tail


@njit(**JIT)
def norm_cdf(z: float) -> float:
    """Phi(z) when no density is at hand (one exp)."""
    return cdf_from_pdf(z, INV_SQRT_2PI * math.exp(-0.5 * z * z))


@njit(**JIT)
def hastings_tail(t: float) -> float:
    """-Phi^-1(p) for p <= 1/2, from t = sqrt(-2 ln p), to about 4.5e-4 (Hastings' rational
    form, Abramowitz & Stegun 26.2.23)."""
    return t - ((0.010328 * t + 0.802853) * t + 2.515517) / (
        ((0.001308 * t + 0.189269) * t + 1.432788) * t + 1.0
    )


@njit(**JIT)
def approx_inverse_cdf(p: float) -> float:
    """Phi^-1(p) for 0 < p < 1 to about 4.5e-4. Only initial guesses use it: the solver's
    steps remove the difference."""
    if p < 0.5:
        return -hastings_tail(math.sqrt(-2.0 * math.log(p)))
    return hastings_tail(math.sqrt(-2.0 * math.log(1.0 - p)))
