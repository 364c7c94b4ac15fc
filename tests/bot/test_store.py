"""The store behaves the same on SQLite (WAL) and on a real PostgreSQL server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, text

from bot.store.store import Store, StoredPosition
from brokers.orders import Fill, Intent, Order, OrderRequest, OrderStatus, Side

T = datetime(2025, 12, 1, 15, 30, tzinfo=UTC)
PG_URL = os.environ.get("TRADEFLY_TEST_PG_URL")


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    """A fresh database on the local server, dropped afterwards."""
    if not PG_URL:
        pytest.fail("TRADEFLY_TEST_PG_URL is not set: run the tests with `make test`, which "
                    "starts the local PostgreSQL")
    name = f"tradefly_test_{uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        s = Store.open(f"sqlite:///{tmp_path / 's.db'}", account="a")
        yield s
        s.close()
        return
    s = Store.open(request.getfixturevalue("pg_database"), account="a")
    with s.engine.begin() as c:  # each test starts from empty tables
        for table in ("fills", "orders", "positions", "trading_state"):
            c.execute(text(f"DELETE FROM {table}"))
    yield s
    s.close()


def order(cid: str) -> Order:
    return Order(OrderRequest(cid, "XYZ251219C00100000", Side.BUY, 2, limit_price=2.1,
                              intent=Intent.OPEN, strategy="s", reason="why"), T,
                 updated_at=T)


def test_orders_round_trip_with_aware_utc_times(store: Store) -> None:
    store.insert_order(order("a"))
    (loaded,) = store.load_orders()
    assert loaded.client_order_id == "a" and loaded.status is OrderStatus.NEW
    assert loaded.created_at == T and loaded.created_at.tzinfo is not None
    assert loaded.request.limit_price == 2.1 and loaded.request.reason == "why"


def test_fill_is_recorded_once_with_its_order_and_position_atomically(store: Store) -> None:
    o = order("a")
    store.insert_order(o)
    fill = Fill("F1", "a", o.request.symbol, Side.BUY, 2, 2.1, T, 1.3)
    o.status, o.filled_quantity, o.average_fill_price = OrderStatus.FILLED, 2, 2.1
    pos = StoredPosition(o.request.symbol, "XYZ", 2, 2.1, -1.3, 1.3)
    assert store.record_fill(fill, o, pos) is True
    assert store.record_fill(fill, o, pos) is False  # idempotent by fill id
    assert store.fill_ids() == {"F1"}
    assert store.load_orders()[0].status is OrderStatus.FILLED
    (p,) = store.load_positions()
    assert (p.quantity, p.average_price, p.fees) == (2, 2.1, 1.3)


def test_trading_state_persists(store: Store) -> None:
    store.set_state("state", "reducing", T)
    store.set_state("state", "halted", T)
    assert store.get_state("state") == "halted"
    assert store.all_state() == {"state": "halted"}


def test_open_orders_filter(store: Store) -> None:
    store.insert_order(order("a"))
    done = order("b")
    done.status = OrderStatus.CANCELLED
    store.insert_order(done)
    assert [o.client_order_id for o in store.load_orders(open_only=True)] == ["a"]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    s = Store.open(f"sqlite:///{tmp_path / 'w.db'}", "a")
    with s.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    s.close()


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    Store.open(url, "a").close()
    s = Store.open(url, "a")
    s.insert_order(order("x"))
    assert len(s.load_orders()) == 1
    s.close()
