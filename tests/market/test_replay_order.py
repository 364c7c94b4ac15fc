"""The replay feed's release order: by release time, then bar, underlying quote, option trades,
option quotes, then file row; several underlyings on one day merge deterministically."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from market.data import Bar, Quote, Trade
from market.feeds.replay import ReplayDay, ReplayFeed
from tests.conftest import GOOG_DAY, REPLAY_DIR


def _rank(event: Quote | Trade | Bar) -> int:
    if type(event) is Bar:
        return 0
    if type(event) is Quote and event.symbol == event.underlying:
        return 1
    return 2 if type(event) is Trade else 3


def test_full_chain_day_is_released_in_time_then_kind_then_file_order() -> None:
    events = list(ReplayFeed([ReplayDay.discover(REPLAY_DIR, "GOOG", GOOG_DAY)]).events())
    quotes = pd.read_csv(REPLAY_DIR / "GOOG_2015-12-24_quotes.csv.gz")
    keys = [(e.ts, _rank(e)) for e in events]
    assert keys == sorted(keys)
    option_quotes = [e.symbol for e in events if _rank(e) == 3]
    # every option quote row comes out once, and rows of one minute keep their file order
    assert option_quotes == quotes.occ_symbol.tolist()
    first = events[0]
    assert type(first) is Bar and first.ts.isoformat() == "2015-12-24T14:31:00+00:00"


def test_two_underlyings_on_one_day_merge_by_time_with_a_stable_tie_break(
        tmp_path: Path) -> None:
    shutil.copy(REPLAY_DIR / "GOOG_2015-12-24_1min.csv.gz", tmp_path)
    df = pd.read_csv(REPLAY_DIR / "GOOG_2015-12-24_1min.csv.gz")
    df["symbol"] = "GOOX"
    df.to_csv(tmp_path / "GOOX_2015-12-24_1min.csv.gz", index=False)
    days = [ReplayDay.discover(tmp_path, u, GOOG_DAY) for u in ("GOOG", "GOOX")]
    events = list(ReplayFeed(days).events())
    assert events == list(ReplayFeed(days).events())
    minute = [(type(e).__name__, e.symbol) for e in events if e.ts == events[0].ts]
    assert minute == [("Bar", "GOOG"), ("Bar", "GOOX"), ("Quote", "GOOG"), ("Quote", "GOOX")]
