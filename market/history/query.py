"""Queries over the history store through DuckDB (SQL, Arrow results) or Polars (lazy frames).

The helpers narrow the files before an engine opens them — the Hive path already says which
date and underlying a file holds — so a question about one underlying-day reads one file, and a
year of one contract reads only that underlying's files up to the contract's expiration. The
contract scan runs on Polars: over a year of files it measured 3–4× faster than DuckDB on this
machine (bench/bench_history.py prints both).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from market.history.datasets import underlying_of_root
from market.history.store import PART_FILE, HistoryStore
from market.instruments import OptionSymbol


class HistoryQuery:
    """Read-only queries over one store. Not shared between threads (one DuckDB connection)."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store
        self._con = duckdb.connect()

    def close(self) -> None:
        self._con.close()

    def _scan(self, files: list[Path] | str) -> str:
        listed = files if isinstance(files, str) else [str(f) for f in files]
        return f"read_parquet({listed!r}, hive_partitioning = true, union_by_name = true)"

    def _files(self, dataset: str, underlying: str, start: date | None = None,
               end: date | None = None) -> list[Path]:
        folder = self.store.dataset_dir(dataset)
        if not folder.exists():
            return []
        out = []
        for day_dir in sorted(folder.glob("date=*")):
            day = date.fromisoformat(day_dir.name.removeprefix("date="))
            if (start and day < start) or (end and day > end):
                continue
            path = day_dir / f"underlying={underlying}" / PART_FILE
            if path.exists():
                out.append(path)
        return out

    def _arrow(self, query: str, params: list[object] | None = None) -> pa.Table:
        relation = self._con.sql(query, params=params or None)
        return relation.to_arrow_table() if relation is not None else pa.table({})

    def sql(self, query: str, params: list[object] | None = None) -> pa.Table:
        """Run SQL in which each stored dataset is a view of the same name."""
        for name in self.store.datasets():
            if self.store.has(name):
                self._con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                                  f"{self._scan(self.store.glob(name))}")
        return self._arrow(query, params)

    def option_minute_bars(self, underlying: str, day: date,
                           dataset: str = "options_minute") -> pa.Table:
        """Every contract's minute bars of `underlying` on `day`, in stored (vendor) order."""
        path = self.store.partition_path(dataset, day, underlying.upper())
        if not path.exists():
            return pa.table({})
        return pq.read_table(path)

    def contract_minute_bars(self, symbol: str, start: date | None = None,
                             end: date | None = None,
                             dataset: str = "options_minute") -> pa.Table:
        """One contract's minute bars over [start, end] (default: everything stored)."""
        sym = OptionSymbol.parse(symbol)
        last = min(end, sym.expiration) if end else sym.expiration
        files = self._files(dataset, underlying_of_root(sym.root), start, last)
        if not files:
            return pa.table({})
        frame = (pl.scan_parquet(files, hive_partitioning=True)
                 .filter(pl.col("symbol") == sym.occ).sort("window_start").collect())
        return frame.to_arrow()

    def dark_pool_prints(self, symbol: str, day: date) -> pa.Table:
        """A stock's off-exchange prints of the day: trades reported through a FINRA trade
        reporting facility (`trf_id` set), the dark-pool and internalized volume."""
        path = self.store.partition_path("stocks_trades", day, symbol.upper())
        if not path.exists():
            return pa.table({})
        table = pq.read_table(path)
        return table.filter(pc.is_valid(table.column("trf_id")))

    def lazy(self, dataset: str) -> pl.LazyFrame:
        """The whole dataset as a Polars lazy frame (Hive columns `date`, `underlying`)."""
        return pl.scan_parquet(self.store.glob(dataset), hive_partitioning=True)
