"""Read-only views of the running bot, as typed values for any control channel.

Telegram formats them as short messages, the dashboard as JSON (`dataclasses.asdict`). Each
builder reads memory first and the store only for history, so a view is cheap enough to build
from the event loop between market events.
"""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from importlib import metadata
from typing import Any

from bot.execution_quality import from_store, summarize
from bot.monitor import broker_connected, in_planned_downtime
from bot.portfolio import multiplier
from bot.wiring import Bot
from brokers.orders import Order
from market.calendar import NEW_YORK


@dataclass(frozen=True, slots=True)
class StatusView:
    mode: str
    broker: str
    state: str
    paused: bool
    reason: str
    breaker_latched: bool
    last_event_at: datetime | None
    feed_stale: bool
    broker_connected: bool | None  # None: the adapter does not say
    store_healthy: bool
    uptime_seconds: float | None
    open_positions: int
    working_orders: int
    equity: float
    broker_note: str = ""  # why it is down and since when, or the planned window


@dataclass(frozen=True, slots=True)
class PositionRow:
    symbol: str
    quantity: int
    average_price: float
    mark: float | None  # liquidation side: bid for a long, ask for a short
    unrealized: float


@dataclass(frozen=True, slots=True)
class PositionsView:
    rows: list[PositionRow]
    total_unrealized: float


@dataclass(frozen=True, slots=True)
class OrderRow:
    client_order_id: str
    symbol: str
    side: str
    quantity: int
    filled: int
    order_type: str
    limit_price: float | None
    status: str
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrdersView:
    working: list[OrderRow]
    recent: list[OrderRow]


@dataclass(frozen=True, slots=True)
class LiquidityRow:
    """Today's cost of liquidity of one strategy: dollars saved vs crossing the spread, per
    contract and as a share of the spread, and the 1-minute mark-out (+ = for us)."""

    strategy: str
    fills: int
    contracts: int
    saved: float
    per_contract: float
    spread_captured: float
    markout_1m: float | None


@dataclass(frozen=True, slots=True)
class PnlView:
    day: str
    start_equity: float
    equity: float
    realized: float  # after fees
    unrealized: float  # at the liquidation side
    fees: float
    net: float
    loss_pct: float  # drawdown from the opening equity; negative when up
    limit_pct: float
    halt_pct: float | None
    state: str
    liquidity: tuple[LiquidityRow, ...] = ()


@dataclass(frozen=True, slots=True)
class SignalRow:
    ts: datetime
    strategy: str
    symbol: str
    action: str
    confidence: float
    entry_limit: float
    reason: str
    order_status: str  # what became of it: filled, denied, … or "" when no order


@dataclass(frozen=True, slots=True)
class SignalsView:
    rows: list[SignalRow]


@dataclass(frozen=True, slots=True)
class LimitRow:
    name: str
    limit: str
    used: str


@dataclass(frozen=True, slots=True)
class RiskView:
    state: str
    paused: bool
    reason: str
    limits: list[LimitRow]
    denials_by_rule: dict[str, int]


@dataclass(frozen=True, slots=True)
class StrategyRow:
    name: str
    enabled: bool
    errors: int
    disabled_reason: str
    signals: int


@dataclass(frozen=True, slots=True)
class StrategiesView:
    rows: list[StrategyRow]


@dataclass(frozen=True, slots=True)
class AuditRow:
    ts: datetime
    actor: str
    command: str
    allowed: bool
    result: str


@dataclass(frozen=True, slots=True)
class AuditView:
    rows: list[AuditRow]


@dataclass(frozen=True, slots=True)
class VersionView:
    components: dict[str, str] = field(default_factory=dict)


def status_view(bot: Bot, health: Mapping[str, Any]) -> StatusView:
    control = bot.control
    quotes = bot.market.quotes
    return StatusView(
        mode=bot.settings.mode, broker=bot.settings.broker, state=control.state.value,
        paused=control.paused, reason=control.reason, breaker_latched=control.latched_by_breaker,
        last_event_at=bot.engine.last_event_at, feed_stale=bool(health.get("feed_stale", False)),
        broker_connected=broker_connected(bot.broker),
        store_healthy=bot.orders.store_healthy, uptime_seconds=health.get("uptime_seconds"),
        open_positions=len(bot.portfolio.open_positions()),
        working_orders=len(bot.orders.open_orders()),
        equity=round(bot.portfolio.equity(quotes, at_liquidation=True), 2),
        broker_note=broker_note(bot))


def broker_note(bot: Bot) -> str:
    """What a person needs next to "disconnected": the adapter's reason, for how long, and
    whether it is IB's planned nightly restart."""
    state = getattr(bot.broker, "connection", None)
    if broker_connected(bot.broker) is not False or state is None:
        return ""
    parts = [str(getattr(state, "reason", "") or "")]
    since = getattr(state, "since", None)
    if isinstance(since, datetime):
        parts.append(f"for {max(0.0, (bot.clock.now() - since).total_seconds()):,.0f} s")
    if in_planned_downtime(bot.broker):
        parts.append("planned downtime")
    return ", ".join(p for p in parts if p)


def positions_view(bot: Bot) -> PositionsView:
    rows = []
    for pos in sorted(bot.portfolio.open_positions(), key=lambda p: p.symbol):
        quote = bot.market.quote(pos.symbol)
        mark = None
        if quote is not None and quote.ask > 0:
            mark = quote.bid if pos.quantity > 0 else quote.ask
        price = pos.average_price if mark is None else mark
        unrealized = (price - pos.average_price) * pos.quantity * multiplier(pos.symbol)
        rows.append(PositionRow(pos.symbol, pos.quantity, pos.average_price, mark,
                                round(unrealized, 2)))
    return PositionsView(rows, round(sum(r.unrealized for r in rows), 2))


