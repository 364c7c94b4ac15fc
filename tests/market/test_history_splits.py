"""Split adjustment rules, one case each, with hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from market.history.query import HistoryQuery
from market.history.rest import OPEN_INTEREST_SCHEMA, SPLIT_SCHEMA
from market.history.splits import Split, SplitAdjuster
from market.history.store import HistoryStore

MON, TUE = date(2024, 6, 10), date(2024, 6, 11)


def _ns(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()) * 10**9


def _stock(close: float, volume: float, day: date) -> pa.Table:
    return pa.table(
        {
            "symbol": ["XYZ"],
            "close": [close],
            "volume": [volume],
            "window_start": pa.array(
                [_ns(day.year, day.month, day.day, 14, 30)], pa.timestamp("ns", tz="UTC")
            ),
        }
    )


def _option(symbol: str, strike: float, close: float, volume: float, day: date) -> pa.Table:
    return pa.table(
        {
            "symbol": [symbol],
            "strike": [strike],
            "close": [close],
            "volume": [volume],
            "date": [day],
        }
    )


def test_a_three_for_two_split_changes_the_deliverable_not_the_contract():
    adjuster = SplitAdjuster([Split(TUE, 2, 3)])

    stock = adjuster.stock(_stock(90.0, 100.0, MON)).to_pylist()[0]
    option = adjuster.options(_option("XYZ240621C00090000", 90.0, 4.5, 10, MON)).to_pylist()[0]

    assert stock["close"] == pytest.approx(60.0)  # 90 × 2/3
    assert stock["volume"] == pytest.approx(150.0)  # 100 × 3/2
    assert option["deliverable"] == 150.0  # OCC: 100 × 3/2 shares, same strike and count
    assert (option["symbol"], option["strike"], option["close"], option["volume"]) == (
        "XYZ240621C00090000",
        90.0,
        4.5,
        10.0,
    )


def test_a_reverse_split_delivers_fewer_shares():
    adjuster = SplitAdjuster([Split(TUE, 10, 1)])

    stock = adjuster.stock(_stock(1.5, 1000.0, MON)).to_pylist()[0]
    option = adjuster.options(_option("XYZ240621P00001500", 1.5, 0.2, 5, MON)).to_pylist()[0]

    assert stock["close"] == pytest.approx(15.0)
    assert stock["volume"] == pytest.approx(100.0)
    assert option["deliverable"] == 10.0
    assert option["strike"] == 1.5


def test_two_whole_splits_compound_with_cent_rounding_at_each():
    adjuster = SplitAdjuster([Split(date(2020, 8, 31), 1, 4), Split(date(2014, 6, 9), 1, 7)])

    row = adjuster.options(
        _option("AAPL140621C00650000", 650.0, 28.0, 3, date(2014, 6, 6))
    ).to_pylist()[0]

    # 650 / 7 = 92.857 → 92.86; 92.86 / 4 = 23.215 → 23.22 (half up); 28 / 28 = 1
    assert row["strike"] == 23.22
    assert row["symbol"] == "AAPL140621C00023220"
    assert row["raw_symbol"] == "AAPL140621C00650000"
    assert row["close"] == pytest.approx(1.0)
    assert row["volume"] == 84.0
    assert row["split_factor"] == pytest.approx(1 / 28)


def test_a_basis_before_the_split_leaves_rows_alone():
    adjuster = SplitAdjuster([Split(TUE, 1, 2)], basis=MON)

    assert adjuster.stock(_stock(100.0, 10.0, MON)).to_pylist()[0]["close"] == 100.0
    assert adjuster.factor(date(2020, 1, 2)) == 1.0


def test_rows_are_dated_in_exchange_time_not_utc():
    """Monday 20:30 New York is Tuesday 00:30 UTC: still Monday's (pre-split) share count."""
    late = pa.table(
        {
            "symbol": ["XYZ"],
            "close": [100.0],
            "volume": [10.0],
            "window_start": pa.array([_ns(2024, 6, 11, 0, 30)], pa.timestamp("ns", tz="UTC")),
        }
    )

    row = SplitAdjuster([Split(TUE, 1, 2)]).stock(late).to_pylist()[0]

    assert row["close"] == pytest.approx(50.0)


def test_a_stored_empty_splits_table_means_no_splits(tmp_path):
    store = HistoryStore(tmp_path)
    store.write_table(SPLIT_SCHEMA.empty_table(), "splits", None, "XYZ")

    assert SplitAdjuster.from_store(store, "xyz").factor(MON) == 1.0


def test_contract_days_join_day_bars_and_open_interest_by_date(tmp_path):
    store = HistoryStore(tmp_path)
    sym = "XYZ240621C00090000"
    wed = date(2024, 6, 12)
    for day, close in ((MON, 1.0), (TUE, 2.0)):
        store.write_table(
            pa.table(
                {
                    "symbol": [sym, "XYZ240621P00090000"],
                    "strike": [90.0, 90.0],
                    "open": [close, 9.0],
                    "high": [close, 9.0],
                    "low": [close, 9.0],
                    "close": [close, 9.0],
                    "volume": [10.0, 99.0],
                }
            ),
            "options_day",
            day,
            "XYZ",
        )
    for day, oi in ((TUE, 500), (wed, 650)):
        store.write_table(
            pa.table(
                {
                    "symbol": [sym],
                    "expiration": [date(2024, 6, 21)],
                    "right": ["C"],
                    "strike": [90.0],
                    "open_interest": [oi],
                },
                schema=OPEN_INTEREST_SCHEMA,
            ),
            "open_interest",
            day,
            "XYZ",
        )
    query = HistoryQuery(store)

    rows = query.contract_days(sym).to_pylist()
    query.close()

    assert [(r["date"], r["close"], r["open_interest"]) for r in rows] == [
        (MON, 1.0, None),
        (TUE, 2.0, 500),
        (wed, None, 650),
    ]
