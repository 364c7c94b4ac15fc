"""Vectorized Black-Scholes-Merton prices and Greeks (European exercise).

Every function takes numpy arrays (or scalars) that broadcast together and works on whole
chains at once: one call prices 100,000 contracts, with no Python loop.

Conventions (the same as QuantLib's analytic engine, so values compare one to one):

* ``t`` is the time to expiry in years (see `market.greeks.expiry` for how it is measured);
  ``r`` and ``q`` are continuously compounded rate and dividend yield over that time.
* ``theta`` is the derivative of the price with respect to calendar time, **per year**
  (divide by 365 for a per-day figure); ``vega`` and ``rho`` are per 1.00 of volatility and
  rate (divide by 100 for "per vol point" and "per percentage point").
* ``is_call`` is a boolean array: True for calls, False for puts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

INV_SQRT_2PI = 0.3989422804014327


@dataclass(frozen=True, slots=True)
class Greeks:
    """Price and the five first-order sensitivities, one entry per option."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    theta: FloatArray
    vega: FloatArray
    rho: FloatArray


def as_float(value: ArrayLike) -> FloatArray:
    return np.asarray(value, dtype=np.float64)


def as_bool(value: ArrayLike) -> BoolArray:
    return np.asarray(value, dtype=np.bool_)


def norm_pdf(z: FloatArray) -> FloatArray:
    return INV_SQRT_2PI * np.exp(-0.5 * z * z)


def _shaped(a: FloatArray, shape: tuple[int, ...]) -> FloatArray:
    return a if a.shape == shape else np.broadcast_to(a, shape).copy()


def _d1_d2(s: FloatArray, k: FloatArray, t: FloatArray, r: FloatArray, q: FloatArray,
           sigma: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    sd = sigma * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q) * t) / sd + 0.5 * sd
    return d1, d1 - sd, sd


def bsm_price(is_call: ArrayLike, s: ArrayLike, k: ArrayLike, t: ArrayLike, r: ArrayLike,
              q: ArrayLike, sigma: ArrayLike) -> FloatArray:
    """European option prices. NaN where t <= 0 or sigma <= 0 (no model value)."""
    # Scalars stay 0-d: ufuncs on broadcast (zero-stride) views are several times slower.
    call, s_, k_, t_, r_, q_, v_ = (as_bool(is_call), as_float(s), as_float(k), as_float(t),
                                    as_float(r), as_float(q), as_float(sigma))
    with np.errstate(divide="ignore", invalid="ignore"):
        d1, d2, _ = _d1_d2(s_, k_, t_, r_, q_, v_)
        sign = np.where(call, 1.0, -1.0)
        fwd_s = s_ * np.exp(-q_ * t_)
        disc_k = k_ * np.exp(-r_ * t_)
        price = sign * (fwd_s * ndtr(sign * d1) - disc_k * ndtr(sign * d2))
    shape = np.broadcast_shapes(call.shape, s_.shape, k_.shape, t_.shape, r_.shape, q_.shape,
                                v_.shape)
    return _shaped(np.where((t_ > 0) & (v_ > 0), price, np.nan), shape)


def bsm_greeks(is_call: ArrayLike, s: ArrayLike, k: ArrayLike, t: ArrayLike, r: ArrayLike,
               q: ArrayLike, sigma: ArrayLike) -> Greeks:
    """Price, delta, gamma, theta (per year), vega and rho (per 1.00) of European options.

    Entries with t <= 0, sigma <= 0 or a NaN input are NaN in every field: a Greek of an
    expired or unpriceable contract is not a number a strategy should act on.
    """
    # Scalars stay 0-d: ufuncs on broadcast (zero-stride) views are several times slower.
    call, s_, k_, t_, r_, q_, v_ = (as_bool(is_call), as_float(s), as_float(k), as_float(t),
                                    as_float(r), as_float(q), as_float(sigma))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d1, d2, sd = _d1_d2(s_, k_, t_, r_, q_, v_)
        sign = np.where(call, 1.0, -1.0)
        div = np.exp(-q_ * t_)
        disc = np.exp(-r_ * t_)
        nd1 = ndtr(sign * d1)  # N(d1) for calls, N(-d1) for puts
        nd2 = ndtr(sign * d2)
        pdf1 = norm_pdf(d1)
        s_div = s_ * div
        k_disc = k_ * disc
        price = sign * (s_div * nd1 - k_disc * nd2)
        delta = sign * div * nd1
        gamma = div * pdf1 / (s_ * sd)
        vega = s_div * pdf1 * np.sqrt(t_)
        theta = (-0.5 * s_div * pdf1 * v_ / np.sqrt(t_)
                 + sign * (q_ * s_div * nd1 - r_ * k_disc * nd2))
        rho = sign * k_disc * t_ * nd2
    bad = ~((t_ > 0) & (v_ > 0))
    shape = np.broadcast_shapes(call.shape, s_.shape, k_.shape, t_.shape, r_.shape, q_.shape,
                                v_.shape)
    fields = [_shaped(np.where(bad, np.nan, a), shape)
              for a in (price, delta, gamma, theta, vega, rho)]
    return Greeks(*fields)
