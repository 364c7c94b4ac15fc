"""The shipped real data imported into the store, read back, and replayed from it."""

from __future__ import annotations

from datetime import date

import dask.dataframe as dd
import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as pads
import pytest

from market.feeds.replay import ReplayDay, ReplayFeed
from market.history.feed import HistoryFeed
from market.history.importer import import_shipped
from market.history.store import HistoryStore
from tests.conftest import GOOG_DAY, REPLAY_DIR, SHARED, make_settings, replay

SPXW_DIR = SHARED / "data" / "options_minute"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> HistoryStore:
    store = HistoryStore(tmp_path_factory.mktemp("history"))
    import_shipped(REPLAY_DIR, store)
    return store


def test_import_reads_back_the_same_rows_as_the_files(store):
    quotes = pd.read_csv(REPLAY_DIR / "GOOG_2015-12-24_quotes.csv.gz")
    trades = pd.read_csv(REPLAY_DIR / "GOOG_2015-12-24_trades.csv.gz")
    stored = store.read("options_quotes", GOOG_DAY, "GOOG").to_pandas()
    stored_trades = store.read("options_minute", GOOG_DAY, "GOOG").to_pandas()

    assert len(stored) == len(quotes) == 275_552
    assert stored.symbol.tolist() == quotes.occ_symbol.tolist()
    assert stored.bid_price.fillna(-1).tolist() == quotes.bid_close.fillna(-1).tolist()
    assert stored_trades.volume.sum() == trades.volume.sum()
    first = stored_trades.iloc[0]
    assert str(first.window_start) == "2015-12-24 14:30:00+00:00"  # 09:30 EST
    assert first.strike == 750.0


def test_ls_lists_what_was_imported(store):
    summary = {s.dataset: s for s in store.ls()}

    assert set(summary) == {"options_quotes", "options_minute", "open_interest",
                            "stocks_minute", "stocks_quotes"}
    assert summary["options_quotes"].rows == 275_552
    assert summary["options_quotes"].underlyings == ("GOOG",)
    assert summary["options_quotes"].first_day == GOOG_DAY
    assert summary["options_quotes"].bytes > 0


def test_the_store_is_readable_as_is_by_duckdb_polars_and_pyarrow(store):
    glob = store.glob("options_minute")
    by_duckdb = duckdb.sql(f"SELECT count(*), sum(volume) FROM read_parquet('{glob}', "
                           "hive_partitioning=true) WHERE underlying = 'GOOG'").fetchall()[0]
    by_polars = (pl.scan_parquet(glob, hive_partitioning=True)
                 .filter(pl.col("underlying") == "GOOG")
                 .select(pl.len(), pl.col("volume").sum()).collect().row(0))
    by_arrow = pads.dataset(store.dataset_dir("options_minute"), format="parquet",
                            partitioning="hive").to_table()

    by_dask = dd.read_parquet(str(store.dataset_dir("options_minute"))).compute()

    assert by_duckdb == by_polars
    assert by_arrow.num_rows == by_duckdb[0] == len(by_dask) == 958
    assert "underlying" in by_arrow.column_names
    assert set(by_dask.underlying.astype(str)) == {"GOOG"}


def test_opening_a_store_to_read_it_writes_nothing(tmp_path):
    store = HistoryStore(tmp_path / "absent")

    assert store.ls() == []
    assert not (tmp_path / "absent").exists()


def test_history_feed_replays_exactly_what_the_replay_feed_does(store):
    from_files = list(ReplayFeed([ReplayDay.discover(REPLAY_DIR, "GOOG", GOOG_DAY)]).events())
    feed = HistoryFeed(store, ["GOOG"], [GOOG_DAY])

    from_store = list(feed.events())

    assert len(from_store) == len(from_files)
    assert from_store == from_files
    assert feed.open_interest["GOOG151224C00745000"] == 1653


def test_a_backtest_runs_from_the_store(store, sim_clock):
    from bot.wiring import build_bot

    bot = build_bot(make_settings(), sim_clock, run_tag="history")
    try:
        n = replay(bot, sim_clock, HistoryFeed(store, ["GOOG"], [GOOG_DAY]), limit=20_000)
    finally:
        bot.close()
    assert n == 20_000


def test_spx_and_spxw_files_merge_into_one_underlying(tmp_path):
    store = HistoryStore(tmp_path)
    import_shipped([SPXW_DIR / "SPX_2021-01-04_trades.csv.gz",
                    SPXW_DIR / "SPXW_2021-01-04_trades.csv.gz"], store)

    table = store.read("options_minute", date(2021, 1, 4), "SPX").to_pandas()
    assert len(table) == 348 + 1918
    assert {s[:4] for s in table.symbol} == {"SPX2", "SPXW"}


def test_importing_twice_gives_the_same_store(tmp_path):
    store = HistoryStore(tmp_path)
    files = [SPXW_DIR / "SPY_2023-08-03_trades.csv.gz"]
    import_shipped(files, store)
    import_shipped(files, store)

    assert store.ls()[0].rows == 190


def test_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing to import"):
        import_shipped(tmp_path / "nope", HistoryStore(tmp_path / "s"))


def test_a_day_with_nothing_stored_is_a_clear_error(store):
    with pytest.raises(FileNotFoundError, match="no stored history for MSFT"):
        next(HistoryFeed(store, ["MSFT"], [GOOG_DAY]).events())


