"""Records the market events a session saw, as event tables a backtest can replay exactly.

The daemon hands every event it gives the engine to `record`; `write` stores them as Parquet in
the schema of `backtest.tables` with a `seq` column, so the replay sees the same values, stamps
and order, and the same fills follow (the parity test proves it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from market.data import Bar, Quote, Trade

Event = Quote | Trade | Bar


@dataclass
class EventRecorder:
    """Buffers events in memory; `write` flushes them to a folder (append-free, one shot)."""

    quotes: dict[str, list[Any]] = field(default_factory=lambda: _columns("quotes"))
    trades: dict[str, list[Any]] = field(default_factory=lambda: _columns("trades"))
    bars: dict[str, list[Any]] = field(default_factory=lambda: _columns("bars"))
    seq: int = 0

    def record(self, event: Event) -> None:
        self.seq += 1
        if type(event) is Quote:
            _append(self.quotes, event.ts, event.symbol, event.bid, event.ask, event.bid_size,
                    event.ask_size, event.underlying, self.seq)
        elif type(event) is Trade:
            _append(self.trades, event.ts, event.symbol, event.price, event.size,
                    event.underlying, self.seq)
        elif type(event) is Bar:
            _append(self.bars, event.ts, event.symbol, event.open, event.high, event.low,
                    event.close, event.volume, self.seq)

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, cols in (("quotes", self.quotes), ("trades", self.trades),
                           ("bars", self.bars)):
            if not cols["ts"]:
                continue
            table = pa.table({k: pa.array(v, type=_TYPES.get(k)) for k, v in cols.items()})
            path = folder / f"{name}.parquet"
            pq.write_table(table, path)
            written.append(path)
        return written


_NAMES = {
    "quotes": ("ts", "symbol", "bid", "ask", "bid_size", "ask_size", "underlying", "seq"),
    "trades": ("ts", "symbol", "price", "size", "underlying", "seq"),
    "bars": ("ts", "symbol", "open", "high", "low", "close", "volume", "seq"),
}
_TYPES = {"ts": pa.timestamp("us", tz="UTC"), "seq": pa.int64(), "bid_size": pa.int64(),
          "ask_size": pa.int64(), "size": pa.int64()}


def _columns(name: str) -> dict[str, list[Any]]:
    return {c: [] for c in _NAMES[name]}


def _append(cols: dict[str, list[Any]], *values: Any) -> None:
    for column, value in zip(cols.values(), values, strict=True):
        column.append(value)
