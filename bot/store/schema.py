"""Table definitions (SQLAlchemy Core). Alembic migrations in `migrations/` create them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

orders = Table(
    "orders", metadata,
    Column("client_order_id", String(64), primary_key=True),
    Column("account", String(32), nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("underlying", String(16), nullable=False, default=""),
    Column("side", String(4), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("limit_price", Float),
    Column("intent", String(8), nullable=False),
    Column("time_in_force", String(4), nullable=False),
    Column("strategy", String(32), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("parent_id", String(64)),
    Column("status", String(24), nullable=False, index=True),
    Column("status_reason", Text, nullable=False, default=""),
    Column("filled_quantity", Integer, nullable=False, default=0),
    Column("average_fill_price", Float, nullable=False, default=0.0),
    Column("broker_order_id", String(64)),
    Column("risk_rule", String(48)),
    Column("replaces", String(64)),  # the order this one replaced (smart-pricing steps)
    Column("nbbo_bid", Float),  # the market when the order was created
    Column("nbbo_ask", Float),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime()),
)

fills = Table(
    "fills", metadata,
    Column("fill_id", String(96), primary_key=True),
    Column("account", String(32), nullable=False, index=True),
    Column("client_order_id", String(96), nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("underlying", String(16), nullable=False, default=""),
    Column("side", String(4), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", Float, nullable=False),
    Column("commission", Float, nullable=False, default=0.0),
    Column("ts", UtcDateTime(), nullable=False),
    Column("nbbo_bid", Float),  # the market when the fill happened
    Column("nbbo_ask", Float),
    Column("strategy", String(32)),
    Column("mid_after_1m", Float),  # mark-outs: the mid 1 and 5 minutes later
    Column("mid_after_5m", Float),
)

positions = Table(
    "positions", metadata,
    Column("account", String(32), primary_key=True),
    Column("symbol", String(32), primary_key=True),
    Column("underlying", String(16), nullable=False, default=""),
    Column("quantity", Integer, nullable=False),
    Column("average_price", Float, nullable=False),
    Column("realized_pnl", Float, nullable=False, default=0.0),
    Column("fees", Float, nullable=False, default=0.0),
    Column("updated_at", UtcDateTime()),
)

brackets = Table(
    "brackets", metadata,
    Column("entry_id", String(64), primary_key=True),
    Column("account", String(32), nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("target", Float),
    Column("stop", Float),
    Column("time_stop_at", UtcDateTime()),
    Column("active", Boolean, nullable=False, default=True),
    Column("exit_id", String(64)),
)

signals = Table(
    "signals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(32), nullable=False, index=True),
    Column("ts", UtcDateTime(), nullable=False),
    Column("strategy", String(32), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("entry_limit", Float, nullable=False),
    Column("target", Float),
    Column("stop", Float),
    Column("reason", Text, nullable=False),
    Column("client_order_id", String(64)),
)

risk_decisions = Table(
    "risk_decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(32), nullable=False, index=True),
    Column("ts", UtcDateTime(), nullable=False),
    Column("client_order_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("decision", String(8), nullable=False),
    Column("rule", String(48), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
)

trading_state = Table(
    "trading_state", metadata,
    Column("account", String(32), primary_key=True),
    Column("key", String(48), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

daily_pnl = Table(
    "daily_pnl", metadata,
    Column("account", String(32), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("start_equity", Float, nullable=False),
    Column("end_equity", Float),
    Column("realized", Float, nullable=False, default=0.0),
    Column("fees", Float, nullable=False, default=0.0),
    Column("trades", Integer, nullable=False, default=0),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", UtcDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("command", Text, nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("result", Text, nullable=False, default=""),
)

# Daily market history (decision 0340): one value per underlying, series and session (the
# closing 30-day ATM IV, option volume in all, calls, puts), and each option contract's
# session volume. Market data, not books: no account column.
underlying_daily = Table(
    "underlying_daily", metadata,
    Column("underlying", String(16), primary_key=True),
    Column("series", String(24), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("value", Float, nullable=False),
    Column("source", String(8), nullable=False, default="live"),  # live | history
)

contract_daily_volume = Table(
    "contract_daily_volume", metadata,
    Column("symbol", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("underlying", String(16), nullable=False),
    Column("volume", Integer, nullable=False),
    Column("source", String(8), nullable=False, default="live"),
    Index("ix_contract_daily_volume_underlying_day", "underlying", "day"),
)
