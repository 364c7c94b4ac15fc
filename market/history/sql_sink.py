"""Optional SQL sink: stored 1-minute candles and daily Greeks copied into PostgreSQL.

TimescaleDB is the specification's storage choice for candles: when the extension is installed
in the target database, both tables become hypertables (time-partitioned); otherwise they are
plain tables with the same columns, so dashboards and SQL users see one schema either way.
Rows are keyed (symbol, time) and inserted with ON CONFLICT DO NOTHING, so sinking the same day
twice changes nothing. The Parquet store stays the source of truth; this is an export. SQLite
URLs work too (plain tables), which keeps small setups and quick checks simple.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import TextClause

from market.history.store import HistoryStore

log = logging.getLogger(__name__)

BATCH_ROWS = 20_000

metadata = MetaData()

candles_1m = Table(
    "history_candles_1m", metadata,
    Column("symbol", String(32), primary_key=True),
    Column("ts", DateTime(timezone=True), primary_key=True, doc="window start (UTC)"),
    Column("underlying", String(16), nullable=False),
    Column("open", Float), Column("high", Float), Column("low", Float), Column("close", Float),
    Column("volume", Float), Column("transactions", BigInteger),
)
greeks_daily = Table(
    "history_greeks_daily", metadata,
    Column("symbol", String(32), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("underlying", String(16), nullable=False),
    Column("expiration", Date), Column("right", String(1)), Column("strike", Float),
    Column("close", Float), Column("underlying_close", Float), Column("iv", Float),
    Column("delta", Float), Column("gamma", Float), Column("theta", Float), Column("vega", Float),
    Column("rho", Float),
)
_TIME_COLUMN = {candles_1m.name: "ts", greeks_daily.name: "day"}
#: TimescaleDB's `create_hypertable(relation, time_column_name, …)`: the signature every 2.x
#: release accepts (2.13 added `by_range` dimensions beside it). Both primary keys hold the
#: time column, which a hypertable requires; `migrate_data` moves rows a plain table already
#: had, so installing TimescaleDB later and sinking again upgrades the tables in place.
CREATE_HYPERTABLE = text("SELECT create_hypertable(CAST(:relation AS regclass), "
                         "CAST(:time_column AS name), if_not_exists => TRUE, "
                         "migrate_data => TRUE)")


def hypertable_statements() -> list[tuple[TextClause, dict[str, str]]]:
    """What `ensure_schema` runs when the timescaledb extension is present, in order.

    Not exercised against a real TimescaleDB by the tests: no package for it is reachable
    here (decision 0208); the tests check these statements against a stand-in function with
    the documented signature on a real PostgreSQL.
    """
    return [(CREATE_HYPERTABLE, {"relation": table, "time_column": column})
            for table, column in _TIME_COLUMN.items()]


@dataclass(frozen=True, slots=True)
class SinkReport:
    candles: int
    greeks: int
    hypertables: bool


class SqlSink:
    """Writes history rows to one database (URL as for the bot's store)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        self.hypertables = False

    def close(self) -> None:
        self.engine.dispose()

    def ensure_schema(self) -> bool:
        """Create the tables (idempotent); hypertables when TimescaleDB is installed."""
        metadata.create_all(self.engine, checkfirst=True)
        if self.engine.dialect.name != "postgresql":
            return False
        with self.engine.begin() as conn:
            has_timescale = self._has_timescale(conn)
            if has_timescale:
                for statement, params in hypertable_statements():
                    conn.execute(statement, params)
        self.hypertables = has_timescale
        log.info("history sink ready (%s)", "hypertables" if has_timescale else "plain tables")
        return has_timescale

    @staticmethod
    def _has_timescale(conn: Connection) -> bool:
        return conn.execute(text(
            "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first() is not None

    def _insert(self, table: Table, rows: Iterator[dict[str, Any]]) -> int:
        """Insert new rows (existing keys are left alone); returns how many were new."""
        dialect = self.engine.dialect.name
        key = table.c.symbol
        if dialect == "postgresql":
            statement: Any = pg_insert(table).on_conflict_do_nothing().returning(key)
        elif dialect == "sqlite":
            statement = sqlite_insert(table).on_conflict_do_nothing().returning(key)
        else:
            statement = insert(table).returning(key)
        written = 0
        batch: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for row in rows:
                batch.append(row)
                if len(batch) == BATCH_ROWS:
                    written += len(conn.execute(statement, batch).all())
                    batch = []
            if batch:
                written += len(conn.execute(statement, batch).all())
        return written

    def write_candles(self, bars: pa.Table, underlying: str) -> int:
        """Minute bars as stored (`options_minute` or `stocks_minute`); returns rows inserted."""
        cols = {name: bars.column(name).to_pylist() for name in (
            "symbol", "window_start", "open", "high", "low", "close", "volume", "transactions")}
        return self._insert(candles_1m, (
            {"symbol": cols["symbol"][i], "ts": cols["window_start"][i],
             "underlying": underlying, "open": cols["open"][i], "high": cols["high"][i],
             "low": cols["low"][i], "close": cols["close"][i], "volume": cols["volume"][i],
             "transactions": cols["transactions"][i]} for i in range(bars.num_rows)))

    def write_greeks(self, greeks: pa.Table, day: date, underlying: str) -> int:
        names = [c.name for c in greeks_daily.columns if c.name not in ("day", "underlying")]
        cols = {name: greeks.column(name).to_pylist() for name in names}
        return self._insert(greeks_daily, (
            {"day": day, "underlying": underlying, **{n: cols[n][i] for n in names}}
            for i in range(greeks.num_rows)))


def sink_history(store: HistoryStore, url: str, underlyings: Sequence[str],
                 days: Sequence[date]) -> SinkReport:
    """Copy the stored minute candles (options and the underlying) and daily Greeks."""
    sink = SqlSink(url)
    try:
        hyper = sink.ensure_schema()
        candles = greeks = 0
        for day in days:
            for und in (u.upper() for u in underlyings):
                for dataset in ("stocks_minute", "options_minute"):
                    bars = store.read(dataset, day, und)
                    if bars is not None:
                        candles += sink.write_candles(bars, und)
                table = store.read("greeks_daily", day, und)
                if table is not None:
                    greeks += sink.write_greeks(table, day, und)
        return SinkReport(candles, greeks, hyper)
    finally:
        sink.close()
