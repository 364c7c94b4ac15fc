"""Streaming ingest on in-memory gzip CSVs: routing, dropped rows, schema, nothing half-stored."""

from __future__ import annotations

import gzip
import io
from datetime import date

import pytest

from market.history.datasets import OPTIONS_MINUTE, OPTIONS_TRADES, STOCKS_MINUTE, dataset
from market.history.ingest import CorruptFile, commit_ingest, ingest_stream, store_schema
from market.history.store import HistoryStore

DAY = date(2024, 8, 16)
AGG = "ticker,volume,open,close,high,low,window_start,transactions"


def gz(*lines: str) -> io.BytesIO:
    return io.BytesIO(gzip.compress(("\n".join(lines) + "\n").encode()))


def test_stored_columns_are_the_documented_store_schema(tmp_path):
    store = HistoryStore(tmp_path)
    for ds, header, row in (
        (OPTIONS_MINUTE, AGG, "O:SPY240816C00545000,1,1,1,1,1,1723815000000000000,1"),
        (STOCKS_MINUTE, AGG, "SPY,100,545,546,547,544,1723815000000000000,12"),
        (OPTIONS_TRADES, "ticker,conditions,correction,exchange,price,sip_timestamp,size",
         "O:SPY240816C00545000,209,0,302,1.5,1723815000123456789,3"),
    ):
        result = ingest_stream(gz(header, row), ds, ["SPY"], store)
        commit_ingest(store, ds, DAY, result)
        assert store.read(ds.name, DAY, "SPY").schema == store_schema(ds)


def test_rows_are_routed_per_underlying_and_bad_tickers_counted(tmp_path):
    store = HistoryStore(tmp_path)
    result = ingest_stream(gz(
        AGG,
        "O:SPY240816C00545000,1,1,1,1,1,1723815000000000000,1",
        "O:SPY2408X6C00545000,1,1,1,1,1,1723815000000000000,1",  # SPY root, broken date
        "O:SPXW240816P05450000,2,1,1,1,1,1723815000000000000,1",
        "O:AAPL240816P00200000,3,1,1,1,1,1723815000000000000,1",
        "O:SPY240816C00545000,1,2",  # wrong column count
    ), OPTIONS_MINUTE, ["SPY", "SPX"], store)

    assert result.rows == {"SPX": 1, "SPY": 1}
    assert result.dropped == 2


def test_a_truncated_stream_leaves_no_file(tmp_path):
    store = HistoryStore(tmp_path)
    body = gzip.compress(("\n".join(
        [AGG] + ["O:SPY240816C00545000,1,1,1,1,1,1723815000000000000,1"] * 400_000) + "\n"
    ).encode())

    with pytest.raises(CorruptFile, match="options_minute"):
        ingest_stream(io.BytesIO(body[: len(body) // 2]), OPTIONS_MINUTE, ["SPY"], store)
    assert not store.tmp.exists() or list(store.tmp.iterdir()) == []


def test_bad_requests_are_refused_before_reading(tmp_path):
    with pytest.raises(ValueError, match="at least one underlying"):
        ingest_stream(gz(AGG), OPTIONS_MINUTE, [], HistoryStore(tmp_path))
    with pytest.raises(ValueError, match="unknown dataset 'option_minute'"):
        dataset("option_minute")
    assert OPTIONS_MINUTE.s3_key(DAY) == "us_options_opra/minute_aggs_v1/2024/08/2024-08-16.csv.gz"
