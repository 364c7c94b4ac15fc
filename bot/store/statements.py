"""The order path's statements and row mapping, kept apart from the Store's transactions.

The statements are compiled once per dialect (`bot/store/prepared.py` says why); both
supported dialects upsert in one statement (INSERT ... ON CONFLICT).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect

from bot.store import schema as t
from bot.store.prepared import Prepared
from brokers.orders import Intent, Order, OrderRequest, OrderStatus, OrderType, Side, TimeInForce


class OrderPathStatements:
    """The order path's statements, compiled once for the store's dialect."""

    def __init__(self, dialect: Dialect) -> None:
        def insert_into(table: Table, columns: list[str]) -> Prepared:
            return Prepared(table.insert(), dialect, columns)

        def b(name: str) -> Any:
            return bindparam(f"b_{name}")

        self.insert_order = insert_into(t.orders, ORDER_COLUMNS)
        self.update_order = Prepared(
            update(t.orders)
            .where(t.orders.c.client_order_id == b("cid"))
            .values(
                status=b("status"),
                status_reason=b("reason"),
                filled_quantity=b("filled"),
                average_fill_price=b("avg"),
                broker_order_id=b("broker_id"),
                updated_at=b("updated"),
            ),
            dialect,
        )
        # Both supported dialects upsert in one statement (INSERT ... ON CONFLICT).
        inserts: dict[str, Callable[[Table], Any]] = {
            "sqlite": sqlite_insert,
            "postgresql": postgresql_insert,
        }
        dialect_insert = inserts[dialect.name]
        self.insert_fill = Prepared(
            dialect_insert(t.fills).on_conflict_do_nothing(index_elements=["fill_id"]),
            dialect,
            FILL_COLUMNS,
        )

        def upsert(table: Table, key: list[str]) -> Prepared:
            columns = [c.key for c in table.c]
            statement = dialect_insert(table)
            return Prepared(
                statement.on_conflict_do_update(
                    index_elements=key,
                    set_={k: statement.excluded[k] for k in columns if k not in key},
                ),
                dialect,
                columns,
            )

        self.upsert_position = upsert(t.positions, ["account", "symbol"])
        self.upsert_state = upsert(t.trading_state, ["account", "key"])
        self.upsert_daily_pnl = upsert(t.daily_pnl, ["account", "day"])
        self.markout_1m, self.markout_5m = (
            Prepared(
                update(t.fills).where(t.fills.c.fill_id == b("fill_id")).values({column: b("mid")}),
                dialect,
            )
            for column in (t.fills.c.mid_after_1m, t.fills.c.mid_after_5m)
        )
        self.insert_bracket = insert_into(
            t.brackets,
            ["entry_id", "account", "symbol", "target", "stop", "time_stop_at", "active"],
        )
        self.close_bracket = Prepared(
            update(t.brackets)
            .where(t.brackets.c.entry_id == b("entry_id"))
            .values(active=b("active"), exit_id=b("exit_id")),
            dialect,
        )
        self.insert_signal = insert_into(
            t.signals,
            [
                "account",
                "ts",
                "strategy",
                "symbol",
                "action",
                "confidence",
                "entry_limit",
                "target",
                "stop",
                "reason",
                "client_order_id",
            ],
        )
        self.insert_decision = insert_into(
            t.risk_decisions,
            ["account", "ts", "client_order_id", "symbol", "decision", "rule", "reason"],
        )


ORDER_COLUMNS = [
    "client_order_id",
    "account",
    "symbol",
    "underlying",
    "side",
    "quantity",
    "order_type",
    "limit_price",
    "intent",
    "time_in_force",
    "strategy",
    "reason",
    "parent_id",
    "status",
    "status_reason",
    "filled_quantity",
    "average_fill_price",
    "broker_order_id",
    "risk_rule",
    "replaces",
    "nbbo_bid",
    "nbbo_ask",
    "created_at",
    "updated_at",
]
FILL_COLUMNS = [
    "fill_id",
    "account",
    "client_order_id",
    "symbol",
    "underlying",
    "side",
    "quantity",
    "price",
    "commission",
    "ts",
    "nbbo_bid",
    "nbbo_ask",
    "strategy",
]


def order_state(order: Order) -> dict[str, Any]:
    """The bind values of `update_order` for an order's current state."""
    return {
        "b_cid": order.client_order_id,
        "b_status": order.status.value,
        "b_reason": order.status_reason,
        "b_filled": order.filled_quantity,
        "b_avg": order.average_fill_price,
        "b_broker_id": order.broker_order_id,
        "b_updated": order.updated_at,
    }


def order_from_row(r: dict[str, Any]) -> Order:
    """An order as the store keeps it, back from its row."""
    req = OrderRequest(
        client_order_id=r["client_order_id"],
        symbol=r["symbol"],
        side=Side(r["side"]),
        quantity=r["quantity"],
        order_type=OrderType(r["order_type"]),
        limit_price=r["limit_price"],
        intent=Intent(r["intent"]),
        time_in_force=TimeInForce(r["time_in_force"]),
        underlying=r["underlying"],
        strategy=r["strategy"],
        reason=r["reason"],
        parent_id=r["parent_id"],
        replaces=r.get("replaces"),
    )
    return Order(
        req,
        r["created_at"],
        OrderStatus(r["status"]),
        r["filled_quantity"],
        r["average_fill_price"],
        r["broker_order_id"],
        r["updated_at"],
        r["status_reason"],
        r.get("nbbo_bid"),
        r.get("nbbo_ask"),
    )
