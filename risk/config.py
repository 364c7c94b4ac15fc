"""Risk limits. Every number the risk manager enforces is a field here, with its default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RiskConfig(BaseModel):
    """Pre-trade limits (fractions are of account equity unless said otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_position_pct: float = Field(
        0.05, gt=0, le=1, description="Largest premium outlay of one trade, fraction of equity.")
    risk_per_trade_pct: float = Field(
        0.02, gt=0, le=1,
        description="Equity at risk per trade (entry to stop); sizing derives quantity from it.")
    max_concurrent_trades: int = Field(
        3, ge=1, description="Open positions plus working entries at any time.")
    max_daily_loss_pct: float = Field(
        0.03, gt=0, le=1,
        description="Daily-loss breaker: equity drawdown from the session's opening equity that "
        "latches REDUCING (exits only) until the next session.")
    halt_daily_loss_pct: float | None = Field(
        None, gt=0, le=1,
        description="Second breaker threshold that HALTS and flattens; unset to disable.")
    max_contracts_per_order: int = Field(50, ge=1, description="Largest quantity of one order.")
