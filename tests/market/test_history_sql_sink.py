"""The SQL sink against the real local PostgreSQL (see scripts/postgres.sh), and SQLite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from uuid import uuid4

import pyarrow as pa
import pytest
from sqlalchemy import create_engine, text

from market.history.datasets import OPTIONS_MINUTE
from market.history.ingest import store_schema
from market.history.sql_sink import SqlSink, hypertable_statements, sink_history
from market.history.sql_sink import metadata as sink_metadata
from market.history.store import HistoryStore

DAY = date(2024, 8, 16)
PG_URL = os.environ.get("TRADEFLY_TEST_PG_URL")


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        pytest.fail("TRADEFLY_TEST_PG_URL is not set: run `bash scripts/postgres.sh start` and "
                    "`source scripts/postgres.sh env` (make test does both)")
    name = f"tradefly_hist_{uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def store(tmp_path) -> HistoryStore:
    store = HistoryStore(tmp_path / "h")
    start = int(datetime(2024, 8, 16, 13, 30, tzinfo=UTC).timestamp()) * 10**9
    n = 3
    bars = pa.table({
        "symbol": ["SPY240816C00545000"] * n, "expiration": [DAY] * n, "right": ["C"] * n,
        "strike": [545.0] * n, "volume": [10.0, 0.0, 5.0], "open": [1.0, 1.1, 1.2],
        "close": [1.05, 1.15, 1.25], "high": [1.1, 1.2, 1.3], "low": [0.9, 1.0, 1.1],
        "window_start": pa.array([start + i * 60 * 10**9 for i in range(n)]).cast(
            pa.timestamp("ns", tz="UTC")),
        "transactions": [3, 0, 2]}, schema=store_schema(OPTIONS_MINUTE))
    store.write_table(bars, "options_minute", DAY, "SPY")
    greeks = pa.table({"symbol": ["SPY240816C00545000"], "expiration": [DAY], "right": ["C"],
                       "strike": [545.0], "close": [1.25], "underlying_close": [545.5],
                       "iv": [0.21], "delta": [0.55], "gamma": [0.08], "theta": [-30.0],
                       "vega": [0.05], "rho": [0.01]})
    store.write_table(greeks, "greeks_daily", DAY, "SPY")
    return store


@pytest.mark.postgres
def test_candles_and_greeks_reach_postgresql_once(store, pg_url):
    first = sink_history(store, pg_url, ["SPY"], [DAY])
    again = sink_history(store, pg_url, ["SPY"], [DAY])

    assert (first.candles, first.greeks) == (3, 1)
    assert (again.candles, again.greeks) == (0, 0)  # keyed rows: sinking twice adds nothing
    engine = create_engine(pg_url)
    with engine.connect() as c:
        rows = c.execute(text("SELECT ts, close, volume FROM history_candles_1m "
                              "ORDER BY ts")).all()
        iv = c.execute(text("SELECT iv, underlying FROM history_greeks_daily")).one()
        timescale = c.execute(text("SELECT count(*) FROM pg_extension "
                                   "WHERE extname = 'timescaledb'")).scalar_one()
    engine.dispose()
    assert rows[0].ts == datetime(2024, 8, 16, 13, 30, tzinfo=UTC)
    assert [r.close for r in rows] == [1.05, 1.15, 1.25]
    assert tuple(iv) == (0.21, "SPY")
    assert first.hypertables == bool(timescale)


def test_sqlite_gets_plain_tables(store, tmp_path):
    url = f"sqlite:///{tmp_path / 'sink.db'}"
    report = sink_history(store, url, ["SPY"], [DAY])

    assert report == type(report)(candles=3, greeks=1, hypertables=False)


def test_hypertable_statements_name_each_table_by_a_time_column_of_its_key():
    emitted = [(str(stmt), params) for stmt, params in hypertable_statements()]

    assert [p for _, p in emitted] == [
        {"relation": "history_candles_1m", "time_column": "ts"},
        {"relation": "history_greeks_daily", "time_column": "day"}]
    assert all(sql == ("SELECT create_hypertable(CAST(:relation AS regclass), CAST(:time_column "
                       "AS name), if_not_exists => TRUE, migrate_data => TRUE)")
               for sql, _ in emitted)
    for _, params in emitted:  # a hypertable's unique keys must hold its time column
        table = sink_metadata.tables[params["relation"]]
        assert params["time_column"] in {c.name for c in table.primary_key.columns}


# A stand-in with TimescaleDB's documented create_hypertable parameters (names and types), which
# rejects a time column the table lacks as TimescaleDB does. It proves the statements bind and
# run on PostgreSQL; it is NOT TimescaleDB (none is installable here: decision 0208).
STAND_IN = """
CREATE TABLE hypertable_calls (relation text, time_column name, if_not_exists boolean,
                               migrate_data boolean, rows_then bigint);
CREATE FUNCTION create_hypertable(relation regclass, time_column_name name,
                                  if_not_exists boolean DEFAULT false,
                                  migrate_data boolean DEFAULT false)
RETURNS TABLE (hypertable_id integer, schema_name name, table_name name, created boolean)
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  PERFORM 1 FROM pg_attribute WHERE attrelid = relation AND attname = time_column_name
                                AND NOT attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'column "%" does not exist', time_column_name;
  END IF;
  EXECUTE format('SELECT count(*) FROM %s', relation) INTO n;
  INSERT INTO hypertable_calls VALUES (relation::text, time_column_name, if_not_exists,
                                       migrate_data, n);
  RETURN QUERY SELECT 1, 'public'::name, relation::text::name, true;
END $$;
"""


@pytest.mark.postgres
def test_the_hypertable_branch_runs_its_statements_on_postgresql(store, pg_url, monkeypatch):
    engine = create_engine(pg_url)
    with engine.begin() as c:
        c.execute(text(STAND_IN))
    monkeypatch.setattr(SqlSink, "_has_timescale", staticmethod(lambda conn: True))

    report = sink_history(store, pg_url, ["SPY"], [DAY])

    with engine.connect() as c:
        calls = c.execute(text("SELECT relation, time_column, if_not_exists, migrate_data "
                               "FROM hypertable_calls ORDER BY relation")).all()
    engine.dispose()
    assert report.hypertables and (report.candles, report.greeks) == (3, 1)
    assert [tuple(c) for c in calls] == [("history_candles_1m", "ts", True, True),
                                         ("history_greeks_daily", "day", True, True)]