def _order_row(order: Order) -> OrderRow:
    r = order.request
    return OrderRow(r.client_order_id, r.symbol, r.side.value, r.quantity, order.filled_quantity,
                    r.order_type.value, r.limit_price, order.status.value, order.status_reason,
                    order.created_at)


def orders_view(bot: Bot, recent: int = 8) -> OrdersView:
    working = [_order_row(o) for o in bot.orders.open_orders()]
    done = sorted((o for o in bot.orders.orders.values() if not o.status.is_open),
                  key=lambda o: o.updated_at or o.created_at, reverse=True)
    return OrdersView(working, [_order_row(o) for o in done[:recent]])


def session_day(bot: Bot) -> str:
    """The trading day the books are on (New York date), for 'today' in every view."""
    return bot.control.session_day or bot.clock.now().astimezone(NEW_YORK).date().isoformat()


def pnl_view(bot: Bot) -> PnlView:
    quotes, portfolio, cfg = bot.market.quotes, bot.portfolio, bot.settings.risk
    equity = portfolio.equity(quotes, at_liquidation=True)
    start = bot.control.start_of_day_equity or portfolio.starting_cash
    loss = (start - equity) / start if start > 0 else 0.0
    return PnlView(
        day=session_day(bot), start_equity=round(start, 2), equity=round(equity, 2),
        realized=round(portfolio.realized_pnl, 2),
        unrealized=round(portfolio.unrealized_pnl(quotes, at_liquidation=True), 2),
        fees=round(portfolio.fees, 2), net=round(equity - start, 2), loss_pct=loss,
        limit_pct=cfg.max_daily_loss_pct, halt_pct=cfg.halt_daily_loss_pct,
        state=bot.control.state.value, liquidity=liquidity_today(bot))


def liquidity_today(bot: Bot) -> tuple[LiquidityRow, ...]:
    """Per strategy, today's fills against the market at each decision (store read: a
    command, not the hot path)."""
    since = datetime.combine(date.fromisoformat(session_day(bot)), time.min, NEW_YORK)
    rows = []
    for name, s in summarize(from_store(bot.store, since)).items():
        markout = s["avg_markout_1m_per_contract"]
        rows.append(LiquidityRow(name, int(s["fills"]), int(s["contracts"]),
                                 s["saved_vs_natural"], s["avg_vs_natural_per_contract"],
                                 s["avg_spread_captured"],
                                 None if markout != markout else markout))  # NaN: none yet
    return tuple(rows)


def signals_view(bot: Bot, limit: int = 8) -> SignalsView:
    # Denied orders are not kept in memory; their rule is in the risk decisions.
    denied = {d["client_order_id"]: d["rule"] for d in bot.store.load_risk_decisions(200)
              if d["decision"] == "reject"}
    rows = []
    for s in bot.store.load_signals(limit):
        cid = s["client_order_id"] or ""
        order = bot.orders.orders.get(cid)
        outcome = (order.status.value if order is not None
                   else f"denied by {denied[cid]}" if cid in denied else "")
        rows.append(SignalRow(s["ts"], s["strategy"], s["symbol"], s["action"],
                              s["confidence"], s["entry_limit"], s["reason"], outcome))
    return SignalsView(rows)


def risk_view(bot: Bot) -> RiskView:
    cfg = bot.settings.risk
    pnl = pnl_view(bot)
    open_trades = len(bot.portfolio.open_positions()) + bot.orders.working_entries()
    limits = [
        LimitRow("daily loss (REDUCING)", f"{cfg.max_daily_loss_pct:.1%}",
                 f"{max(pnl.loss_pct, 0.0):.2%}"),
        LimitRow("daily loss (HALT)",
                 "off" if cfg.halt_daily_loss_pct is None else f"{cfg.halt_daily_loss_pct:.1%}",
                 f"{max(pnl.loss_pct, 0.0):.2%}"),
        LimitRow("concurrent trades", str(cfg.max_concurrent_trades), str(open_trades)),
        LimitRow("position size", f"{cfg.max_position_pct:.1%} of equity", "per order"),
        LimitRow("risk per trade", f"{cfg.risk_per_trade_pct:.1%} of equity", "per order"),
        LimitRow("contracts per order", str(cfg.max_contracts_per_order), "per order"),
    ]
    day = session_day(bot)
    denials = Counter(d["rule"] for d in bot.store.load_risk_decisions(500)
                      if d["decision"] == "reject"
                      and d["ts"].astimezone(NEW_YORK).date().isoformat() == day)
    return RiskView(bot.control.state.value, bot.control.paused, bot.control.reason, limits,
                    dict(denials.most_common()))


def strategies_view(bot: Bot) -> StrategiesView:
    return StrategiesView([StrategyRow(g.name, g.enabled, g.errors, g.disabled_reason,
                                       g.signals_emitted) for g in bot.engine.strategies])


def audit_view(bot: Bot, limit: int = 10) -> AuditView:
    return AuditView([AuditRow(r["ts"], r["actor"], r["command"], bool(r["allowed"]),
                               r["result"]) for r in bot.store.load_audit(limit)])


def version_view(extra: Mapping[str, str] | None = None) -> VersionView:
    components = {"tradefly": _version("tradefly"), "python": platform.python_version()}
    components.update(extra or {})
    return VersionView(components)


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"
