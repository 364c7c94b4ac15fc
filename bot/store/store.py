"""The Store: durable books behind SQLAlchemy, SQLite (WAL) by default or PostgreSQL.

Order-path writes (an order before it is sent, each status change, each fill with its position)
commit immediately, each in one transaction: after a crash the books say exactly what had
happened. Signals and risk decisions are history, not recovery state; they commit with the next
order-path write or on `flush()`.

The durability is a policy given at open (`Durability`): EACH_WRITE (the default, the live one)
commits every order-path write; AT_FLUSH commits only on `flush()` (the engine flushes at each
session close), for a throwaway store such as a backtest's, where a crash loses nothing worth
keeping. The statements, their order and their atomic groups are the same under both.
The order-path statements run pre-compiled on the DB-API cursor (`bot/store/prepared.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Connection,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine

from bot.brackets import Bracket
from bot.store import schema as t
from bot.store.prepared import Prepared
from bot.store.statements import OrderPathStatements, order_from_row, order_state
from brokers.orders import (
    Fill,
    Order,
    OrderStatus,
    Side,
)

MIGRATIONS = Path(__file__).with_name("migrations")


class StoreError(RuntimeError):
    """The store could not write: new entries must stop until it can."""


class Durability(Enum):
    """When order-path writes commit (see the module docstring)."""

    EACH_WRITE = "each_write"
    AT_FLUSH = "at_flush"


@dataclass(slots=True)
class StoredPosition:
    symbol: str
    underlying: str
    quantity: int
    average_price: float
    realized_pnl: float
    fees: float


def make_engine(url: str, sqlite_synchronous: str = "NORMAL") -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Store:
    def __init__(
        self, engine: Engine, account: str, durability: Durability = Durability.EACH_WRITE
    ) -> None:
        self.engine = engine
        self.account = account
        self.durability = durability
        self._commit_each = durability is Durability.EACH_WRITE
        self._conn: Connection = engine.connect()
        self._sql = OrderPathStatements(engine.dialect)
        self._raw: Any = None
        self._cur: Any = None

    @classmethod
    def open(
        cls,
        url: str,
        account: str,
        sqlite_synchronous: str = "NORMAL",
        durability: Durability = Durability.EACH_WRITE,
    ) -> Store:
        engine = make_engine(url, sqlite_synchronous)
        migrate(engine)
        return cls(engine, account, durability)

    def close(self) -> None:
        self._commit()
        self._conn.close()
        self.engine.dispose()

    # -- transactions ---------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One atomic group of writes, committed at its end (EACH_WRITE) or at the next
        `flush()` (AT_FLUSH). A failure rolls back what is not committed."""
        try:
            if not self._conn.in_transaction():
                self._conn.begin()
            yield self._conn
            if self._commit_each:
                self._conn.commit()
        except Exception as exc:
            if self._conn.in_transaction():
                self._conn.rollback()
            raise StoreError(f"store write failed: {exc}") from exc

    def _run(self, statement: Prepared, values: Mapping[str, Any]) -> Any:
        """Execute a prepared statement on the connection's DB-API cursor (inside the
        SQLAlchemy transaction, which therefore commits or rolls it back)."""
        raw = self._conn.connection.dbapi_connection
        if raw is not self._raw:  # first use, or SQLAlchemy reconnected
            self._raw, self._cur = raw, raw.cursor() if raw is not None else None
        self._cur.execute(statement.sql, statement.params(values))
        return self._cur

    def _buffer(self) -> None:
        """History rows ride in the open transaction and commit with the next write."""
        if not self._conn.in_transaction():
            self._conn.begin()

    def _commit(self) -> None:
        if self._conn.in_transaction():
            self._conn.commit()

    def flush(self) -> None:
        """Commit buffered history (signals, decisions)."""
        try:
            self._commit()
        except Exception as exc:
            raise StoreError(f"store flush failed: {exc}") from exc

    # -- orders ---------------------------------------------------------------------------
    def insert_order(
        self, order: Order, risk_rule: str | None = None, bracket: Bracket | None = None
    ) -> None:
        """Record an order before it is sent; an entry's bracket (its stop, target and time
        stop) goes in the same transaction, so a crash can never leave a sent entry whose
        protection was not recorded."""
        with self._tx():
            self._insert_order(order, risk_rule)
            if bracket is not None:
                self._run(self._sql.insert_bracket, self._bracket_values(bracket))

    def insert_orders(self, orders: list[Order], bracket: Bracket | None = None) -> None:
        """Record several orders (a combo's parent and legs) and their bracket atomically."""
        with self._tx():
            for order in orders:
                self._insert_order(order, None)
            if bracket is not None:
                self._run(self._sql.insert_bracket, self._bracket_values(bracket))

    def _insert_order(self, order: Order, risk_rule: str | None) -> None:
        r = order.request
        self._run(
            self._sql.insert_order,
            {
                "client_order_id": r.client_order_id,
                "account": self.account,
                "symbol": r.symbol,
                "underlying": r.underlying,
                "side": r.side.value,
                "quantity": r.quantity,
                "order_type": r.order_type.value,
                "limit_price": r.limit_price,
                "intent": r.intent.value,
                "time_in_force": r.time_in_force.value,
                "strategy": r.strategy,
                "reason": r.reason,
                "parent_id": r.parent_id,
                "status": order.status.value,
                "status_reason": order.status_reason,
                "filled_quantity": order.filled_quantity,
                "average_fill_price": order.average_fill_price,
                "broker_order_id": order.broker_order_id,
                "risk_rule": risk_rule,
                "replaces": r.replaces,
                "nbbo_bid": order.nbbo_bid,
                "nbbo_ask": order.nbbo_ask,
                "created_at": order.created_at,
                "updated_at": order.updated_at,
            },
        )

    def update_order(self, order: Order) -> None:
        with self._tx():
            self._run(self._sql.update_order, order_state(order))

    def record_fill(
        self,
        fill: Fill,
        order: Order | None,
        position: StoredPosition,
        nbbo: tuple[float, float] | None = None,
    ) -> bool:
        """Store a fill, its order's new state and the position it produced, atomically.
        Returns False (and changes nothing) if this fill id is already recorded. `nbbo` is the
        market at the fill, kept to measure what the liquidity cost."""
        sql = self._sql
        with self._tx():
            # ON CONFLICT DO NOTHING: a fill id already recorded inserts no row.
            inserted = self._run(
                sql.insert_fill,
                {
                    "fill_id": fill.fill_id,
                    "account": self.account,
                    "client_order_id": fill.client_order_id,
                    "symbol": fill.symbol,
                    "underlying": fill.underlying,
                    "side": fill.side.value,
                    "quantity": fill.quantity,
                    "price": fill.price,
                    "commission": fill.commission,
                    "ts": fill.ts,
                    "nbbo_bid": nbbo[0] if nbbo else None,
                    "nbbo_ask": nbbo[1] if nbbo else None,
                    "strategy": order.request.strategy if order is not None else None,
                },
            ).rowcount
            if inserted == 0:
                return False
            if order is not None:
                self._run(sql.update_order, order_state(order))
            self._upsert_position(position, fill.ts)
        return True

    def record_markout(self, fill_id: str, minutes: int, mid: float) -> None:
        """The mid `minutes` after a fill (1 or 5): how the market moved against or for us."""
        statement = {1: self._sql.markout_1m, 5: self._sql.markout_5m}[minutes]
        self._buffer()  # buffered like signals: commits with the next order write
        self._run(statement, {"b_fill_id": fill_id, "b_mid": mid})

    def load_fill_quality(self) -> list[dict[str, Any]]:
        """Fills joined with their order's NBBO at creation: the raw input of execution
        quality reports."""
        q = (
            select(
                t.fills,
                t.orders.c.nbbo_bid.label("order_bid"),
                t.orders.c.nbbo_ask.label("order_ask"),
                t.orders.c.intent,
                t.orders.c.order_type,
            )
            .join(t.orders, t.orders.c.client_order_id == t.fills.c.client_order_id, isouter=True)
            .where(t.fills.c.account == self.account)
            .order_by(t.fills.c.ts)
        )
        rows = self._conn.execute(q).mappings().all()
        self._commit()
        return [dict(r) for r in rows]

    def _upsert_position(self, p: StoredPosition, ts: datetime) -> None:
        values = {
            "account": self.account,
            "symbol": p.symbol,
            "underlying": p.underlying,
            "quantity": p.quantity,
            "average_price": p.average_price,
            "realized_pnl": p.realized_pnl,
            "fees": p.fees,
            "updated_at": ts,
        }
        self._run(self._sql.upsert_position, values)

    def load_orders(self, open_only: bool = False, since: datetime | None = None) -> list[Order]:
        """Orders oldest first; `since` keeps those created at or after it (the risk gate's
        throttle and duplicate windows are rebuilt from the last minute at start-up)."""
        q = select(t.orders).where(t.orders.c.account == self.account)
        if since is not None:
            q = q.where(t.orders.c.created_at >= since)
        if open_only:
            terminal = [s.value for s in OrderStatus if s.is_terminal]
            q = q.where(t.orders.c.status.not_in(terminal))
        rows = self._conn.execute(q.order_by(t.orders.c.created_at)).mappings().all()
        self._commit()
        return [order_from_row(dict(r)) for r in rows]

    def fill_ids(self) -> set[str]:
        rows = self._conn.execute(
            select(t.fills.c.fill_id).where(t.fills.c.account == self.account)
        ).all()
        self._commit()
        return {r[0] for r in rows}

    def load_fills(self) -> list[Fill]:
        rows = (
            self._conn.execute(
                select(t.fills).where(t.fills.c.account == self.account).order_by(t.fills.c.ts)
            )
            .mappings()
            .all()
        )
        self._commit()
        return [
            Fill(
                r["fill_id"],
                r["client_order_id"],
                r["symbol"],
                Side(r["side"]),
                r["quantity"],
                r["price"],
                r["ts"],
                r["commission"],
                r["underlying"],
            )
            for r in rows
        ]

    def load_positions(self) -> list[StoredPosition]:
        rows = (
            self._conn.execute(select(t.positions).where(t.positions.c.account == self.account))
            .mappings()
            .all()
        )
        self._commit()
        return [
            StoredPosition(
                r["symbol"],
                r["underlying"],
                r["quantity"],
                r["average_price"],
                r["realized_pnl"],
                r["fees"],
            )
            for r in rows
        ]

    # -- brackets -------------------------------------------------------------------------
    def _bracket_values(self, bracket: Bracket) -> dict[str, Any]:
        return {
            "entry_id": bracket.entry_id,
            "account": self.account,
            "symbol": bracket.symbol,
            "target": bracket.target,
            "stop": bracket.stop,
            "time_stop_at": bracket.time_stop_at,
            "active": True,
        }

    def close_bracket(self, entry_id: str, exit_id: str | None) -> None:
        with self._tx():
            self._run(
                self._sql.close_bracket,
                {"b_entry_id": entry_id, "b_active": False, "b_exit_id": exit_id},
            )

    def active_brackets(self) -> list[dict[str, Any]]:
        """The brackets still watching (or waiting for) a position, as stored."""
        rows = (
            self._conn.execute(
                select(t.brackets).where(
                    (t.brackets.c.account == self.account) & t.brackets.c.active
                )
            )
            .mappings()
            .all()
        )
        self._commit()
        return [dict(r) for r in rows]

    # -- history (buffered) ---------------------------------------------------------------
    def add_signal(
        self,
        ts: datetime,
        strategy: str,
        symbol: str,
        action: str,
        confidence: float,
        entry_limit: float,
        target: float | None,
        stop: float | None,
        reason: str,
        client_order_id: str | None,
    ) -> None:
        self._buffer()
        self._run(
            self._sql.insert_signal,
            {
                "account": self.account,
                "ts": ts,
                "strategy": strategy,
                "symbol": symbol,
                "action": action,
                "confidence": confidence,
                "entry_limit": entry_limit,
                "target": target,
                "stop": stop,
                "reason": reason,
                "client_order_id": client_order_id,
            },
        )

    def add_risk_decision(
        self, ts: datetime, client_order_id: str, symbol: str, decision: str, rule: str, reason: str
    ) -> None:
        self._buffer()
        self._run(
            self._sql.insert_decision,
            {
                "account": self.account,
                "ts": ts,
                "client_order_id": client_order_id,
                "symbol": symbol,
                "decision": decision,
                "rule": rule,
                "reason": reason,
            },
        )

    def load_signals(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = (
            self._conn.execute(
                select(t.signals)
                .where(t.signals.c.account == self.account)
                .order_by(t.signals.c.id.desc())
                .limit(limit)
            )
            .mappings()
            .all()
        )
        self._commit()
        return [dict(r) for r in rows]

    def load_risk_decisions(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = (
            self._conn.execute(
                select(t.risk_decisions)
                .where(t.risk_decisions.c.account == self.account)
                .order_by(t.risk_decisions.c.id.desc())
                .limit(limit)
            )
            .mappings()
            .all()
        )
        self._commit()
        return [dict(r) for r in rows]

    # -- trading state --------------------------------------------------------------------
    def set_state(self, key: str, value: Any, ts: datetime) -> None:
        values = {"account": self.account, "key": key, "value": json.dumps(value), "updated_at": ts}
        with self._tx():
            self._run(self._sql.upsert_state, values)

    def get_state(self, key: str, default: Any = None) -> Any:
        row = self._conn.execute(
            select(t.trading_state.c.value).where(
                (t.trading_state.c.account == self.account) & (t.trading_state.c.key == key)
            )
        ).first()
        self._commit()
        return default if row is None else json.loads(row[0])

    def all_state(self) -> dict[str, Any]:
        rows = self._conn.execute(
            select(t.trading_state.c.key, t.trading_state.c.value).where(
                t.trading_state.c.account == self.account
            )
        ).all()
        self._commit()
        return {k: json.loads(v) for k, v in rows}

    # -- daily P&L ------------------------------------------------------------------------
    def save_daily_pnl(
        self,
        day: str,
        start_equity: float,
        end_equity: float | None,
        realized: float,
        fees: float,
        trades: int,
    ) -> None:
        values = {
            "account": self.account,
            "day": day,
            "start_equity": start_equity,
            "end_equity": end_equity,
            "realized": realized,
            "fees": fees,
            "trades": trades,
        }
        with self._tx():
            self._run(self._sql.upsert_daily_pnl, values)

    def load_daily_pnl(self) -> list[dict[str, Any]]:
        rows = (
            self._conn.execute(
                select(t.daily_pnl)
                .where(t.daily_pnl.c.account == self.account)
                .order_by(t.daily_pnl.c.day)
            )
            .mappings()
            .all()
        )
        self._commit()
        return [dict(r) for r in rows]

    # -- audit ----------------------------------------------------------------------------
    def audit(
        self, ts: datetime, actor: str, channel: str, command: str, allowed: bool, result: str
    ) -> None:
        with self._tx() as c:
            c.execute(
                insert(t.audit_log).values(
                    ts=ts,
                    actor=actor,
                    channel=channel,
                    command=command,
                    allowed=allowed,
                    result=result,
                )
            )

    def load_audit(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = (
            self._conn.execute(select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit))
            .mappings()
            .all()
        )
        self._commit()
        return [dict(r) for r in rows]
