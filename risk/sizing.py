"""Position sizing: the quantity comes out of the risk budget (entry to stop), not a guess."""

from __future__ import annotations

import math

from market.instruments import CONTRACT_MULTIPLIER
from risk.config import RiskConfig


def contracts_for_risk(equity: float, entry: float, stop: float | None,
                       config: RiskConfig, multiplier: int = CONTRACT_MULTIPLIER) -> int:
    """Contracts (or shares, with `multiplier=1`) such that a stop-out loses at most
    `risk_per_trade_pct` of equity and the premium paid stays within `max_position_pct`.
    Zero when even one unit is too much."""
    if entry <= 0 or equity <= 0:
        return 0
    per_contract_premium = entry * multiplier
    by_size = math.floor(equity * config.max_position_pct / per_contract_premium)
    if stop is None or stop >= entry:
        by_risk = by_size  # no stop below entry: the whole premium is at risk, already capped
    else:
        by_risk = math.floor(equity * config.risk_per_trade_pct
                             / ((entry - stop) * multiplier))
    return max(0, min(by_size, by_risk, config.max_contracts_per_order))
