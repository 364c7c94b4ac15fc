"""Implied volatility (and the Greeks at it) under Black-Scholes-Merton, to machine precision.

The method follows the structure of Jäckel's "Let's be rational" (2015), compiled with numba
and run one option at a time in a single pass (`fused`):

1. Normalize: with forward F, discount D, ``x = ln(F/K)`` and ``beta = price / (D sqrt(F K))``
   every option becomes an out-of-the-money call in ``(x <= 0, beta)``; an in-the-money quote
   is turned into its out-of-the-money twin by put-call parity (its time value).
2. Start from a guess (`iv_guess`): below the inflection point (most quotes) the answer
   read from a table, within 1.6e-3 (~1e-4 typically); above it Jäckel's rational-cubic
   branches, typically within 0.3%.
3. Refine with third-order Householder steps on an objective chosen per region (1/ln b
   below the inflection point, -ln(b_max - b) above it); one step per quote (rarely two)
   reaches ~1e-12 (`solver`). A bracket kept from the signs of the residuals turns any step that
   would leave it into bisection, so the solver cannot diverge.

Quotes with no implied volatility get NaN and a reason code (`IVReason`), never a number.
The compiled kernel is cached on disk by numba; numba itself is imported on the first call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

from market.greeks.bsm import FloatArray, Greeks, as_bool, as_float

Kernel = Callable[..., None]


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


def implied_volatility(
    price: ArrayLike,
    is_call: ArrayLike,
    s: ArrayLike,
    k: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
) -> IVResult:
    """Implied volatility of European option prices (all arguments broadcast together).

    ``price`` is the option premium per share (e.g. the NBBO mid); ``t`` is in years;
    ``r`` and ``q`` are continuous rate and dividend yield. See `IVReason` for the NaN cases.
    """
    return _run(price, is_call, s, k, t, r, q, want_greeks=False)[0]


def implied_volatility_and_greeks(
    price: ArrayLike,
    is_call: ArrayLike,
    s: ArrayLike,
    k: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
) -> tuple[IVResult, Greeks]:
    """`implied_volatility` plus the Greeks at that volatility (as `bsm_greeks` gives them),
    reusing the forward, discount and log-moneyness of the solve: a chain in one pass."""
    result, greeks = _run(price, is_call, s, k, t, r, q, want_greeks=True)
    assert greeks is not None
    return result, greeks


def warm_up() -> float:
    """Load (or, on a fresh install, compile) the kernel now rather than on the first chain, and
    return the implied volatility of a known at-the-money quote (0.2) as a check. A daemon calls
    this at start so that its first snapshot does not pay numba's start-up."""
    # An at-the-money forward call at sigma = 0.2 over a quarter: S = K = 100, r = q = 0.
    price = 100.0 * (2.0 * float(ndtr(0.05)) - 1.0)
    return float(implied_volatility(price, True, 100.0, 100.0, 0.25, 0.0, 0.0).iv)


def _run(
    price: ArrayLike,
    is_call: ArrayLike,
    s: ArrayLike,
    k: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    want_greeks: bool,
) -> tuple[IVResult, Greeks | None]:
    inputs = [
        as_float(price),
        as_bool(is_call),
        as_float(s),
        as_float(k),
        as_float(t),
        as_float(r),
        as_float(q),
    ]
    shape = np.broadcast_shapes(*(a.shape for a in inputs))
    n = int(np.prod(shape))
    flat = [_flat(a, shape, n) for a in inputs]
    iv = np.empty(n)
    reason = np.empty(n, dtype=np.int8)
    greeks = np.empty((6, n if want_greeks else 0))
    _kernel()(*flat, iv, reason, greeks)
    result = IVResult(iv.reshape(shape), reason.reshape(shape))
    if not want_greeks:
        return result, None
    return result, Greeks(*(row.reshape(shape) for row in greeks))


def _flat(a: NDArray[Any], shape: tuple[int, ...], n: int) -> NDArray[Any]:
    """A writable contiguous 1-d array of length n, or of length 1 for a single value (a rate,
    a dividend yield), which the kernel reuses for every option instead of a copy per option.
    One array type for every call keeps numba to one compiled (and cached) specialization."""
    if a.size == 1:
        out = a.reshape(1)
    elif a.shape == shape:
        out = a.reshape(n)  # a view when a is contiguous
    else:
        return np.broadcast_to(a, shape).reshape(n)  # a copy
    if out.flags.writeable and out.flags.c_contiguous:
        return out
    return np.array(out, order="C")


@cache
def _kernel() -> Kernel:
    """The compiled loop, imported on first use so that importing the package stays light."""
    from market.greeks.fused import solve

    return solve  # type: ignore[no-any-return]
