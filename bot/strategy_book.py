"""What each strategy is using of the account, and which strategies are stopped.

The source behind the `strategy_safeguards` risk rule. Usage is read from the order manager's
books (so it is right after a restart too); a strategy that trips a limit is latched off for
the session (stored, alerted) until the next session or a person resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.events import EventBus, Notice
from bot.order_manager import OrderManager
from bot.portfolio import Portfolio
from bot.store.store import Store
from brokers.orders import Intent, OrderStatus
from market.calendar import NEW_YORK
from market.clock import Clock
from market.instruments import CONTRACT_MULTIPLIER
from risk.rules.strategy_budget import StrategyBudget, StrategyUsage

BLOCKS_KEY = "strategy_blocks"


@dataclass
class StrategyBook:
    orders: OrderManager
    portfolio: Portfolio
    store: Store
    bus: EventBus
    clock: Clock
    budgets: dict[str, StrategyBudget] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    blocked_day: str = ""

    def load(self) -> None:
        saved = self.store.get_state(BLOCKS_KEY, {}) or {}
        self.blocked_day = str(saved.get("day", ""))
        self.blocked = dict(saved.get("blocked", {}))

    # -- the risk rule's view ---------------------------------------------------------------
    def budget(self, strategy: str) -> StrategyBudget | None:
        return self.budgets.get(strategy)

    def usage(self, strategy: str) -> StrategyUsage:
        today = self._day(self.clock.now())
        if self.blocked and self.blocked_day != today:
            self._save({}, today)  # a new session releases every latch
        entries = 0
        committed = 0.0
        symbols: set[str] = set()
        for order in self.orders.orders.values():
            req = order.request
            if req.intent is not Intent.OPEN or req.strategy != strategy:
                continue
            if order.filled_quantity > 0:
                symbols.add(req.symbol)
            if (req.replaces is None and order.status is not OrderStatus.DENIED
                    and self._day(order.created_at) == today):
                entries += 1
            if order.status.is_open and req.limit_price is not None:
                committed += order.remaining * req.limit_price * CONTRACT_MULTIPLIER
        open_positions = 0
        for symbol in symbols:
            pos = self.portfolio.positions.get(symbol)
            if pos is not None and pos.quantity != 0:
                open_positions += 1
                committed += abs(pos.quantity) * pos.average_price * CONTRACT_MULTIPLIER
        return StrategyUsage(committed, entries, open_positions, self.blocked.get(strategy))

    # -- latch ------------------------------------------------------------------------------
    def trip(self, strategy: str, reason: str) -> None:
        """Stop `strategy` opening positions until the next session or a resume."""
        if strategy in self.blocked:
            return
        now = self.clock.now()
        self._save({**self.blocked, strategy: reason}, self._day(now))
        self.bus.publish(Notice("strategy_stopped", now, f"{strategy} stops opening positions "
                                f"for the session: {reason}", priority=2,
                                data={"strategy": strategy, "reason": reason}))

    def resume(self, strategy: str, who: str = "") -> bool:
        if strategy not in self.blocked:
            return False
        rest = {k: v for k, v in self.blocked.items() if k != strategy}
        self._save(rest, self.blocked_day)
        self.bus.publish(Notice("strategy_resumed", self.clock.now(),
                                f"{strategy} may open positions again"
                                f"{' (' + who + ')' if who else ''}", priority=2))
        return True

    def _save(self, blocked: dict[str, str], day: str) -> None:
        self.store.set_state(BLOCKS_KEY, {"day": day, "blocked": blocked}, self.clock.now())
        self.blocked, self.blocked_day = blocked, day

    @staticmethod
    def _day(when: datetime) -> str:
        return when.astimezone(NEW_YORK).date().isoformat()
