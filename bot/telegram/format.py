"""Outcomes and views as short Telegram messages (HTML parse mode; every value escaped).

A phone screen is about 35 monospace characters wide: tables are narrow, option symbols are
shortened to `GOOG 12/24 750C`, numbers carry no more digits than a trader reads.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Any

from bot.control import CommandSpec, Outcome, Status
from bot.control_report import ReportView
from bot.control_views import (
    AuditView,
    OrdersView,
    PnlView,
    PositionsView,
    RiskView,
    SignalsView,
    StatusView,
    StrategiesView,
    VersionView,
)
from market.calendar import NEW_YORK
from market.instruments import OptionSymbol

TRUNCATE = 3900
MAX_REPORT_ROWS = 30  # a day of scalping fits; older rows are counted, not listed


def short_symbol(symbol: str) -> str:
    try:
        opt = OptionSymbol.parse(symbol)
    except ValueError:
        return symbol
    strike = f"{opt.strike:g}"
    return f"{opt.root} {opt.expiration:%m/%d} {strike}{opt.right.value}"


def _t(ts: datetime | None) -> str:
    return "—" if ts is None else ts.astimezone(NEW_YORK).strftime("%H:%M:%S")


def _money(x: float) -> str:
    return f"{x:+,.2f}"


def _pre(lines: list[str]) -> str:
    return "<pre>" + escape("\n".join(lines)) + "</pre>"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, _ = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def fmt_status(v: StatusView) -> str:
    state = v.state.upper() + (" (breaker)" if v.breaker_latched else "")
    lines = [f"<b>TradeFly</b> {escape(v.mode)} via {escape(v.broker)} · <b>{state}</b>"]
    if v.reason and v.state != "active":
        lines.append(f"Why: {escape(v.reason)}")
    lines.append("Entries: " + ("<b>PAUSED</b>" if v.paused else "allowed"))
    age = ("" if v.last_event_at is None else
           f" ({(datetime.now(UTC) - v.last_event_at).total_seconds():,.0f} s ago)"
           if v.mode == "live" else "")
    lines.append(f"Feed: {'<b>STALE</b>' if v.feed_stale else 'ok'}, last event "
                 f"{_t(v.last_event_at)}{age}")
    broker = {None: "n/a", True: "connected", False: "<b>DISCONNECTED</b>"}[v.broker_connected]
    if v.broker_note:
        broker += f" ({escape(v.broker_note)})"
    lines.append(f"Broker: {broker} · Store: {'ok' if v.store_healthy else '<b>FAILING</b>'}")
    lines.append(f"Positions {v.open_positions} · working orders {v.working_orders} · "
                 f"equity {v.equity:,.2f}")
    lines.append(f"Up {_duration(v.uptime_seconds)}")
    return "\n".join(lines)


def fmt_positions(v: PositionsView) -> str:
    if not v.rows:
        return "No open positions."
    rows = [f"{'contract':<17}{'qty':>4}{'avg':>7}{'mark':>7}"]
    for r in v.rows:
        mark = "—" if r.mark is None else f"{r.mark:.2f}"
        rows.append(f"{short_symbol(r.symbol):<17}{r.quantity:>+4d}{r.average_price:>7.2f}"
                    f"{mark:>7}")
        rows.append(f"{'':<17}uPnL {_money(r.unrealized)}")
    return f"<b>Positions</b> (unrealized {_money(v.total_unrealized)})\n" + _pre(rows)


def _order_line(o: Any) -> str:
    price = "MKT" if o.limit_price is None else f"{o.limit_price:.2f}"
    fill = f" {o.filled}/{o.quantity}" if o.filled else f" {o.quantity}"
    return f"{_t(o.created_at)} {o.side} {short_symbol(o.symbol)}{fill} @{price} {o.status}"


def fmt_orders(v: OrdersView) -> str:
    parts = [f"<b>Working orders</b>: {len(v.working)}"]
    if v.working:
        parts.append(_pre([_order_line(o) for o in v.working]))
    if v.recent:
        parts.append("<b>Latest</b>")
        parts.append(_pre([_order_line(o) for o in v.recent]))
    return "\n".join(parts)


def fmt_pnl(v: PnlView) -> str:
    used = max(v.loss_pct, 0.0) / v.limit_pct if v.limit_pct else 0.0
    halt = "" if v.halt_pct is None else f", halt at {v.halt_pct:.1%}"
    return "\n".join([
        f"<b>P&amp;L {escape(v.day)}</b> · {v.state.upper()}",
        f"Net {_money(v.net)} ({-v.loss_pct:+.2%})",
        f"Realized {_money(v.realized)} (after fees {v.fees:,.2f})",
        f"Unrealized {_money(v.unrealized)} (at bid/ask)",
        f"Equity {v.start_equity:,.2f} → {v.equity:,.2f}",
        f"Daily-loss limit {v.limit_pct:.1%}{halt}: {used:.0%} used",
        *_liquidity_lines(v),
    ])


def _liquidity_lines(v: PnlView) -> list[str]:
    """Cost of liquidity, one short line per strategy: saved vs crossing, share of the
    spread, 1-minute mark-out per contract."""
    if not v.liquidity:
        return []
    lines = ["<b>Vs crossing the spread</b>"]
    for r in v.liquidity:
        markout = "n/a" if r.markout_1m is None else _money(r.markout_1m)
        lines.append(f"{escape(r.strategy)}: {r.contracts} ct {_money(r.saved)} "
                     f"({_money(r.per_contract)}/ct, {r.spread_captured:.0%} of spread), "
                     f"1m {markout}/ct")
    return lines


def fmt_signals(v: SignalsView) -> str:
    if not v.rows:
        return "No signals yet."
    lines = ["<b>Latest signals</b>"]
    for s in v.rows:
        outcome = f" → {s.order_status}" if s.order_status else ""
        lines.append(f"{_t(s.ts)} {escape(s.strategy)} {escape(s.action)} "
                     f"{escape(short_symbol(s.symbol))} @{s.entry_limit:.2f} "
                     f"conf {s.confidence:.2f}{escape(outcome)}\n   <i>{escape(s.reason)}</i>")
    return "\n".join(lines)


def fmt_risk(v: RiskView) -> str:
    lines = [f"<b>Risk</b> · {v.state.upper()}" + (" · entries PAUSED" if v.paused else "")]
    rows = [f"{'limit':<20}{'max':>8} {'used':>6}"]
    rows += [f"{r.name:<20}{r.limit:>8} {r.used:>6}" for r in v.limits]
    lines.append(_pre(rows))
    if v.denials_by_rule:
        lines.append("Denied today: " + escape(", ".join(f"{k} {n}"
                                                         for k, n in v.denials_by_rule.items())))
    return "\n".join(lines)


def fmt_strategies(v: StrategiesView) -> str:
    lines = ["<b>Strategies</b>"]
    for r in v.rows:
        mark = "🟢 on" if r.enabled else "⚪ off"
        extra = f" — {escape(r.disabled_reason)}" if r.disabled_reason else ""
        lines.append(f"{mark} <b>{escape(r.name)}</b>: {r.signals} signals, {r.errors} errors"
                     f"{extra}")
    lines.append("Switch: /strategy NAME on|off")
    return "\n".join(lines)


def fmt_version(v: VersionView) -> str:
    return "\n".join(f"{escape(k)} {escape(val)}" for k, val in v.components.items())


def fmt_audit(v: AuditView) -> str:
    lines = ["<b>Latest commands</b> (newest first)"]
    for r in v.rows:
        mark = "✔" if r.allowed else "✘"
        lines.append(f"{mark} {r.ts.astimezone(NEW_YORK):%m-%d %H:%M:%S} {escape(r.actor)}: "
                     f"{escape(r.command)} → {escape(r.result[:120])}")
    return "\n".join(lines)


def fmt_help(commands: list[CommandSpec]) -> str:
    lines = ["<b>TradeFly commands</b>"]
    for c in commands:
        usage = f" {c.usage}" if c.usage else ""
        confirm = " (asks to confirm)" if c.confirm else ""
        lines.append(f"/{c.name}{escape(usage)} — {escape(c.summary)}{confirm}")
    return "\n".join(lines)


def fmt_report(v: ReportView) -> str:
    lines = [f"<b>Report {escape(v.day)}</b>: {len(v.trades)} trades, net {_money(v.pnl.net)}"]
    shown = v.trades[-MAX_REPORT_ROWS:]
    rows = [] if len(shown) == len(v.trades) else [
        f"… {len(v.trades) - len(shown)} earlier trades"]
    for t in shown:
        exit_ = "open" if t.exit_price is None else f"{t.exit_price:.2f}"
        rows.append(f"{_t(t.opened_at)[:5]} {short_symbol(t.symbol):<16}{t.quantity:>+3d} "
                    f"{t.entry_price:.2f}→{exit_} {t.pnl:+.2f}")
    if rows:
        lines.append(_pre(rows))
    return "\n".join(lines)


VIEWS: dict[type, Callable[[Any], str]] = {
    StatusView: fmt_status, PositionsView: fmt_positions, OrdersView: fmt_orders,
    PnlView: fmt_pnl, SignalsView: fmt_signals, RiskView: fmt_risk,
    StrategiesView: fmt_strategies, VersionView: fmt_version, ReportView: fmt_report,
    AuditView: fmt_audit,
}


def format_outcome(outcome: Outcome) -> str:
    if outcome.status is Status.DONE and outcome.view is not None:
        view = outcome.view
        text = fmt_help(view) if isinstance(view, list) else VIEWS[type(view)](view)
    elif outcome.status is Status.DONE:
        text = escape(outcome.message)
    else:
        icon = {Status.DENIED: "🚫", Status.INVALID: "❔", Status.UNKNOWN: "❔",
                Status.FAILED: "⚠️", Status.CONFIRM: "⚠️"}[outcome.status]
        text = f"{icon} {escape(outcome.message)}"
    return text if len(text) <= TRUNCATE else text[:TRUNCATE] + "…"
