"""Queries over a small store built through the real ingest path."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime

import polars as pl
import pytest

from market.history.datasets import OPTIONS_MINUTE
from market.history.ingest import commit_ingest, ingest_stream
from market.history.query import HistoryQuery
from market.history.store import HistoryStore

DAYS = [date(2024, 8, 14), date(2024, 8, 15), date(2024, 8, 16)]
HEADER = "ticker,volume,open,close,high,low,window_start,transactions"


def _ns(day: date, minute: int) -> int:
    return int(datetime(day.year, day.month, day.day, 13, 30 + minute, tzinfo=UTC).timestamp()
               ) * 10**9


@pytest.fixture
def query(tmp_path) -> Iterator[HistoryQuery]:
    store = HistoryStore(tmp_path)
    for n, day in enumerate(DAYS):
        rows = [f"O:{t},{v},1,{1 + n + m / 100},2,0.5,{_ns(day, m)},1"
                for t, v in (("SPY240816C00545000", 10), ("SPY240816P00540000", 5),
                             ("QQQ240816C00470000", 7))
                for m in range(3)]
        body = gzip.compress(("\n".join([HEADER, *rows]) + "\n").encode())
        result = ingest_stream(io.BytesIO(body), OPTIONS_MINUTE, ["SPY", "QQQ"], store)
        commit_ingest(store, OPTIONS_MINUTE, day, result)
    q = HistoryQuery(store)
    yield q
    q.close()


def test_one_underlying_day(query):
    table = query.option_minute_bars("spy", DAYS[1])

    assert table.num_rows == 6
    assert set(table.column("symbol").to_pylist()) == {"SPY240816C00545000",
                                                        "SPY240816P00540000"}
    assert table.column("close").to_pylist()[:3] == [2.0, 2.01, 2.02]


def test_one_contract_over_days(query):
    table = query.contract_minute_bars("O:SPY240816C00545000", start=DAYS[1])

    assert table.num_rows == 6
    assert table.column("close").to_pylist() == [2.0, 2.01, 2.02, 3.0, 3.01, 3.02]
    assert table.column("date").to_pylist()[0] == DAYS[1]


def test_sql_sees_every_dataset_as_a_view(query):
    table = query.sql("SELECT underlying, sum(volume) AS v FROM options_minute "
                      "GROUP BY underlying ORDER BY underlying")

    assert table.to_pylist() == [{"underlying": "QQQ", "v": 63.0},
                                 {"underlying": "SPY", "v": 135.0}]


def test_polars_lazy_frame(query):
    frame = query.lazy("options_minute").filter(pl.col("underlying") == "QQQ").collect()

    assert frame.height == 9


def test_nothing_stored_gives_an_empty_answer(query):
    assert query.option_minute_bars("IWM", DAYS[0]).num_rows == 0
    assert query.contract_minute_bars("IWM240816C00200000").num_rows == 0
