"""`fetch` with the real boto3 client against moto (server mode) behind a fault-injecting proxy,
holding files in Massive's documented flat-file CSV layouts."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from market.history.config import HistoryConfig
from market.history.fetch import FetchEvent, Status, fetch
from market.history.query import HistoryQuery
from market.history.s3 import FlatFileSource
from market.history.store import HistoryStore
from tests.integration.fakes.s3 import (
    ACCESS_KEY,
    AGG_HEADER,
    OPTION_QUOTE_HEADER,
    SECRET_KEY,
    STOCK_TRADE_HEADER,
    FakeMassiveS3,
    flat_key,
)

pytestmark = pytest.mark.integration

MINUTE = "us_options_opra/minute_aggs_v1"
QUOTES = "us_options_opra/quotes_v1"
STOCK_TRADES = "us_stocks_sip/trades_v1"
THU, FRI, MON = date(2024, 8, 15), date(2024, 8, 16), date(2024, 8, 19)


def ns(day: date, hh: int, mm: int) -> int:
    """Unix ns of an America/New_York wall time in August (EDT = UTC-4)."""
    return int(datetime(day.year, day.month, day.day, hh + 4, mm, tzinfo=UTC).timestamp()) * 10**9


def minute_rows(day: date, scale: float = 1.0) -> list[str]:
    rows = []
    for ticker in ("O:AAPL240816C00225000", "O:QQQ240816P00470000", "O:SPY240816C00545000",
                   "O:SPY240816P00540000"):
        for i, mm in enumerate((30, 31, 32)):
            price = round((1.0 + i * 0.05) * scale, 4)
            rows.append(f"{ticker},{10 + i},{price},{price + 0.02},{price + 0.03},"
                        f"{price - 0.01},{ns(day, 9, mm)},{3 + i}")
    return rows


@pytest.fixture(scope="module")
def s3() -> Iterator[FakeMassiveS3]:
    fake = FakeMassiveS3().start()
    for day in (THU, FRI, MON):
        fake.put_csv(flat_key(MINUTE, day), AGG_HEADER, minute_rows(day))
    yield fake
    fake.stop()


def source(s3: FakeMassiveS3, read_timeout: float = 5.0) -> FlatFileSource:
    return FlatFileSource(ACCESS_KEY, SECRET_KEY, endpoint=s3.endpoint, read_timeout=read_timeout,
                          connect_timeout=2.0, retries=1)


def config(tmp_path: Path, **kw: object) -> HistoryConfig:
    return HistoryConfig(store=tmp_path / "history", retry_backoff_seconds=0.0, **kw)


def stored(tmp_path: Path, dataset: str) -> list[tuple]:
    glob = HistoryStore(tmp_path / "history").glob(dataset)
    relation = duckdb.sql(f"SELECT date, underlying, symbol, window_start, close, volume "
                          f"FROM read_parquet('{glob}', hive_partitioning=true) "
                          f"ORDER BY date, underlying, symbol, window_start")
    assert relation is not None
    return relation.fetchall()


def test_fetch_keeps_only_chosen_underlyings_and_never_asks_for_a_weekend(s3, tmp_path):
    report = fetch(config(tmp_path), THU, MON, ["spy", "AAPL"], ["options_minute"],
                   flat_files=source(s3))

    assert report.ok
    assert [e.status for e in report.events] == [Status.STORED] * 3
    assert report.holidays == [date(2024, 8, 17), date(2024, 8, 18)]
    assert s3.gets(flat_key(MINUTE, date(2024, 8, 17))) == 0
    rows = stored(tmp_path, "options_minute")
    assert {(r[1], r[2]) for r in rows} == {
        ("AAPL", "AAPL240816C00225000"), ("SPY", "SPY240816C00545000"),
        ("SPY", "SPY240816P00540000")}
    assert len(rows) == 3 * 3 * 3
    first = rows[0]
    assert first[0] == THU
    assert first[3] == datetime(2024, 8, 15, 13, 30, tzinfo=UTC)  # 09:30 EDT
    assert first[4] == pytest.approx(1.02)
    assert first[5] == 10


def test_a_finished_day_is_never_downloaded_twice(s3, tmp_path):
    cfg = config(tmp_path)
    fetch(cfg, THU, FRI, ["SPY"], ["options_minute"], flat_files=source(s3))
    gets_before = s3.gets(flat_key(MINUTE, THU))

    report = fetch(cfg, THU, FRI, ["SPY"], ["options_minute"], flat_files=source(s3))

    assert [e.status for e in report.events] == [Status.SKIPPED, Status.SKIPPED]
    assert s3.gets(flat_key(MINUTE, THU)) == gets_before


def test_a_new_underlying_on_a_stored_day_fetches_only_that_one(s3, tmp_path):
    cfg = config(tmp_path)
    fetch(cfg, THU, THU, ["SPY"], ["options_minute"], flat_files=source(s3))
    store = HistoryStore(cfg.store)
    spy_file = store.partition_path("options_minute", THU, "SPY")
    spy_mtime = spy_file.stat().st_mtime_ns

    report = fetch(cfg, THU, THU, ["SPY", "QQQ"], ["options_minute"], flat_files=source(s3))

    assert report.events[0].status is Status.STORED
    assert spy_file.stat().st_mtime_ns == spy_mtime
    assert store.manifest("options_minute", THU).underlyings == {"SPY": 6, "QQQ": 3}


def test_a_republished_file_is_detected_and_replaces_the_old_rows(s3, tmp_path):
    day = date(2024, 8, 20)
    s3.put_csv(flat_key(MINUTE, day), AGG_HEADER, minute_rows(day))
    cfg = config(tmp_path)
    fetch(cfg, day, day, ["SPY"], ["options_minute"], flat_files=source(s3))
    s3.put_csv(flat_key(MINUTE, day), AGG_HEADER, minute_rows(day, scale=2.0))

    report = fetch(cfg, day, day, ["SPY"], ["options_minute"], flat_files=source(s3))

    assert report.events[0].status is Status.STORED
    closes = sorted(r[4] for r in stored(tmp_path, "options_minute"))
    assert closes[0] == pytest.approx(2.02)  # only the republished values remain
    assert len(closes) == 6


def test_a_dataset_outside_the_plan_is_named_and_the_rest_is_stored(s3, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    s3.faults.refuse_prefixes.add(QUOTES)
    try:
        report = fetch(config(tmp_path), THU, FRI, ["SPY"], ["options_minute", "options_quotes"],
                       flat_files=source(s3))
    finally:
        s3.faults.refuse_prefixes.clear()

    assert not report.ok
    assert set(report.not_in_plan) == {"options_quotes"}
    message = report.not_in_plan["options_quotes"]
    assert "options_quotes" in message
    assert "subscription" in message
    assert len(report.of(Status.STORED)) == 2
    with pytest.raises(Exception, match="options_quotes"):
        report.raise_for_errors()
    assert SECRET_KEY not in caplog.text
    assert SECRET_KEY not in message


def test_server_errors_are_retried(s3, tmp_path):
    s3.faults.server_error[flat_key(MINUTE, THU)] = 3
    before = s3.gets(flat_key(MINUTE, THU))

    report = fetch(config(tmp_path), THU, THU, ["SPY"], ["options_minute"],
                   flat_files=source(s3))

    assert report.events[0].status is Status.STORED
    assert s3.gets(flat_key(MINUTE, THU)) - before == 4
    assert len(stored(tmp_path, "options_minute")) == 6


def test_a_connection_cut_mid_file_is_fetched_again_and_stored_once(s3, tmp_path):
    key = flat_key(MINUTE, FRI)
    s3.faults.cut_mid_body[key] = 1
    before = s3.gets(key)

    report = fetch(config(tmp_path), FRI, FRI, ["SPY"], ["options_minute"],
                   flat_files=source(s3))

    assert report.events[0].status is Status.STORED
    assert s3.gets(key) - before == 2
    assert len(stored(tmp_path, "options_minute")) == 6
    assert list((tmp_path / "history" / ".tmp").iterdir()) == []


def test_a_stalled_body_times_out_and_is_fetched_again(s3, tmp_path):
    key = flat_key(MINUTE, MON)
    s3.faults.stall_mid_body[key] = 1
    s3.faults.stall_seconds = 2.0

    report = fetch(config(tmp_path), MON, MON, ["SPY"], ["options_minute"],
                   flat_files=source(s3, read_timeout=0.5))

    assert report.events[0].status is Status.STORED
    assert len(stored(tmp_path, "options_minute")) == 6


def test_a_corrupt_body_is_fetched_again(s3, tmp_path):
    key = flat_key(MINUTE, THU)
    s3.faults.corrupt_body[key] = 1
    before = s3.gets(key)

    report = fetch(config(tmp_path), THU, THU, ["AAPL"], ["options_minute"],
                   flat_files=source(s3))

    assert report.events[0].status is Status.STORED
    assert s3.gets(key) - before == 2
    assert len(stored(tmp_path, "options_minute")) == 3


def test_a_truncated_gzip_file_is_never_half_stored(s3, tmp_path):
    day = date(2024, 8, 21)
    good = s3.put_csv(flat_key(MINUTE, day), AGG_HEADER, minute_rows(day) * 2000)
    s3.put_bytes(flat_key(MINUTE, day), good[: len(good) * 2 // 3])
    cfg = config(tmp_path, file_retries=1)

    report = fetch(cfg, day, day, ["SPY"], ["options_minute"], flat_files=source(s3))

    assert report.events[0].status is Status.FAILED
    assert "unreadable" in report.events[0].message
    store = HistoryStore(cfg.store)
    assert store.manifest("options_minute", day) is None
    assert not store.partition_path("options_minute", day, "SPY").exists()
    assert not store.tmp.exists() or list(store.tmp.iterdir()) == []

    s3.put_bytes(flat_key(MINUTE, day), good)  # the vendor fixes the file
    assert fetch(cfg, day, day, ["SPY"], ["options_minute"],
                 flat_files=source(s3)).events[0].status is Status.STORED
    assert len(stored(tmp_path, "options_minute")) == 6 * 2000


def test_an_interrupted_fetch_resumes_where_it_stopped(s3, tmp_path):
    cfg = config(tmp_path, max_parallel_downloads=1)
    keys = [flat_key(MINUTE, d) for d in (THU, FRI, MON)]
    before = [s3.gets(k) for k in keys]

    def stop_after_first(event: FetchEvent) -> None:
        if event.status is Status.STORED:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(cfg, THU, MON, ["SPY"], ["options_minute"], flat_files=source(s3),
              progress=stop_after_first)
    report = fetch(cfg, THU, MON, ["SPY"], ["options_minute"], flat_files=source(s3))

    assert report.ok
    statuses = sorted(e.status.value for e in report.events)
    assert statuses.count("skipped") >= 1
    assert [s3.gets(k) - b for k, b in zip(keys, before, strict=True)] == [1, 1, 1]
    assert len(stored(tmp_path, "options_minute")) == 3 * 6


def test_a_session_without_a_file_is_missing_not_an_error(s3, tmp_path):
    day = date(2024, 8, 22)
    report = fetch(config(tmp_path), day, day, ["SPY"], ["options_minute"],
                   flat_files=source(s3))

    assert report.ok
    assert report.events[0].status is Status.MISSING


def test_a_holiday_is_skipped_by_the_calendar(s3, tmp_path):
    report = fetch(config(tmp_path), date(2024, 7, 4), date(2024, 7, 4), ["SPY"],
                   ["options_minute"], flat_files=source(s3))

    assert report.events == []
    assert report.holidays == [date(2024, 7, 4)]
    assert s3.gets(flat_key(MINUTE, date(2024, 7, 4))) == 0


def test_option_quotes_are_filtered_while_streaming(s3, tmp_path):
    rows = []
    for i in range(30_000):  # several parse blocks' worth of other underlyings
        rows.append(f"O:TSLA240816C00{200 + i % 50:03d}000,300,1.10,5,301,1.05,7,{i},"
                    f"{ns(FRI, 10, 0) + i}")
    rows.insert(10, f"O:SPY240816C00545000,300,2.10,5,301,2.05,7,99,{ns(FRI, 10, 1)}")
    rows.append(f"O:SPXW240816P05450000,300,3.10,1,301,3.00,2,100,{ns(FRI, 10, 2)}")
    rows.append("O:SPY240816C00545000,300,garbage")  # malformed: dropped and counted
    s3.put_csv(flat_key(QUOTES, FRI), OPTION_QUOTE_HEADER, rows)

    report = fetch(config(tmp_path), FRI, FRI, ["SPY", "SPX"], ["options_quotes"],
                   flat_files=source(s3))

    assert report.ok
    store = HistoryStore(tmp_path / "history")
    spy = store.read("options_quotes", FRI, "SPY").to_pylist()
    spx = store.read("options_quotes", FRI, "SPX").to_pylist()
    assert [(q["symbol"], q["bid_price"], q["ask_price"]) for q in spy] == [
        ("SPY240816C00545000", 2.05, 2.10)]
    assert spx[0]["symbol"] == "SPXW240816P05450000"
    assert spx[0]["strike"] == 5450.0
    assert store.manifest("options_quotes", FRI).dropped_rows == 1


def test_stock_trades_keep_the_dark_pool_marker(s3, tmp_path):
    rows = [
        f'SPY,"12,37",0,4,1,{ns(FRI, 10, 0)},545.10,10,{ns(FRI, 10, 0)},100,1,,0',
        f'SPY,"",0,4,2,{ns(FRI, 10, 0)},545.12,11,{ns(FRI, 10, 0) + 5},5000,1,202,'
        f'{ns(FRI, 10, 0)}',
        f'QQQ,"",0,4,3,{ns(FRI, 10, 0)},470.00,12,{ns(FRI, 10, 0) + 9},10,1,,0',
    ]
    s3.put_csv(flat_key(STOCK_TRADES, FRI), STOCK_TRADE_HEADER, rows)

    fetch(config(tmp_path), FRI, FRI, ["SPY"], ["stocks_trades"], flat_files=source(s3))

    table = HistoryStore(tmp_path / "history").read("stocks_trades", FRI, "SPY")
    trades = table.to_pylist()
    assert [t["price"] for t in trades] == [545.10, 545.12]
    assert [t["trf_id"] for t in trades] == [None, 202]
    assert trades[0]["conditions"] == "12,37"
    dark = HistoryQuery(HistoryStore(tmp_path / "history")).dark_pool_prints("spy", FRI)
    assert dark.column("size").to_pylist() == [5000.0]


def test_a_garbage_number_drops_its_row_not_the_file(s3, tmp_path):
    day = date(2024, 8, 23)
    rows = minute_rows(day)
    rows[1] = f"O:AAPL240816C00225000,11,1.0x5,1.07,1.08,1.04,{ns(day, 9, 31)},4"  # bad open
    s3.put_csv(flat_key(MINUTE, day), AGG_HEADER, rows)

    report = fetch(config(tmp_path, file_retries=1), day, day, ["AAPL"], ["options_minute"],
                   flat_files=source(s3))

    assert report.events[0].status is Status.STORED
    store = HistoryStore(tmp_path / "history")
    assert store.manifest("options_minute", day).dropped_rows == 1
    assert store.manifest("options_minute", day).underlyings == {"AAPL": 2}


def test_downloads_run_in_parallel_but_never_beyond_the_bound(s3, tmp_path):
    days = [date(2024, 9, d) for d in (3, 4, 5, 6, 9, 10)]
    for day in days:
        s3.put_csv(flat_key(MINUTE, day), AGG_HEADER, minute_rows(day))
    s3.faults.get_delay_seconds = 0.3
    s3.max_in_flight = 0
    try:
        report = fetch(config(tmp_path, max_parallel_downloads=2), days[0], days[-1], ["SPY"],
                       ["options_minute"], flat_files=source(s3))
    finally:
        s3.faults.get_delay_seconds = 0.0

    assert report.ok
    assert len(report.of(Status.STORED)) == 6
    assert s3.max_in_flight == 2
