"""Contract selection: from the underlying's chain, the contract that fits the trade.

A strategy decides the direction on the underlying (or on one contract's activity); this picks
what to buy: the right side (call for bullish, put for bearish), days to expiry in a band
(0DTE on or off), |delta| in a band, a tight spread, enough volume and open interest. Among the
fits it takes the one whose |delta| is nearest the band's middle, then the most traded.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from market.chain import OptionChain
from market.chain_from_state import chain_from_state
from market.contract import OptionContract
from market.daily_history import with_iv_rank
from market.greeks.chain import with_greeks
from market.state import MarketState


class SelectionConfig(BaseModel):
    """Which contracts a strategy may buy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_abs_delta: float = Field(0.40, ge=0, le=1, description="Lowest |delta| (default 0.40).")
    max_abs_delta: float = Field(0.70, ge=0, le=1, description="Highest |delta| (default 0.70).")
    min_dte: int = Field(0, ge=0, description="Fewest calendar days to expiry (default 0).")
    max_dte: int = Field(14, ge=0, description="Most calendar days to expiry (default 14).")
    allow_0dte: bool = Field(True, description="Contracts expiring today allowed (default "
                             "true; risk's zero_dte_cutoff still applies near the close).")
    max_spread: float = Field(0.50, gt=0, description="Widest bid-ask spread, $ (default 0.50).")
    max_spread_pct: float = Field(0.10, gt=0, description="Widest spread / mid (default 0.10).")
    min_volume: int = Field(50, ge=0, description="Contracts traded this session (default 50).")
    min_open_interest: int = Field(0, ge=0, description="Least open interest; unknown OI "
                                   "passes (default 0).")
    min_price: float = Field(0.20, ge=0, description="Cheapest premium, $ (default 0.20).")
    max_quote_age: timedelta = Field(timedelta(minutes=2), description="Older quotes are "
                                     "stale and skipped (default 2 min: replay quotes are "
                                     "minute bars).")
    rate: float = Field(0.0, description="Risk-free rate for the deltas (default 0).")
    dividend_yield: float = Field(0.0, description="Dividend yield for the deltas (default 0).")

    @model_validator(mode="after")
    def _bands(self) -> SelectionConfig:
        if self.min_abs_delta > self.max_abs_delta:
            raise ValueError("min_abs_delta must not exceed max_abs_delta")
        if self.min_dte > self.max_dte:
            raise ValueError("min_dte must not exceed max_dte")
        return self


def fitting_rows(chain: OptionChain, bullish: bool, cfg: SelectionConfig,
                 today: np.datetime64) -> np.ndarray:
    """Boolean mask of the chain's rows that pass every limit of `cfg` (chain has deltas)."""
    mid = (chain.bid + chain.ask) / 2.0
    spread = chain.ask - chain.bid
    dte = (chain.expiration.astype("datetime64[D]") - today).astype(np.int64)
    delta = np.abs(chain.column("delta"))
    volume = chain.column("volume")
    oi = chain.column("open_interest")
    with np.errstate(invalid="ignore", divide="ignore"):
        mask = (chain.valid & (chain.is_call == bullish)
                & (dte >= cfg.min_dte) & (dte <= cfg.max_dte)
                & (delta >= cfg.min_abs_delta) & (delta <= cfg.max_abs_delta)
                & (spread <= cfg.max_spread + 1e-9) & (spread / mid <= cfg.max_spread_pct)
                & (np.nan_to_num(volume) >= cfg.min_volume) & (mid >= cfg.min_price)
                & ~(oi < cfg.min_open_interest))
    if not cfg.allow_0dte:
        mask &= dte > 0
    return np.asarray(mask, dtype=np.bool_)


def pick(chain: OptionChain, bullish: bool, cfg: SelectionConfig, now: datetime,
         prefer: str | None = None) -> OptionContract | None:
    """The best-fitting contract of `chain` (which must carry deltas), or None. `prefer` (the
    contract that triggered) wins when it fits every limit."""
    mask = fitting_rows(chain, bullish, cfg, np.datetime64(now.date(), "D"))
    if prefer is not None:
        hit = np.flatnonzero(mask & (chain.symbol == prefer))
        if hit.size:
            return chain.contract(int(hit[0]))
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return None
    middle = (cfg.min_abs_delta + cfg.max_abs_delta) / 2.0
    distance = np.abs(np.abs(chain.column("delta")[rows]) - middle)
    volume = np.nan_to_num(chain.column("volume")[rows])
    best = rows[np.lexsort((-volume, np.round(distance, 4)))[0]]
    return chain.contract(int(best))


def select_contract(market: MarketState, underlying: str, bullish: bool,
                    cfg: SelectionConfig, now: datetime,
                    prefer: str | None = None) -> OptionContract | None:
    """Build the chain from what the bot has seen, add deltas, pick the contract."""
    if market.calendar is None:
        raise RuntimeError("contract selection needs MarketState.calendar (set by wiring)")
    chain = chain_from_state(market, underlying, now, cfg.max_quote_age)
    if len(chain) == 0 or math.isnan(chain.underlying_price):
        return None
    chain, _ = with_greeks(chain, cfg.rate, cfg.dividend_yield, market.calendar)
    if market.daily is not None:  # the underlying's IV rank from the stored history
        chain = with_iv_rank(chain, market.daily, market.calendar)
    return pick(chain, bullish, cfg, now, prefer)


def describe(contract: OptionContract) -> str:
    """'GOOG151231C00750000 (delta 0.52, spread 0.30, vol 420, OI 1200)' for reasons."""
    spread = (contract.ask or 0.0) - (contract.bid or 0.0)
    delta = "n/a" if contract.delta is None else f"{contract.delta:+.2f}"
    oi = "n/a" if contract.open_interest is None else str(contract.open_interest)
    return (f"{contract.symbol} (delta {delta}, spread {spread:.2f}, vol {contract.volume or 0},"
            f" OI {oi})")
