"""Event tables: quotes, trades and bars as Parquet or CSV, in the schema of
docs/backtest-data.md, replayed in the order they became known.

Every row carries `ts`, the moment the value was known (a minute bar's *end*, a quote's arrival),
timezone-aware. An optional `seq` column fixes the order of rows that share a stamp (the
recorder writes one); without it, rows of one stamp go bars, underlying quotes, trades, option
quotes, as in `market.feeds.replay`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from market.calendar import NEW_YORK
from market.data import Bar, Quote, Trade

Event = Quote | Trade | Bar

#: Required and optional columns of each table; optional ones get the default shown.
SCHEMA: dict[str, tuple[tuple[str, ...], dict[str, object]]] = {
    "bars": (("ts", "symbol", "open", "high", "low", "close"), {"volume": 0.0, "seq": -1}),
    "quotes": (("ts", "symbol", "bid", "ask"),
               {"bid_size": 0, "ask_size": 0, "underlying": "", "seq": -1}),
    "trades": (("ts", "symbol", "price", "size"), {"underlying": "", "seq": -1}),
}
_SUFFIXES = (".parquet", ".csv", ".csv.gz")
_BAR, _UND_QUOTE, _TRADE, _QUOTE = 0, 1, 2, 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TableError(ValueError):
    """A table is missing a column or has unusable stamps; the message names the file."""


def table_path(folder: Path, name: str) -> Path | None:
    for suffix in _SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    return None


def has_tables(folder: Path) -> bool:
    return any(table_path(folder, name) is not None for name in SCHEMA)


def read_table(path: Path, name: str) -> pa.Table:
    """Read one table, check its columns and stamps, and fill optional columns."""
    table = pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
    required, optional = SCHEMA[name]
    missing = [c for c in required if c not in table.column_names]
    if missing:
        raise TableError(f"{path}: missing column(s) {', '.join(missing)} "
                         f"(a {name} table needs {', '.join(required)})")
    ts = table.column("ts")
    if pa.types.is_string(ts.type) or pa.types.is_large_string(ts.type):
        try:
            ts = pc.cast(pc.strptime(ts, format="%Y-%m-%dT%H:%M:%S%z", unit="ns"),
                         pa.timestamp("ns", tz="UTC"))
        except pa.ArrowInvalid:
            ts = pa.array(np.array([datetime.fromisoformat(s) for s in ts.to_pylist()],
                                   dtype="datetime64[ns]"))
    if not pa.types.is_timestamp(ts.type) or ts.type.tz is None:
        raise TableError(f"{path}: column ts must be timezone-aware timestamps (ISO-8601 with "
                         "an offset, or a Parquet timestamp with a time zone)")
    table = table.set_column(table.column_names.index("ts"), "ts",
                             pc.cast(ts, pa.timestamp("ns", tz="UTC")))
    for col, default in optional.items():
        if col not in table.column_names:
            table = table.append_column(col, pa.array([default] * table.num_rows))
    return table


@dataclass
class TableFeed:
    """Replays the event tables of one folder, restricted to [start, end] (New York days)."""

    folder: Path
    start: date | None = None
    end: date | None = None
    underlyings: set[str] | None = None
    _tables: dict[str, pa.Table] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for name in SCHEMA:
            path = table_path(self.folder, name)
            if path is not None:
                self._tables[name] = self._restrict(read_table(path, name))

    def _restrict(self, table: pa.Table) -> pa.Table:
        days = self._days_of(table)
        keep = np.ones(table.num_rows, dtype=bool)
        if self.start is not None:
            keep &= days >= np.datetime64(self.start)
        if self.end is not None:
            keep &= days <= np.datetime64(self.end)
        if self.underlyings and "underlying" in table.column_names:
            und = np.array(table.column("underlying").to_pylist(), dtype=object)
            sym = np.array(table.column("symbol").to_pylist(), dtype=object)
            keep &= np.isin(und, list(self.underlyings)) | np.isin(sym, list(self.underlyings))
        return table.filter(pa.array(keep))

    @staticmethod
    def _days_of(table: pa.Table) -> np.ndarray:
        """New York calendar day of each row (DST-aware), converting each distinct stamp once."""
        ns = table.column("ts").to_numpy().astype("datetime64[ns]").view("i8")
        uniques, codes = np.unique(ns, return_inverse=True)
        local = pd.DatetimeIndex(uniques.astype("datetime64[ns]"), tz=UTC).tz_convert(NEW_YORK)
        days = np.array([d.isoformat() for d in local.date], dtype="datetime64[D]")
        return days[codes] if len(days) else np.array([], dtype="datetime64[D]")

    @property
    def days(self) -> list[date]:
        seen: set[date] = set()
        for table in self._tables.values():
            seen.update(d.astype(date) for d in np.unique(self._days_of(table)))
        return sorted(seen)

    @property
    def underlyings_found(self) -> list[str]:
        out: set[str] = set()
        for table in self._tables.values():
            if "underlying" in table.column_names:
                out.update(u for u in table.column("underlying").to_pylist() if u)
        return sorted(out)

    def events(self) -> Iterator[Event]:
        kinds, rows, keys_ts, keys_seq, keys_rank = [], [], [], [], []
        for kind, name in ((_BAR, "bars"), (_QUOTE, "quotes"), (_TRADE, "trades")):
            table = self._tables.get(name)
            if table is None or table.num_rows == 0:
                continue
            n = table.num_rows
            rank = np.full(n, kind, dtype=np.int8)
            if kind == _QUOTE:
                sym = np.array(table.column("symbol").to_pylist(), dtype=object)
                und = np.array(table.column("underlying").to_pylist(), dtype=object)
                rank[(und == "") | (und == sym)] = _UND_QUOTE
            kinds.append(np.full(n, kind, dtype=np.int8))
            rows.append(np.arange(n))
            keys_ts.append(table.column("ts").to_numpy().astype("datetime64[ns]").view("i8"))
            keys_seq.append(table.column("seq").to_numpy())
            keys_rank.append(rank)
        if not kinds:
            return
        kind_all, row_all = np.concatenate(kinds), np.concatenate(rows)
        order = np.lexsort((row_all, np.concatenate(keys_rank), np.concatenate(keys_seq),
                            np.concatenate(keys_ts)))
        yield from self._emit(kind_all[order].tolist(), row_all[order].tolist())

    def _emit(self, kinds: list[int], rows: list[int]) -> Iterator[Event]:
        cols = {name: {c: t.column(c).to_pylist() for c in t.column_names if c != "ts"}
                for name, t in self._tables.items()}
        stamps = {name: _datetimes(t) for name, t in self._tables.items()}
        for kind, i in zip(kinds, rows, strict=True):
            if kind == _QUOTE:
                q, ts = cols["quotes"], stamps["quotes"]
                yield Quote(q["symbol"][i], ts[i], q["bid"][i], q["ask"][i],
                            int(q["bid_size"][i]), int(q["ask_size"][i]), q["underlying"][i])
            elif kind == _TRADE:
                t, ts = cols["trades"], stamps["trades"]
                yield Trade(t["symbol"][i], ts[i], t["price"][i], int(t["size"][i]),
                            t["underlying"][i])
            else:
                b, ts = cols["bars"], stamps["bars"]
                yield Bar(b["symbol"][i], ts[i], b["open"][i], b["high"][i], b["low"][i],
                          b["close"][i], float(b["volume"][i]))


def _datetimes(table: pa.Table) -> list[datetime]:
    """UTC datetimes of the ts column, converting each distinct stamp once."""
    ns = table.column("ts").to_numpy().astype("datetime64[ns]").view("i8")
    uniques, codes = np.unique(ns, return_inverse=True)
    converted = [_EPOCH + timedelta(microseconds=int(u) // 1000) for u in uniques.tolist()]
    return [converted[c] for c in codes.tolist()]
