"""Per-strategy safeguards: a strategy that hits its limit stops opening positions for the
session (alerted, stored), other strategies and exits go on, a new session or a person
releases it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.events import Notice
from bot.wiring import Bot, build_bot
from brokers.orders import OrderStatus
from market.clock import SimClock
from market.data import Quote
from risk.rules.strategy_budget import StrategyBudget
from strategies.base import Signal, SignalAction, Strategy
from strategies.guard import GuardedStrategy
from tests.conftest import make_settings

T0 = datetime(2025, 12, 1, 15, 30, tzinfo=UTC)


def sym(i: int) -> str:
    return f"XYZ251219C{100000 + i * 1000:08d}"


class EachNewSymbol(Strategy):
    """Buys every contract the first time it is quoted."""

    def __init__(self, name: str, strikes: range, *args: Any) -> None:
        super().__init__(None, *args)
        self.name = name  # type: ignore[misc]
        self.mine = {sym(i) for i in strikes}
        self.seen: set[str] = set()

    def on_quote(self, q: Quote) -> list[Signal]:
        if q.symbol in self.seen or q.symbol not in self.mine:
            return []
        self.seen.add(q.symbol)
        return [Signal(self.name, SignalAction.BUY_TO_OPEN, q.symbol, q.ts, q.ask, 0.5, "t",
                       "XYZ")]


def setup(tmp_path: Path | None = None, **budget: Any) -> tuple[Bot, SimClock, list[Notice]]:
    clock = SimClock(T0)
    settings = make_settings(tmp_path, strategies={}, execution={"entry": {"style": "natural"}},
                             risk={"max_concurrent_trades": 50,
                                   "options": {"max_same_expiry_pct": 1.0,
                                               "max_contracts_per_underlying": 10_000},
                                   "liquidity": {
                                 "min_volume": 0, "min_open_interest": 0}})
    bot = build_bot(settings, clock)  # a fresh run tag per start, as in production
    for name, strikes in (("alpha", range(100)), ("beta", range(100, 200))):
        bot.engine.strategies.append(
            GuardedStrategy(EachNewSymbol(name, strikes, bot.market, clock)))
    bot.engine.strategy_book.budgets["alpha"] = StrategyBudget(**budget)
    notices: list[Notice] = []
    bot.bus.subscribe(notices.append)
    return bot, clock, notices


def quote(bot: Bot, clock: SimClock, i: int, minutes: float, only: str | None = None) -> None:
    clock.advance_to(T0 + timedelta(minutes=minutes))
    if only is not None:  # let just one strategy see it
        for g in bot.engine.strategies:
            g.enabled = g.name == only
    for strike in (i, 100 + i):  # one contract for alpha, one for beta
        bot.engine.on_event(Quote(sym(strike), clock.now(), 1.00, 1.05, 100, 100, "XYZ"))


def statuses(bot: Bot, strategy: str) -> list[OrderStatus]:
    return [o.status for o in bot.store.load_orders() if o.request.strategy == strategy]


def test_entries_per_day_trip_latches_alerts_and_spares_other_strategies() -> None:
    bot, clock, notices = setup(max_entries_per_day=2)
    for i in range(4):
        quote(bot, clock, i, i)
    assert statuses(bot, "alpha") == [OrderStatus.FILLED, OrderStatus.FILLED,
                                      OrderStatus.DENIED, OrderStatus.DENIED]
    assert statuses(bot, "beta") == [OrderStatus.FILLED] * 4
    denied = [o for o in bot.store.load_orders() if o.status is OrderStatus.DENIED]
    assert "made 2 entries today, max 2" in denied[0].status_reason
    assert "stopped for the session" in denied[1].status_reason
    assert [n.kind for n in notices].count("strategy_stopped") == 1


def test_exits_are_never_blocked_by_a_stopped_strategy() -> None:
    bot, clock, _ = setup(max_entries_per_day=1)
    quote(bot, clock, 0, 0, only="alpha")
    quote(bot, clock, 1, 1, only="alpha")  # trips
    assert bot.engine.strategy_book.blocked
    bot.engine.flatten("test")
    assert bot.portfolio.quantity(sym(0)) == 0


def test_open_positions_and_capital_allocation() -> None:
    bot, clock, _ = setup(max_open_positions=1)
    quote(bot, clock, 0, 0, only="alpha")
    quote(bot, clock, 1, 1, only="alpha")
    assert "holds 1 positions, max 1" in bot.store.load_orders()[-1].status_reason
    bot2, clock2, _ = setup(max_capital_pct=0.01)  # $1,000 of a $100,000 account
    quote(bot2, clock2, 0, 0, only="alpha")
    last = bot2.store.load_orders()[-1]
    assert last.status is OrderStatus.DENIED and "over its 1% allocation" in last.status_reason


def test_a_new_session_or_a_person_releases_the_latch(tmp_path: Path) -> None:
    bot, clock, _ = setup(tmp_path, max_entries_per_day=1)
    quote(bot, clock, 0, 0, only="alpha")
    quote(bot, clock, 1, 1, only="alpha")
    assert "alpha" in bot.engine.strategy_book.blocked
    bot.close()
    bot, clock, _ = setup(tmp_path, max_entries_per_day=1)  # restart: the latch is stored
    quote(bot, clock, 2, 2, only="alpha")
    assert "stopped for the session" in bot.store.load_orders()[-1].status_reason
    assert bot.engine.strategy_book.resume("alpha", "admin")
    bot.engine.strategy_book.budgets["alpha"] = StrategyBudget(max_entries_per_day=5)
    quote(bot, clock, 3, 3, only="alpha")
    assert bot.store.load_orders()[-1].status is OrderStatus.FILLED
    bot.engine.strategy_book.trip("alpha", "test")
    clock.advance_to(T0 + timedelta(days=1))
    assert bot.engine.strategy_book.usage("alpha").blocked is None  # next session


def test_shares_count_one_for_one_against_the_allocation() -> None:
    from brokers.orders import Intent, OrderRequest, Side
    from risk.rules.strategy_budget import StrategySafeguards, StrategyUsage

    class Source:
        def budget(self, strategy: str) -> StrategyBudget:
            return StrategyBudget(max_capital_pct=0.25)

        def usage(self, strategy: str) -> StrategyUsage:
            return StrategyUsage(0.0, 0, 0)

    class Ctx:
        equity = 100_000.0

        def quote(self, symbol: str) -> None:
            return None

    rule = StrategySafeguards(Source())  # 100 shares at 168 = 16,800 <= 25,000; 2 calls = 33,600
    shares = OrderRequest("a", "SPY", Side.BUY, 100, limit_price=168.0, intent=Intent.OPEN,
                          strategy="s")
    assert rule.check(shares, Ctx()).__class__.__name__ == "Approve"  # type: ignore[arg-type]
    calls = OrderRequest("b", sym(0), Side.BUY, 2, limit_price=168.0, intent=Intent.OPEN,
                         strategy="s")
    assert rule.check(calls, Ctx()).__class__.__name__ == "Reject"  # type: ignore[arg-type]
