"""Derived history: what IV rank, IV percentile and the liquidity filters read.

- `greeks_daily`: per contract and session, the IV and Greeks implied by the day's last trade
  (the day aggregate's close) against the underlying's close, at the session close, through the
  project's vectorized solver (`market.greeks`, European BSM — the standard for history tables;
  an American contract deep in the money can therefore have no IV, reported as a reason code).
- `volume_30d`: per contract, and for the underlying as a whole (symbol = the underlying), the
  average daily volume over the last 30 stored sessions, a day without a print counting as 0;
  across a split each session counts its window in its own contracts (decision 0207).
- `put_call`: daily call volume, put volume and put/call ratio per underlying.

All three read `options_day` (and `stocks_day` for Greeks) from the store and write Hive
partitions of their own, so they are queried like fetched data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from market.calendar import ExchangeCalendar
from market.greeks import IVReason, bsm_greeks, implied_volatility, years_to_expiries
from market.history.splits import MissingSplits, SplitAdjuster
from market.history.store import HistoryStore

log = logging.getLogger(__name__)

WINDOW_SESSIONS = 30

GREEKS_SCHEMA = pa.schema([
    ("symbol", pa.string()), ("expiration", pa.date32()), ("right", pa.string()),
    ("strike", pa.float64()), ("close", pa.float64()), ("volume", pa.float64()),
    ("underlying_close", pa.float64()), ("years_to_expiry", pa.float64()),
    ("iv", pa.float64()), ("iv_reason", pa.string()), ("delta", pa.float64()),
    ("gamma", pa.float64()), ("theta", pa.float64()), ("vega", pa.float64()),
    ("rho", pa.float64()),
])


@dataclass(frozen=True, slots=True)
class DerivedReport:
    written: int  # partitions written
    skipped: list[tuple[date, str, str]]  # (day, underlying, why)


def greeks_daily(store: HistoryStore, underlyings: Sequence[str], days: Sequence[date], *,
                 rate: float, dividend_yield: float = 0.0,
                 calendar: ExchangeCalendar | None = None) -> DerivedReport:
    """IV and Greeks of every contract's day close, for each stored (day, underlying)."""
    calendar = calendar or ExchangeCalendar()
    written, skipped = 0, []
    for day in days:
        if not calendar.is_session(day):
            continue
        close_at = calendar.session(day).close
        for und in (u.upper() for u in underlyings):
            options = store.read("options_day", day, und)
            stock = store.read("stocks_day", day, und, ["close"])
            if options is None or stock is None or stock.num_rows == 0:
                skipped.append((day, und, "no options_day" if options is None else
                                "no stocks_day (underlying close)"))
                continue
            spot = float(stock.column("close")[0].as_py())
            table = _greeks_table(options, spot, close_at, rate, dividend_yield, calendar)
            store.write_table(table, "greeks_daily", day, und)
            written += 1
    return DerivedReport(written, skipped)


def _greeks_table(options: pa.Table, spot: float, close_at: object, rate: float,
                  dividend_yield: float, calendar: ExchangeCalendar) -> pa.Table:
    expirations = options.column("expiration").to_pylist()
    t = years_to_expiries(close_at, expirations, calendar)  # type: ignore[arg-type]
    price = pc.fill_null(options.column("close"), np.nan).to_numpy(zero_copy_only=False)
    is_call = pc.equal(options.column("right"), "C").to_numpy(zero_copy_only=False)
    strike = options.column("strike").to_numpy(zero_copy_only=False)
    solved = implied_volatility(price, is_call, spot, strike, t, rate, dividend_yield)
    greeks = bsm_greeks(is_call, spot, strike, t, rate, dividend_yield, solved.iv)
    reasons = [IVReason(int(r)).label for r in solved.reason]
    return pa.table({
        "symbol": options.column("symbol"), "expiration": options.column("expiration"),
        "right": options.column("right"), "strike": options.column("strike"),
        "close": options.column("close"), "volume": options.column("volume"),
        "underlying_close": pa.array(np.full(options.num_rows, spot)),
        "years_to_expiry": pa.array(t), "iv": pa.array(solved.iv, from_pandas=True),
        "iv_reason": pa.array(reasons), "delta": pa.array(greeks.delta, from_pandas=True),
        "gamma": pa.array(greeks.gamma, from_pandas=True),
        "theta": pa.array(greeks.theta, from_pandas=True),
        "vega": pa.array(greeks.vega, from_pandas=True),
        "rho": pa.array(greeks.rho, from_pandas=True),
    }, schema=GREEKS_SCHEMA)


def _daily(store: HistoryStore, und: str) -> tuple[duckdb.DuckDBPyConnection, pa.Table] | None:
    """A DuckDB connection with `covered` = the stored sessions of one underlying numbered
    1, 2, … (the window counts stored sessions), and its options_day rows as read."""
    files = sorted(store.dataset_dir("options_day").glob(f"date=*/underlying={und}/*.parquet"))
    if not files:
        return None
    con = duckdb.connect()
    listed = [str(f) for f in files]
    rows = _arrow(con, f"SELECT date, symbol, \"right\", strike, coalesce(volume, 0) AS volume "
                       f"FROM read_parquet({listed!r}, hive_partitioning = true, "
                       "union_by_name = true)")
    con.register("daily_rows", rows)
    con.execute("CREATE TABLE covered AS SELECT date, row_number() OVER (ORDER BY date) AS ci "
                "FROM (SELECT DISTINCT date FROM daily_rows)")
    return con, rows


