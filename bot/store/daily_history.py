"""The daily market history in the store: `market.daily_history`'s `SessionHistoryStore`.

Writes are upserts keyed by (underlying, series, day) and (contract, day), so saving a session
again (a restart, a replay, a re-seed) never adds to it: an IV is replaced by the newer value,
a volume keeps the larger of the two, because a day's volume only grows and a daemon restarted
mid-session saw only part of it. Statements run on the `Store`'s own connection (one writer:
SQLite allows no other while the store buffers history) and commit like its order-path writes.
The upsert is `INSERT … ON CONFLICT DO UPDATE`, spelled by SQLite's or PostgreSQL's dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, case, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from bot.store import schema as t
from bot.store.store import Store
from market.daily_history import (
    CALL_VOLUME_SERIES,
    IV_SERIES,
    PUT_VOLUME_SERIES,
    VOLUME_SERIES,
    SessionRecord,
)
from market.daily_stats import DailyValue

_BATCH = 2000  # rows per multi-row INSERT (PostgreSQL caps bind parameters at 65,535)


class DailyHistoryRepository:
    """Daily IV and volumes per underlying, daily volume per contract, in the `Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- DailyHistoryStore ----------------------------------------------------------------
    def load_daily(
        self, underlying: str, series: str, sessions: int, before: date | None = None
    ) -> list[DailyValue]:
        c = t.underlying_daily.c
        q = select(c.day, c.value).where((c.underlying == underlying) & (c.series == series))
        if before is not None:
            q = q.where(c.day < before)
        rows = self._read(q.order_by(c.day.desc()).limit(sessions))
        return [DailyValue(day, float(value)) for day, value in reversed(rows)]

    def save_daily(
        self, underlying: str, series: str, value: DailyValue, source: str = "live"
    ) -> None:
        """Insert or replace one day's value of one series."""
        with self._store._tx() as conn:
            self._upsert_series(
                conn, [(underlying, series, value.day, value.value)], source, keep_larger=False
            )

    # -- sessions -------------------------------------------------------------------------
    def save_session(self, record: SessionRecord, source: str = "live") -> None:
        """One session of one underlying in one transaction (see the module doc)."""
        und, day = record.underlying, record.day
        volumes = [
            (und, VOLUME_SERIES, day, float(record.option_volume)),
            (und, CALL_VOLUME_SERIES, day, float(record.call_volume)),
            (und, PUT_VOLUME_SERIES, day, float(record.put_volume)),
        ]
        contracts = [
            {"symbol": s, "day": day, "underlying": und, "volume": int(v), "source": source}
            for s, v in record.contract_volumes.items()
            if v > 0
        ]
        with self._store._tx() as conn:
            if record.atm_iv == record.atm_iv:  # NaN: no IV that day, nothing to keep
                self._upsert_series(
                    conn, [(und, IV_SERIES, day, record.atm_iv)], source, keep_larger=False
                )
            self._upsert_series(conn, volumes, source, keep_larger=True)
            for start in range(0, len(contracts), _BATCH):
                self._upsert(
                    conn,
                    t.contract_daily_volume,
                    contracts[start : start + _BATCH],
                    ("symbol", "day"),
                    "volume",
                    keep_larger=True,
                )

    def load_contract_volumes(
        self, underlying: str, days: Sequence[date]
    ) -> dict[date, dict[str, int]]:
        if not days:
            return {}
        c = t.contract_daily_volume.c
        rows = self._read(
            select(c.day, c.symbol, c.volume).where(
                (c.underlying == underlying) & (c.day >= min(days)) & (c.day <= max(days))
            )
        )
        wanted = set(days)
        out: dict[date, dict[str, int]] = {}
        for day, symbol, volume in rows:
            if day in wanted:
                out.setdefault(day, {})[symbol] = int(volume)
        return out

    def underlyings(self) -> list[str]:
        c = t.underlying_daily.c
        return [r[0] for r in self._read(select(c.underlying).distinct().order_by(c.underlying))]

    def sessions(self, underlying: str) -> list[date]:
        """Days with an option volume recorded for `underlying`, oldest first."""
        c = t.underlying_daily.c
        return [
            r[0]
            for r in self._read(
                select(c.day)
                .where((c.underlying == underlying) & (c.series == VOLUME_SERIES))
                .order_by(c.day)
            )
        ]

    # -- plumbing -------------------------------------------------------------------------
    def _read(self, query: Any) -> list[Any]:
        conn = self._store._conn
        rows = list(conn.execute(query).all())
        self._store._commit()
        return rows

    def _upsert_series(
        self,
        conn: Connection,
        rows: list[tuple[str, str, date, float]],
        source: str,
        *,
        keep_larger: bool,
    ) -> None:
        values = [
            {"underlying": u, "series": s, "day": d, "value": v, "source": source}
            for u, s, d, v in rows
        ]
        self._upsert(
            conn,
            t.underlying_daily,
            values,
            ("underlying", "series", "day"),
            "value",
            keep_larger=keep_larger,
        )

    def _upsert(
        self,
        conn: Connection,
        table: Table,
        rows: list[dict[str, Any]],
        key: tuple[str, ...],
        column: str,
        *,
        keep_larger: bool,
    ) -> None:
        if not rows:
            return
        stmt = (
            postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
        ).values(rows)
        new, old = stmt.excluded[column], table.c[column]
        value: ColumnElement[Any] = case((new > old, new), else_=old) if keep_larger else new
        # A larger volume from another source wins with its source; an equal one keeps the old.
        source = (
            case((new > old, stmt.excluded.source), else_=table.c.source)
            if (keep_larger)
            else stmt.excluded.source
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=list(key), set_={column: value, "source": source}
            )
        )
