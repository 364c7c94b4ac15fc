"""IV and Greeks for a whole `OptionChain` snapshot in one vectorized pass."""

from __future__ import annotations

import numpy as np

from market.calendar import ExchangeCalendar
from market.chain import OptionChain
from market.greeks.bsm import FloatArray
from market.greeks.expiry import YearBasis, years_to_expiry
from market.greeks.implied_vol import IVResult, implied_volatility_and_greeks

DAYS_PER_YEAR = 365.0


def chain_years_to_expiry(chain: OptionChain, calendar: ExchangeCalendar,
                          basis: YearBasis = YearBasis.CALENDAR) -> FloatArray:
    """Years to expiry per row, computed once per distinct expiration of the chain."""
    days, codes = np.unique(chain.expiration, return_inverse=True)
    per_day = np.array([years_to_expiry(chain.as_of, d.astype(object), calendar, basis)
                        for d in days], dtype=np.float64)
    return per_day[codes] if len(chain) else np.empty(0)


def with_greeks(chain: OptionChain, rate: float, dividend_yield: float,
                calendar: ExchangeCalendar, basis: YearBasis = YearBasis.CALENDAR,
                ) -> tuple[OptionChain, IVResult]:
    """The chain with `implied_volatility` and the five Greeks filled from its mids.

    Flagged rows have no mid and get NaN (reason BAD_INPUT); rows whose mid admits no
    volatility get NaN with the reason in the returned `IVResult` (same row order as the
    chain), for the caller's metrics. Theta is per calendar day, vega and rho per 1.00, as
    `OptionContract` documents them.
    """
    t = chain_years_to_expiry(chain, calendar, basis)
    iv, g = implied_volatility_and_greeks(chain.mid, chain.is_call, chain.underlying_prices,
                                          chain.strike, t, rate, dividend_yield)
    updated = chain.with_columns(implied_volatility=iv.iv, delta=g.delta, gamma=g.gamma,
                                 theta=g.theta / DAYS_PER_YEAR, vega=g.vega, rho=g.rho)
    return updated, iv


def atm_implied_vol(chain: OptionChain, calendar: ExchangeCalendar, target_days: float = 30.0,
                    basis: YearBasis = YearBasis.CALENDAR) -> float:
    """Constant-maturity at-the-money IV: the daily value behind IV rank and percentile.

    Per expiration, the mean IV of the call and put at the strike nearest the underlying
    (clean rows with an IV only); then linear in total variance (sigma^2 t) between the two
    expirations around `target_days`, flat beyond the first or last. NaN when no expiration
    has an at-the-money IV. Needs the `implied_volatility` column (see `with_greeks`).
    """
    iv = chain.column("implied_volatility")
    t = chain_years_to_expiry(chain, calendar, basis)
    usable = chain.valid & np.isfinite(iv) & (t > 0)
    points: list[tuple[float, float]] = []
    for expiration in np.unique(chain.expiration[usable]):
        rows = np.flatnonzero(usable & (chain.expiration == expiration))
        distance = np.abs(chain.strike[rows] - chain.underlying_prices[rows])
        atm = rows[distance == distance.min()]
        points.append((float(t[atm[0]]), float(iv[atm].mean())))
    if not points:
        return float("nan")
    target = target_days / DAYS_PER_YEAR
    times = np.array([p[0] for p in points])
    variances = np.array([p[1] ** 2 * p[0] for p in points])
    if target <= times[0]:
        return points[0][1]
    if target >= times[-1]:
        return points[-1][1]
    return float(np.sqrt(np.interp(target, times, variances) / target))
