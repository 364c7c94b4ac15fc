"""Recorded CSVs parsed once: the Parquet copy gives the same events as the CSV, an edited
file is parsed again, and a cache that cannot be written or read only costs the parse."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import market.feeds.parsed_cache as parsed_cache
from market.feeds.parsed_cache import CACHE_DIR, read_csv_cached
from market.feeds.replay import ReplayDay, ReplayFeed
from tests.conftest import GOOG_DAY, REPLAY_DIR

PARSE = pd.read_csv


def no_full_parse(*args: object, **kwargs: object) -> pd.DataFrame:
    """read_csv for a file's first row only (the feed peeks at a header); a whole file is
    not parsed again."""
    if kwargs.get("nrows") != 1:
        raise AssertionError("parsed the CSV again")
    return PARSE(*args, **kwargs)  # type: ignore[call-overload,no-any-return]


def test_a_second_replay_reads_the_parsed_copies_and_yields_the_same_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for f in REPLAY_DIR.glob("GOOG_*.csv.gz"):
        shutil.copy(f, tmp_path)
    first = list(ReplayFeed([ReplayDay.discover(tmp_path, "GOOG", GOOG_DAY)]).events())
    assert len(list((tmp_path / CACHE_DIR).glob("*.parquet"))) == 4
    monkeypatch.setattr(parsed_cache.pd, "read_csv", no_full_parse)
    again = list(ReplayFeed([ReplayDay.discover(tmp_path, "GOOG", GOOG_DAY)]).events())
    assert len(again) == 276_929
    assert again == first


def write(path: Path, bid: float, stamp_ns: int) -> None:
    pd.DataFrame({"occ_symbol": ["GOOG151231C00750000"], "bid_close": [bid]}).to_csv(
        path, index=False
    )
    os.utime(path, ns=(stamp_ns, stamp_ns))


def test_an_edited_file_is_parsed_again_and_its_old_copy_dropped(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    write(path, 1.25, 1_000_000_000)
    assert read_csv_cached(path).bid_close.tolist() == [1.25]
    write(path, 1.35, 2_000_000_000)  # same size, newer
    assert read_csv_cached(path).bid_close.tolist() == [1.35]
    assert len(list((tmp_path / CACHE_DIR).glob("quotes.csv.*.parquet"))) == 1


def test_a_folder_where_no_cache_can_be_made_replays_uncached(tmp_path: Path) -> None:
    (tmp_path / CACHE_DIR).write_text("a file where the cache folder would go")
    path = tmp_path / "quotes.csv"
    write(path, 1.25, 1_000_000_000)
    assert read_csv_cached(path).bid_close.tolist() == [1.25]
    assert read_csv_cached(path).bid_close.tolist() == [1.25]


def test_a_torn_cache_file_is_parsed_again_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "quotes.csv"
    write(path, 1.25, 1_000_000_000)
    read_csv_cached(path)
    [copy] = (tmp_path / CACHE_DIR).glob("*.parquet")
    copy.write_bytes(b"PAR1 torn")
    assert read_csv_cached(path).bid_close.tolist() == [1.25]
    assert "unreadable" in caplog.text
    assert pd.read_parquet(copy).bid_close.tolist() == [1.25]
