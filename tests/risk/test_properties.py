"""Property tests: random sequences of signals, fills and prices.

1. No order the manager approves ever breaches a configured limit, and no exit is refused.
2. The daily-loss breaker always latches once equity loss reaches the line, and stays latched.

The account is simulated with plain values (cash, positions, working orders, quotes), and each
limit is recomputed here independently of the rules' code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.events import EventBus
from bot.trading_control import TradingControl
from brokers.orders import Intent, Order, OrderRequest, Side
from market.instruments import OptionSymbol
from risk.breaker import DailyLossBreaker
from risk.config import RiskConfig
from risk.context import ContractGreeks
from risk.manager import RiskManager
from risk.rules import build_rules
from risk.state import TradingState
from tests.risk.fakes import NOON, FakeContext, Held

UNIVERSE = ["GOOG151231C00750000", "GOOG151231P00745000", "GOOG160115C00760000",
            "AAPL151231C00110000"]
# A loose base, and one variant per limit family that makes that family bind first (a tight
# limit elsewhere would mask it). Rules that only ever refuse (time, market quality, pace)
# have their own tests and are off here.
BASE: dict[str, Any] = {
    "max_contracts_per_order": 20, "max_concurrent_trades": 4, "max_position_pct": 0.5,
    "options": {"max_premium_per_day_pct": 5.0, "max_contracts_per_underlying": 1_000,
                "max_same_expiry_pct": 1.0, "max_premium_per_trade": 10_000},
    "greeks": {"max_abs_delta_dollars": 10**9},
    "account": {"pdt_equity_threshold": None, "losing_streak": None,
                "duplicate_window_seconds": None, "max_orders_per_second": None,
                "max_orders_per_minute": None},
    "liquidity": {"min_open_interest": 0, "max_quote_age_seconds": None, "max_spread": None,
                  "max_spread_pct": None},
}
TIGHT: dict[str, dict[str, Any]] = {
    "size": {"max_position_pct": 0.10},
    "per_trade": {"options": {"max_premium_per_trade": 1_500}},
    "premium_day": {"options": {"max_premium_per_day_pct": 0.25}},
    "underlying": {"options": {"max_contracts_per_underlying": 15}},
    "expiry": {"options": {"max_same_expiry_pct": 0.15}},
    "greeks": {"greeks": {"max_abs_delta_dollars": 200_000}},
    "concurrency": {"max_concurrent_trades": 2},
    "buying_power": {},  # the simulated broker reports a fifth of our cash
}


def variant(name: str) -> RiskConfig:
    merged: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in BASE.items()}
    for key, value in TIGHT[name].items():
        if isinstance(value, dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return RiskConfig.model_validate(merged)


GREEKS = {s: ContractGreeks(-0.4 if "P" in s[10:] else 0.5, 0.01, 0.3, -0.5, 750.0)
          for s in UNIVERSE}
EPS = 1e-6

symbol_ix = st.integers(0, len(UNIVERSE) - 1)
buy = st.tuples(st.just("buy"), symbol_ix, st.integers(1, 30), st.just(0.0))
fill = st.tuples(st.just("fill"), st.integers(0, 5), st.just(0), st.just(0.0))
action = st.one_of(
    buy, buy, fill, fill,
    st.tuples(st.just("sell"), symbol_ix, st.integers(1, 30), st.just(0.0)),
    st.tuples(st.just("price"), symbol_ix, st.just(0), st.floats(-0.1, 0.1)),
    st.tuples(st.just("state"), st.integers(0, 3), st.just(0), st.just(0.0)),
    st.tuples(st.just("wait"), st.integers(1, 120), st.just(0), st.just(0.0)),
)


@dataclass
class Account:
    """The simulated books the fake context reads."""

    ctx: FakeContext
    cash: float = 20_000.0
    power: float = 1.0
    n: int = 0

    def refresh(self) -> None:
        value = sum(p.quantity * self.ctx.quotes[s].bid * 100 for s, p in self.ctx.held.items())
        self.ctx.equity = self.cash + value
        self.ctx.buying_power = self.power * self.cash  # a broker figure may be below cash

    def fill(self, index: int) -> None:
        if not self.ctx.working:
            return
        order = self.ctx.working.pop(index % len(self.ctx.working))
        r, q = order.request, order.remaining
        price = r.limit_price or 0.0
        self.cash -= r.side.sign * q * price * 100
        pos = self.ctx.held.setdefault(r.symbol, Held(0, underlying=r.symbol[:4]))
        signed = r.side.sign * q
        if pos.quantity == 0 or (pos.quantity > 0) == (signed > 0):
            pos.average_price = (pos.average_price * abs(pos.quantity) + price * q) / (
                abs(pos.quantity) + q)
            if signed > 0:
                self.ctx.premium_today += price * q * 100
        pos.quantity += signed
        self.refresh()


def expiry(symbol: str) -> object:
    return OptionSymbol.parse(symbol).expiration


def check_approved_entry(r: OrderRequest, ctx: FakeContext, config: RiskConfig) -> None:
    """Every configured limit holds with this order added to the books. Working entries count
    as if they fill; working exits do not count (they could only lower the exposure)."""
    cost = r.quantity * (r.limit_price or 0.0) * 100
    entries = [o for o in ctx.working if o.request.intent is Intent.OPEN]
    buys = [(o.request.symbol, o.remaining * (o.request.limit_price or 0.0) * 100)
            for o in entries if o.request.side is Side.BUY]
    working_cost = sum(c for _, c in buys)
    held = {s: p for s, p in ctx.held.items() if p.quantity}
    held_cost = {s: abs(p.quantity) * p.average_price * 100 for s, p in held.items()}
    assert ctx.trading_state is TradingState.ACTIVE and not ctx.entries_paused
    assert r.side is Side.BUY  # short options are refused
    opt = config.options
    assert opt.max_premium_per_trade and opt.max_premium_per_day_pct
    assert opt.max_contracts_per_underlying and opt.max_same_expiry_pct
    assert r.quantity <= config.max_contracts_per_order
    assert cost <= opt.max_premium_per_trade + EPS
    same_symbol = held_cost.get(r.symbol, 0.0) + sum(c for s, c in buys if s == r.symbol)
    assert same_symbol + cost <= config.max_position_pct * ctx.equity + EPS
    assert ctx.premium_today + working_cost + cost <= (
        opt.max_premium_per_day_pct * ctx.start_of_day_equity + EPS)
    assert working_cost + cost <= ctx.buying_power + EPS
    root = r.symbol[:4]
    per_underlying = sum(abs(p.quantity) for s, p in held.items() if s[:4] == root) + sum(
        o.remaining for o in entries if o.request.symbol[:4] == root)
    assert per_underlying + r.quantity <= opt.max_contracts_per_underlying
    exp = expiry(r.symbol)
    same_expiry = sum(c for s, c in held_cost.items() if expiry(s) == exp) + sum(
        c for s, c in buys if expiry(s) == exp)
    assert same_expiry + cost <= opt.max_same_expiry_pct * ctx.equity + EPS
    if ctx.position_quantity(r.symbol) == 0:
        assert ctx.open_trade_count() + 1 <= config.max_concurrent_trades
    exposure = {s: p.quantity for s, p in held.items()}
    for o in entries:
        exposure[o.request.symbol] = (exposure.get(o.request.symbol, 0)
                                      + o.request.side.sign * o.remaining)
    before = sum(GREEKS[s].delta * q * 100 * 750 for s, q in exposure.items())
    after = before + GREEKS[r.symbol].delta * r.quantity * 100 * 750
    limit = config.greeks.max_abs_delta_dollars or 0.0
    assert abs(after) <= limit + EPS or abs(after) <= abs(before)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(TIGHT)), st.lists(action, min_size=1, max_size=60))
def test_no_approved_order_breaches_a_limit_and_no_exit_is_refused(tight, actions):
    config = variant(tight)
    ctx = FakeContext(greek_table=dict(GREEKS))
    for i, s in enumerate(UNIVERSE):
        ctx.with_quote(s, 1.0 + 1.5 * i, 1.05 + 1.5 * i)
    ctx.start_of_day_equity = 20_000.0
    account = Account(ctx, power=0.2 if tight == "buying_power" else 1.0)
    account.refresh()
    manager = RiskManager(build_rules(config))
    for kind, a, b, x in actions:
        if kind == "wait":
            ctx.at = min(ctx.at + timedelta(seconds=a), NOON + timedelta(minutes=40))
        elif kind == "price":  # a move of up to 10%
            bid = max(0.30, round(ctx.quotes[UNIVERSE[a]].bid * (1 + x), 2))
            ctx.with_quote(UNIVERSE[a], bid, round(bid + 0.05, 2))
            account.refresh()
        elif kind == "state":
            ctx.trading_state = list(TradingState)[a % 3]
            ctx.entries_paused = a == 3
        elif kind == "fill":
            account.fill(a)
        else:
            symbol, side = UNIVERSE[a], Side.BUY if kind == "buy" else Side.SELL
            account.n += 1
            touch = ctx.quotes[symbol]
            price = touch.ask if side is Side.BUY else touch.bid
            request = OrderRequest(f"p{account.n}", symbol, side, b, limit_price=price,
                                   intent=Intent.OPEN if kind == "buy" else Intent.CLOSE,
                                   underlying=symbol[:4])
            held = ctx.position_quantity(symbol)
            pending = sum(o.remaining for o in ctx.working
                          if o.request.symbol == symbol and o.request.side is side)
            is_exit = held != 0 and (held > 0) != (side is Side.BUY) and (
                b + pending <= abs(held))
            verdict = manager.check(request, ctx)
            if is_exit:
                assert verdict.approved, verdict.rejection
                assert verdict.request.quantity == b
            elif verdict.approved:
                check_approved_entry(verdict.request, ctx, config)
            if verdict.approved:
                ctx.working.append(Order(verdict.request, ctx.at))


class DictStore:
    """Just enough of the store for TradingControl: a dict of state keys."""

    def __init__(self) -> None:
        self.state: dict[str, object] = {}

    def set_state(self, key: str, value: object, ts: object) -> None:
        self.state[key] = value

    def all_state(self) -> dict[str, object]:
        return dict(self.state)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-1_500.0, 1_500.0), min_size=1, max_size=80),
       st.floats(0.005, 0.05), st.booleans())
def test_breaker_always_latches_when_the_loss_crosses_the_line(moves, limit, with_halt):
    halt = limit * 2 if with_halt else None
    config = RiskConfig(max_daily_loss_pct=limit, halt_daily_loss_pct=halt)
    breaker = DailyLossBreaker(config)
    control = TradingControl(DictStore(), EventBus())  # type: ignore[arg-type]
    control.start_session("2015-12-24", 100_000.0, NOON)
    equity, worst = 100_000.0, 0.0
    for move in moves:
        equity += move
        worst = max(worst, 100_000.0 - equity)
        verdict = breaker.evaluate(equity, control.start_of_day_equity, control.state)
        if verdict is not None:
            control.set_state(verdict[0], verdict[1], NOON, by_breaker=True)
        if worst >= limit * 100_000.0:
            assert control.state is not TradingState.ACTIVE
        else:
            assert control.state is TradingState.ACTIVE
        if halt is not None and worst >= halt * 100_000.0:
            assert control.state is TradingState.HALTED
    reloaded = TradingControl(control.store, EventBus())
    reloaded.load()
    assert reloaded.state is control.state
