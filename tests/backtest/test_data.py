"""Every data layout the backtester reads gives the same backtest of the same market."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from backtest.data import DataError, discover_days, load_data
from backtest.runner import run
from market.history.importer import import_shipped
from market.history.store import HistoryStore
from tests.conftest import ROOT, SHARED, make_settings

SPY_DAYS = ROOT / "data" / "equity_minute"
FIRST, LAST = date(2013, 10, 7), date(2013, 10, 8)


def _settings():  # type: ignore[no-untyped-def]
    return make_settings(strategies={"sma_cross": {"fast": 5, "slow": 20}},
                         risk={"disabled_rules": ["volume"], "max_position_pct": 0.5},
                         execution={"entry": {"style": "natural"}})


def _fills(path: Path) -> list[tuple[object, ...]]:
    result = run(_settings(), path, FIRST, LAST)
    assert result.fills > 0
    return [(f["ts"], f["symbol"], f["side"], f["quantity"], f["price"])
            for f in result.fill_log]


def test_history_store_replays_the_same_backtest_as_the_csv_days(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history")
    for day in (FIRST, LAST):
        src = SPY_DAYS / f"SPY_{day.isoformat()}_1min.csv.gz"
        shutil.copy(src, tmp_path)
    import_shipped(tmp_path, store)
    loaded = load_data(tmp_path / "history", FIRST, LAST)
    assert loaded.days == [FIRST, LAST] and loaded.underlyings == ["SPY"]
    assert _fills(tmp_path / "history") == _fills(SPY_DAYS)


def test_discovery_joins_option_and_underlying_files_of_the_shared_layout() -> None:
    folder = SHARED / "data"
    if not folder.exists():
        pytest.skip("the shared data set is not mounted here")
    days = discover_days(folder, date(2015, 12, 23), date(2015, 12, 24), {"GOOG"})
    assert [(d.day, d.quotes is not None, d.underlying_minute is not None) for d in days] == [
        (date(2015, 12, 23), True, True), (date(2015, 12, 24), True, True)]


def test_ranges_outside_the_data_fail_with_the_path_and_range(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no recorded days between 2001-01-01"):
        load_data(SPY_DAYS, date(2001, 1, 1), date(2001, 2, 1))
    (tmp_path / "quotes.csv").write_text("ts,symbol,bid\n2015-12-24T10:00:00-05:00,X,1\n")
    with pytest.raises(ValueError, match="missing column"):
        load_data(tmp_path)