def _use_daily(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
    """Make `daily` the given rows, one per (date, symbol)."""
    con.register("daily_rows", rows)
    con.execute("CREATE OR REPLACE VIEW daily AS SELECT date, symbol, \"right\", "
                "sum(volume) AS volume FROM daily_rows GROUP BY date, symbol, \"right\"")


def _regimes(store: HistoryStore, und: str) -> list[tuple[date, SplitAdjuster | None]]:
    """From which day on which adjustment holds: each session's window is counted in that
    session's contracts (a split inside the window turns earlier volumes into today's terms,
    as OCC turned the contracts), never in a later basis (no look-ahead)."""
    try:
        adjuster = SplitAdjuster.from_store(store, und)
    except MissingSplits:
        log.warning("volume_30d of %s: no splits stored, volumes across a split are not "
                    "adjusted (fetch --datasets splits)", und)
        return [(date.min, None)]
    whole = [s for s in adjuster.splits if s.whole]
    return [(date.min, None)] + [
        (s.execution_date, SplitAdjuster(adjuster.splits, basis=s.execution_date))
        for s in whole]


_VOLUME_SQL = f"""
WITH per_contract AS (
    SELECT c.date, c.ci, d.symbol, d.volume FROM daily d JOIN covered c USING (date)
), per_underlying AS (
    SELECT c.date, c.ci, ? AS symbol, coalesce(sum(d.volume), 0) AS volume
    FROM covered c LEFT JOIN daily d USING (date) GROUP BY c.date, c.ci
), both_levels AS (
    SELECT * FROM per_contract UNION ALL SELECT * FROM per_underlying
)
SELECT date, symbol, volume,
       sum(volume) OVER w / least({WINDOW_SESSIONS}, ci) AS avg_volume_30d,
       least({WINDOW_SESSIONS}, ci) AS sessions
FROM both_levels
WINDOW w AS (PARTITION BY symbol ORDER BY ci
             RANGE BETWEEN {WINDOW_SESSIONS - 1} PRECEDING AND CURRENT ROW)
ORDER BY date, symbol
"""

_PUT_CALL_SQL = """
SELECT date,
       sum(volume) FILTER (WHERE "right" = 'C') AS call_volume,
       sum(volume) FILTER (WHERE "right" = 'P') AS put_volume
FROM daily GROUP BY date ORDER BY date
"""


def volume_history(store: HistoryStore, underlyings: Sequence[str]) -> DerivedReport:
    """Write `volume_30d` and `put_call` for every stored session of each underlying."""
    written, skipped = 0, []
    for und in (u.upper() for u in underlyings):
        opened = _daily(store, und)
        if opened is None:
            skipped.append((date.min, und, "no options_day"))
            continue
        con, rows = opened
        try:
            volumes = _volumes(con, rows, und, _regimes(store, und))
            _use_daily(con, rows)  # a session's own counts are never adjusted
            put_call = _arrow(con, _PUT_CALL_SQL)
        finally:
            con.close()
        written += _write_by_day(store, "volume_30d", und, volumes)
        calls = pc.fill_null(put_call.column("call_volume"), 0.0)
        puts = pc.fill_null(put_call.column("put_volume"), 0.0)
        ratio = pc.if_else(pc.greater(calls, 0), pc.divide(puts, calls), None)
        put_call = pa.table({"date": put_call.column("date"), "call_volume": calls,
                             "put_volume": puts, "put_call_ratio": ratio})
        written += _write_by_day(store, "put_call", und, put_call)
    return DerivedReport(written, skipped)


def _volumes(con: duckdb.DuckDBPyConnection, rows: pa.Table, und: str,
             regimes: list[tuple[date, SplitAdjuster | None]]) -> pa.Table:
    """`_VOLUME_SQL` once per split regime, each keeping the sessions of its regime."""
    parts = []
    bounds = [start for start, _ in regimes[1:]] + [date.max]
    for (start, adjuster), end in zip(regimes, bounds, strict=True):
        _use_daily(con, rows if adjuster is None else adjuster.options(rows))
        table = _arrow(con, _VOLUME_SQL, [und])
        days = table.column("date")
        keep = pc.and_(pc.greater_equal(days, pa.scalar(start, days.type)),
                       pc.less(days, pa.scalar(end, days.type)))
        parts.append(table.filter(keep))
    return pa.concat_tables(parts)


def _arrow(con: duckdb.DuckDBPyConnection, sql: str,
           params: list[object] | None = None) -> pa.Table:
    relation = con.sql(sql, params=params)
    assert relation is not None
    return relation.to_arrow_table()


def _write_by_day(store: HistoryStore, dataset: str, und: str, table: pa.Table) -> int:
    days = table.column("date")
    written = 0
    for day in pc.unique(days).to_pylist():
        part = table.filter(pc.equal(days, pa.scalar(day, days.type))).drop_columns(["date"])
        store.write_table(part, dataset, day, und)
        written += 1
    return written
