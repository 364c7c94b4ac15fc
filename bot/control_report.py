"""The day's report: round-trip trades from the stored fills and the equity curve they draw.

Trades and the curve come from the fills in the store (not from memory), so the report after a
restart is the same as before it. P&L per fill reuses `Position.apply`, the same arithmetic the
portfolio books with, so the report can never disagree with /pnl on realized money.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure

from bot.control_views import PnlView, pnl_view, session_day
from bot.portfolio import Position
from bot.wiring import Bot
from brokers.orders import Fill
from market.calendar import NEW_YORK


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One round trip: a position opened from flat and closed back to flat (or still open)."""

    symbol: str
    quantity: int  # largest signed size held during the trade
    entry_price: float
    exit_price: float | None  # None while open
    pnl: float  # realized, after fees
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ReportView:
    day: str
    trades: list[TradeRow]
    curve: list[tuple[datetime, float]]  # realized equity after each fill
    pnl: PnlView


@dataclass(slots=True)
class _Open:
    position: Position
    opened_at: datetime
    peak: int = 0
    entry_notional: float = 0.0
    entry_quantity: int = 0
    exit_notional: float = 0.0
    exit_quantity: int = 0


def round_trips(fills: list[Fill], start_equity: float
                ) -> tuple[list[TradeRow], list[tuple[datetime, float]]]:
    """Group time-ordered fills into round trips and the realized-equity curve."""
    trades: list[TradeRow] = []
    curve: list[tuple[datetime, float]] = []
    book: dict[str, _Open] = {}
    realized = 0.0
    for fill in sorted(fills, key=lambda f: f.ts):
        cur = book.get(fill.symbol)
        if cur is None:
            cur = book[fill.symbol] = _Open(Position(fill.symbol, fill.underlying), fill.ts)
        before_qty, before_pnl = cur.position.quantity, cur.position.realized_pnl
        cur.position.apply(fill)
        realized += cur.position.realized_pnl - before_pnl
        if abs(cur.position.quantity) < abs(before_qty):
            cur.exit_notional += fill.price * fill.quantity
            cur.exit_quantity += fill.quantity
        else:
            cur.entry_notional += fill.price * fill.quantity
            cur.entry_quantity += fill.quantity
        if abs(cur.position.quantity) > abs(cur.peak):
            cur.peak = cur.position.quantity
        curve.append((fill.ts, round(start_equity + realized, 2)))
        if cur.position.quantity == 0:
            trades.append(_row(cur, fill.ts))
            del book[fill.symbol]
    trades.extend(_row(cur, None) for cur in book.values())
    trades.sort(key=lambda t: t.opened_at)
    return trades, curve


def _row(cur: _Open, closed_at: datetime | None) -> TradeRow:
    entry = cur.entry_notional / cur.entry_quantity if cur.entry_quantity else 0.0
    exit_price = cur.exit_notional / cur.exit_quantity if cur.exit_quantity else None
    return TradeRow(cur.position.symbol, cur.peak, round(entry, 4),
                    None if exit_price is None else round(exit_price, 4),
                    round(cur.position.realized_pnl, 2), cur.opened_at, closed_at)


def day_fills(bot: Bot, day: str) -> list[Fill]:
    return [f for f in bot.store.load_fills()
            if f.ts.astimezone(NEW_YORK).date().isoformat() == day]


def report_view(bot: Bot) -> ReportView:
    pnl = pnl_view(bot)
    day = session_day(bot)
    trades, curve = round_trips(day_fills(bot, day), pnl.start_equity)
    return ReportView(day, trades, curve, pnl)


def render_equity_png(report: ReportView) -> bytes:
    """The realized equity curve as a PNG. Pure and thread-safe (no pyplot state), so the
    caller may run it in a worker thread to keep the event loop free."""
    fig = Figure(figsize=(8, 3.6), dpi=100)
    ax = fig.add_subplot()
    start = report.pnl.start_equity
    if report.curve:
        times = date2num([report.curve[0][0], *(t for t, _ in report.curve)])
        values = [start, *(v for _, v in report.curve)]
        ax.step(times, values, where="post", color="#1f77b4", linewidth=1.6)
        ax.fill_between(times, values, start, step="post", alpha=0.15,
                        color="#2ca02c" if values[-1] >= start else "#d62728")
        ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=NEW_YORK))
    else:
        ax.text(0.5, 0.5, "no fills today", ha="center", va="center", transform=ax.transAxes)
    ax.axhline(start, color="grey", linewidth=0.8, linestyle="--")
    ax.set_title(f"TradeFly {report.day}: realized equity (net {report.pnl.net:+,.2f})")
    ax.set_ylabel("equity")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
