"""Risk rules, one concern each. `build_rules` assembles them in their checking order."""

from __future__ import annotations

from risk.config import RiskConfig
from risk.manager import RiskRule
from risk.rules.limits import (
    MaxConcurrentTrades,
    MaxContractsPerOrder,
    MaxPositionSize,
    TradingStateGate,
)


def build_rules(config: RiskConfig) -> list[RiskRule]:
    """The default rule list. The state gate comes first: a halted bot explains that first."""
    return [
        TradingStateGate(),
        MaxContractsPerOrder(config.max_contracts_per_order),
        MaxConcurrentTrades(config.max_concurrent_trades),
        MaxPositionSize(config.max_position_pct),
    ]
