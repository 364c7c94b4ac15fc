"""Import the project's real sample data (`data/replay/`, `../shared/data/`) into the store.

The shipped files are minute bars from AlgoSeek via QuantConnect/Lean (see the data README), not
Massive flat files, so each kind is mapped onto the store dataset with the same meaning:

- `_trades` (option minute trade bars) → `options_minute`: OHLCV, window_start = minute start.
- `_quotes` (option minute quote bars) → `options_quotes`: bid/ask close and sizes, stamped at
  the minute's end (when that last quote was known).
- `_open_interest` → `open_interest`: one row per contract.
- `_1min` (stock or index minute bars) → `stocks_minute`, and `stocks_quotes` from the bid/ask
  close at the minute's end.
- `_chain` (end-of-day chain) → `options_day`, and `stocks_day` from its underlying columns.

Daily equity files (one row per day since 1998) and hourly option quotes are not imported:
they would make thousands of one-row partitions; read them directly. Files of one dataset, day
and underlying (SPX and SPXW weeklies) are merged into one partition. Importing twice gives the
same store (partitions are replaced, not appended). Values pass through pandas' CSV reader, the
one the replay feed uses, so a replay from the store is event-for-event the replay of the files.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from market.history.datasets import (
    OPEN_INTEREST,
    OPTIONS_DAY,
    OPTIONS_MINUTE,
    OPTIONS_QUOTES,
    STOCKS_DAY,
    STOCKS_MINUTE,
    STOCKS_QUOTES,
    Dataset,
)
from market.history.ingest import store_schema
from market.history.rest import OPEN_INTEREST_SCHEMA
from market.history.store import HistoryStore

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(?P<sym>[A-Z0-9.]+)_(?P<day>\d{4}-\d{2}-\d{2})_(?P<kind>quotes|trades|"
                   r"open_interest|1min|chain)\.csv(\.gz)?$")
ONE_MINUTE_NS = 60 * 10**9


@dataclass
class ImportReport:
    files: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    partitions: dict[tuple[str, date, str], int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.partitions.values())


def _utc_ns(column: pd.Series) -> np.ndarray:
    """ISO stamps with offsets → int64 ns since the epoch (UTC)."""
    stamps = pd.to_datetime(column, utc=True, format="ISO8601")
    return stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _arrow(frame: pd.DataFrame, dataset: Dataset) -> pa.Table:
    schema = store_schema(dataset) if dataset is not OPEN_INTEREST else OPEN_INTEREST_SCHEMA
    columns = {}
    for f in schema:
        if f.name in frame:
            values = frame[f.name]
            if pa.types.is_timestamp(f.type):
                columns[f.name] = pa.array(values.to_numpy(np.int64), pa.int64()).cast(f.type)
            elif pa.types.is_date32(f.type):
                columns[f.name] = pa.array(pd.to_datetime(values).dt.date, f.type)
            else:
                columns[f.name] = pa.array(values, f.type, from_pandas=True)
        else:
            columns[f.name] = pa.nulls(len(frame), f.type)
    return pa.table(columns, schema=schema)


def _option_fields(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"symbol": df.occ_symbol, "expiration": df.expiration,
                         "right": df["right"], "strike": df.strike.astype(float)})


def _option_trades(df: pd.DataFrame) -> pd.DataFrame:
    out = _option_fields(df)
    for col in ("volume", "open", "close", "high", "low"):
        out[col] = df[col].astype(float)
    out["window_start"] = _utc_ns(df.timestamp)
    return out


def _option_quotes(df: pd.DataFrame) -> pd.DataFrame:
    out = _option_fields(df)
    out["ask_price"], out["ask_size"] = df.ask_close, df.ask_size
    out["bid_price"], out["bid_size"] = df.bid_close, df.bid_size
    out["sip_timestamp"] = _utc_ns(df.timestamp) + ONE_MINUTE_NS
    return out


def _stock_minute(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    stamps = _utc_ns(df.timestamp)
    bars = pd.DataFrame({"symbol": df.symbol, "window_start": stamps})
    for col in ("open", "high", "low", "close"):
        bars[col] = df[col].astype(float)
    bars["volume"] = df["volume"].astype(float) if "volume" in df else np.nan
    bars = bars[np.isfinite(bars.close.to_numpy())]
    if "bid_close" not in df:
        return bars, pd.DataFrame()
    quotes = pd.DataFrame({"symbol": df.symbol, "ask_price": df.ask_close,
                           "ask_size": df.ask_size, "bid_price": df.bid_close,
                           "bid_size": df.bid_size, "sip_timestamp": stamps + ONE_MINUTE_NS})
    both = np.isfinite(quotes.bid_price.to_numpy(float)) & np.isfinite(
        quotes.ask_price.to_numpy(float))
    return bars, quotes[both]


def _chain(df: pd.DataFrame, day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contract day bars, and the underlying's day bar when the file carries it."""
    start = pd.Timestamp(day, tz="America/New_York").tz_convert("UTC").value
    contracts = _option_fields(df)
    for col in ("volume", "open", "close", "high", "low"):
        contracts[col] = df[col].astype(float)
    contracts["window_start"] = start
    first = df.iloc[0]
    if "underlying_close" not in df:
        return contracts, pd.DataFrame()
    underlying = pd.DataFrame({
        "symbol": [str(first.underlying)], "window_start": [start],
        "open": [float(first.underlying_open)], "high": [float(first.underlying_high)],
        "low": [float(first.underlying_low)], "close": [float(first.underlying_close)],
        "volume": [float(first.underlying_volume)]})
    return contracts, underlying


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.rglob("*.csv*")) if path.is_dir() else [path])
    return out


