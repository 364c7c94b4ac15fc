"""Per-strategy safeguards: capital allocation, entries per day, open positions.

One misbehaving strategy must not eat the account's whole risk budget. When a strategy hits
one of its limits it stops opening positions; the bot latches that (with an alert) until the
next session or until a person resumes the strategy. Exits are never affected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject
from risk.members import OPEN
from risk.rules.common import unit_cost

RULE_NAME = "strategy_safeguards"


@dataclass(frozen=True, slots=True)
class StrategyBudget:
    max_capital_pct: float | None = None  # premium held + working, fraction of equity
    max_entries_per_day: int | None = None
    max_open_positions: int | None = None


@dataclass(frozen=True, slots=True)
class StrategyUsage:
    committed_premium: float  # dollars in open positions and working entries
    entries_today: int
    open_positions: int
    blocked: str | None = None  # why the strategy is stopped for the session, if it is


class StrategyUsageSource(Protocol):
    def budget(self, strategy: str) -> StrategyBudget | None: ...

    def usage(self, strategy: str) -> StrategyUsage: ...


@dataclass(frozen=True)
class StrategySafeguards:
    source: StrategyUsageSource
    name: str = RULE_NAME
    entry_only: bool = True

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        strategy = request.strategy
        if request.intent is not OPEN or not strategy or request.replaces:
            return APPROVE  # exits, manual orders and re-priced steps of an approved entry
        usage = self.source.usage(strategy)
        if usage.blocked:
            return Reject(self.name, f"{strategy} is stopped for the session: {usage.blocked}")
        budget = self.source.budget(strategy)
        if budget is None:
            return APPROVE
        if budget.max_entries_per_day is not None and (
            usage.entries_today >= budget.max_entries_per_day
        ):
            return Reject(
                self.name,
                f"{strategy} made {usage.entries_today} entries today, "
                f"max {budget.max_entries_per_day}",
            )
        if budget.max_open_positions is not None and (
            usage.open_positions >= budget.max_open_positions
        ):
            return Reject(
                self.name,
                f"{strategy} holds {usage.open_positions} positions, "
                f"max {budget.max_open_positions}",
            )
        if budget.max_capital_pct is not None:
            per_unit = unit_cost(request, ctx)  # limit (or ask) x the instrument's multiplier
            if per_unit is None:
                return Reject(self.name, f"no price for the premium of {request.symbol}")
            premium = per_unit * request.quantity
            allowed = budget.max_capital_pct * ctx.equity
            if usage.committed_premium + premium > allowed:
                return Reject(
                    self.name,
                    f"{strategy} would commit "
                    f"{usage.committed_premium + premium:,.0f} of premium, "
                    f"over its {budget.max_capital_pct:.0%} allocation "
                    f"({allowed:,.0f})",
                )
        return APPROVE
