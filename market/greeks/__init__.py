"""Option pricing: Black-Scholes-Merton Greeks, implied volatility, American exercise, expiry time.

Everything here works on numpy arrays (a whole chain per call) and reads no clock: the caller
passes the time to expiry, computed with `years_to_expiry` from its injected clock.
"""

from market.greeks.american import american_greeks, american_implied_volatility, american_price
from market.greeks.bsm import Greeks, bsm_greeks, bsm_price
from market.greeks.expiry import YearBasis, expiry_session, years_to_expiries, years_to_expiry
from market.greeks.implied_vol import (
    IVReason,
    IVResult,
    implied_volatility,
    implied_volatility_and_greeks,
    warm_up,
)

__all__ = [
    "Greeks",
    "IVReason",
    "IVResult",
    "YearBasis",
    "american_greeks",
    "american_implied_volatility",
    "american_price",
    "bsm_greeks",
    "bsm_price",
    "expiry_session",
    "implied_volatility",
    "implied_volatility_and_greeks",
    "warm_up",
    "years_to_expiries",
    "years_to_expiry",
]