def _collect(df: pd.DataFrame, kind: str, day: date,
             frames: dict[tuple[Dataset, date, str], list[pd.DataFrame]]) -> None:
    """Map one shipped file onto store partitions (see the module docstring)."""
    if kind in ("quotes", "trades", "open_interest"):
        for und, part in df.groupby("underlying", sort=False):
            if kind == "quotes":
                frames[(OPTIONS_QUOTES, day, str(und))].append(_option_quotes(part))
            elif kind == "trades":
                frames[(OPTIONS_MINUTE, day, str(und))].append(_option_trades(part))
            else:
                oi = _option_fields(part)
                oi["open_interest"] = part.open_interest.astype(np.int64)
                frames[(OPEN_INTEREST, day, str(und))].append(oi)
    elif kind == "1min":
        bars, quotes = _stock_minute(df)
        sym = str(df.symbol.iloc[0])
        frames[(STOCKS_MINUTE, day, sym)].append(bars)
        if not quotes.empty:
            frames[(STOCKS_QUOTES, day, sym)].append(quotes)
    else:
        contracts, underlying = _chain(df, day)
        und = str(df.underlying.iloc[0])
        frames[(OPTIONS_DAY, day, und)].append(contracts)
        if not underlying.empty:
            frames[(STOCKS_DAY, day, und)].append(underlying)


def import_shipped(paths: Path | Iterable[Path], store: HistoryStore) -> ImportReport:
    """Import shipped CSV files (or every file under the given folders) into `store`."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"nothing to import at {path}")
    report = ImportReport()
    frames: dict[tuple[Dataset, date, str], list[pd.DataFrame]] = defaultdict(list)
    for path in _files(paths):
        match = _NAME.match(path.name)
        if match is None:
            report.skipped.append(path)
            continue
        day, kind = date.fromisoformat(match["day"]), match["kind"]
        df = pd.read_csv(path)
        if df.empty:
            report.skipped.append(path)
            continue
        report.files.append(path)
        _collect(df, kind, day, frames)
    for (dataset, day, und), parts in sorted(frames.items(), key=lambda kv: (
            kv[0][0].name, kv[0][1], kv[0][2])):
        table = _arrow(pd.concat(parts, ignore_index=True), dataset)
        store.write_table(table, dataset.name, day, und)
        report.partitions[(dataset.name, day, und)] = table.num_rows
    log.info("imported %d files into %d partitions (%d rows)", len(report.files),
             len(report.partitions), report.rows)
    return report
