"""What each strategy is using of the account, and which strategies are stopped.

The source behind the `strategy_safeguards` risk rule. Usage is read from the order manager's
books (so it is right after a restart too); a strategy that trips a limit is latched off for
the session (stored, alerted) until the next session or a person resumes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from bot.events import EventBus, Notice
from bot.order_manager import OrderManager
from bot.portfolio import Portfolio, multiplier
from bot.store.store import Store
from brokers.multileg import LEG_MARK, combo_id_of
from brokers.orders import Intent, OrderStatus
from market.calendar import NEW_YORK
from market.clock import Clock
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
    _entries: dict[str, int] = field(default_factory=dict)
    _counted_day: str = ""

    def load(self) -> None:
        saved = self.store.get_state(BLOCKS_KEY, {}) or {}
        self.blocked_day = str(saved.get("day", ""))
        self.blocked = dict(saved.get("blocked", {}))

    # -- the risk rule's view ---------------------------------------------------------------
    def budget(self, strategy: str) -> StrategyBudget | None:
        return self.budgets.get(strategy)

    def usage(self, strategy: str) -> StrategyUsage:
        """Cost: today's orders (newest first, stopping at yesterday), the working orders and
        the open positions — never the whole history."""
        now = self.clock.now()
        today = self._day(now)
        if self.blocked and self.blocked_day != today:
            self._save({}, today)  # a new session releases every latch
        if self._counted_day != today:
            self._count_entries(now, today)
        entries = self._entries.get(strategy, 0)
        committed = 0.0
        for order in self.orders.open_orders():
            req = order.request
            if (req.intent is Intent.OPEN and req.strategy == strategy
                    and req.limit_price is not None):
                committed += order.remaining * req.limit_price * multiplier(req.symbol)
        open_positions = 0
        held = set()
        for pos in self.portfolio.open_positions():
            held.add(pos.symbol)
            if self._owner(pos.symbol) == strategy:
                open_positions += 1
                committed += abs(pos.quantity) * pos.average_price * multiplier(pos.symbol)
        for spread in self.orders.combos.spreads_held(held):  # a spread is one position
            if spread.spec.strategy == strategy:
                open_positions -= len(spread.spec.legs) - 1
        return StrategyUsage(committed, entries, open_positions, self.blocked.get(strategy))

    def record_entry(self, strategy: str) -> None:
        """An entry was sent (called by the engine), so today's count stays current."""
        self._entries[strategy] = self._entries.get(strategy, 0) + 1

    def _count_entries(self, now: datetime, today: str) -> None:
        """Once per day (and after a restart): count today's entries from the books. After the
        first count, orders made since were added in creation order: walk back from the newest
        and stop at yesterday (a long backtest would otherwise rescan every order each day)."""
        local = now.astimezone(NEW_YORK)
        day_start = datetime.combine(local.date(), time(0), NEW_YORK)
        self._entries = {}
        newest_first = bool(self._counted_day)
        books = self.orders.orders.values()
        for order in reversed(books) if newest_first else books:
            if newest_first and order.created_at < day_start:
                break
            req = order.request
            if (order.created_at >= day_start and req.intent is Intent.OPEN
                    and req.replaces is None and order.status is not OrderStatus.DENIED
                    and not _later_leg(order.client_order_id)):
                self._entries[req.strategy] = self._entries.get(req.strategy, 0) + 1
        self._counted_day = today

    def _owner(self, symbol: str) -> str:
        """The strategy of the latest filled entry in `symbol`."""
        for order in reversed(self.orders.orders.values()):
            req = order.request
            if req.symbol == symbol and req.intent is Intent.OPEN and order.filled_quantity:
                return req.strategy
        return ""

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


def _later_leg(client_order_id: str) -> bool:
    """A spread is one entry: its first leg's row stands for it, the other legs' do not."""
    return combo_id_of(client_order_id) is not None and not client_order_id.endswith(
        f"{LEG_MARK}0")
