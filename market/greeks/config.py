"""Model inputs the daemon supplies to the option models (the `[greeks]` config section)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from market.greeks.expiry import YearBasis


class GreeksConfig(BaseModel):
    """Rates, dividend yields and model settings for IV and Greeks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    risk_free_rate: float = Field(
        0.04, ge=-0.05, le=0.5, description="Continuously compounded rate for discounting "
        "(default 0.04; set it to the current short T-bill yield).")
    dividend_yields: dict[str, float] = Field(
        default_factory=dict, description="Continuous dividend yield per underlying, e.g. "
        "{SPY = 0.013}; underlyings not listed use 0 (default: none listed).")
    year_basis: YearBasis = Field(
        YearBasis.CALENDAR, description="Time to expiry: 'calendar' (ACT/365 to the close, "
        "comparable with vendor IVs; default) or 'trading' (session minutes / 252x390).")
    american_steps: int = Field(
        201, ge=21, le=2001, description="Leisen-Reimer tree steps for American pricing "
        "(default 201, Richardson-extrapolated with about half as many).")
    atm_iv_days: float = Field(
        30.0, gt=0, description="Maturity of the constant-maturity ATM IV recorded each "
        "session for IV rank and percentile (default 30 days).")

    def dividend_yield(self, underlying: str) -> float:
        return self.dividend_yields.get(underlying, 0.0)
