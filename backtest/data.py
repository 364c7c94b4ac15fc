"""Where a backtest's market data comes from: a folder, read in release-time order.

Two layouts are understood (see docs/backtest-data.md for the column schemas):

- **Recorded days** (`market.feeds.replay`): `<SYM>_<YYYY-MM-DD>_{quotes,trades,open_interest,1min}
  .csv.gz`, in one folder (the shipped `data/replay/`) or in sub-folders (the shared data set's
  `options_minute/` and `equity_minute/`). Minute values are released at the minute's end.
- **The history store** (`market.history`): the Hive-partitioned Parquet folder that
  `tradefly data fetch/import` fills from Massive flat files, REST aggregates or the shipped
  files; replayed by `market.history.feed.HistoryFeed` in the same order as the replay feed.
- **Event tables** (`backtest.tables`): `quotes`, `trades` and `bars` as Parquet or CSV, stamped
  with the time each value became known. This is also what `backtest.recorder` writes during a
  paper run, so a paper session can be replayed exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from backtest.tables import TableFeed, has_tables
from market.data import Bar, Quote, Trade
from market.feeds.replay import ReplayDay, ReplayFeed
from market.history.feed import HistoryFeed
from market.history.store import HistoryStore

Event = Quote | Trade | Bar

_DAY_FILE = re.compile(
    r"^(?P<sym>[A-Z][A-Z0-9.]*)_(?P<day>\d{4}-\d{2}-\d{2})_"
    r"(?P<kind>quotes|trades|open_interest|1min)\.csv\.gz$")
_FIELD = {"quotes": "quotes", "trades": "trades", "open_interest": "open_interest",
          "1min": "underlying_minute"}


class DataError(ValueError):
    """The data path holds nothing usable for the requested range; the message says why."""


class EventSource(Protocol):
    """Anything that yields market events in release-time order."""

    def events(self) -> Iterator[Event]: ...


@dataclass(frozen=True)
class BacktestData:
    """A loaded data set: the sessions it covers and the feed that replays them."""

    source: EventSource
    days: list[date]
    underlyings: list[str]
    description: str


def load_data(path: Path, start: date | None = None, end: date | None = None,
              underlyings: Iterable[str] | None = None) -> BacktestData:
    """Open `path` (either layout) restricted to [start, end] and, optionally, to some
    underlyings. Raises DataError naming the path when nothing matches."""
    if not path.exists():
        raise DataError(f"data path not found: {path}")
    wanted = {u.upper() for u in underlyings} if underlyings else None
    if path.is_dir() and any(p.name.startswith("dataset=") for p in path.iterdir()):
        return _history(path, start, end, wanted)
    if path.is_dir() and has_tables(path):
        feed = TableFeed(path, start, end, wanted)
        if not feed.days:
            raise DataError(f"{path}: no events between {start or 'the start'} and "
                            f"{end or 'the end'}")
        return BacktestData(feed, feed.days, feed.underlyings_found,
                            f"event tables in {path}")
    days = discover_days(path, start, end, wanted)
    if not days:
        raise DataError(f"{path}: no recorded days between {start or 'the start'} and "
                        f"{end or 'the end'}" + (f" for {sorted(wanted)}" if wanted else ""))
    return BacktestData(ReplayFeed(days), sorted({d.day for d in days}),
                        sorted({d.underlying for d in days}),
                        f"{len(days)} recorded day(s) under {path}")


def _history(root: Path, start: date | None, end: date | None,
             wanted: set[str] | None) -> BacktestData:
    store = HistoryStore(root)
    days: set[date] = set()
    unds: set[str] = set()
    for dataset in ("options_quotes", "stocks_minute", "stocks_quotes"):
        for part in store.partitions(dataset):
            if part.day is None or (start and part.day < start) or (end and part.day > end):
                continue
            if wanted and part.underlying not in wanted:
                continue
            days.add(part.day)
            unds.add(part.underlying)
    if not days:
        raise DataError(f"{root}: the history store has no quotes or minute bars between "
                        f"{start or 'the start'} and {end or 'the end'}"
                        + (f" for {sorted(wanted)}" if wanted else ""))
    feed = HistoryFeed(store, sorted(unds), sorted(days))
    return BacktestData(feed, sorted(days), sorted(unds), f"history store {root}")


def discover_days(folder: Path, start: date | None = None, end: date | None = None,
                  underlyings: set[str] | None = None) -> list[ReplayDay]:
    """Every recorded (underlying, day) under `folder`, searched recursively, in day order.
    Option files and the underlying's minute file of the same day join into one ReplayDay."""
    found: dict[tuple[date, str], dict[str, Path]] = {}
    for file in sorted(folder.rglob("*.csv.gz")):
        m = _DAY_FILE.match(file.name)
        if m is None:
            continue
        day, sym = date.fromisoformat(m["day"]), m["sym"]
        if (start and day < start) or (end and day > end) or (
                underlyings and sym not in underlyings):
            continue
        found.setdefault((day, sym), {})[_FIELD[m["kind"]]] = file
    out = []
    for (day, sym), files in sorted(found.items()):
        if "quotes" not in files and "underlying_minute" not in files:
            continue  # trades or open interest alone cannot be traded on
        out.append(ReplayDay(sym, day, files.get("quotes"), files.get("trades"),
                             files.get("open_interest"), files.get("underlying_minute")))
    return out
