"""Derived history against independent numbers: QuantLib for IV/Greeks, hand sums for volume."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
import QuantLib as ql

from market.history.datasets import OPTIONS_DAY, STOCKS_DAY
from market.history.derived import greeks_daily, volume_history
from market.history.importer import import_shipped
from market.history.ingest import store_schema
from market.history.rest import SPLIT_SCHEMA
from market.history.store import HistoryStore
from tests.conftest import SHARED

DAY = date(2024, 8, 16)
EXPIRY = date(2024, 9, 20)  # 35 calendar days, close to close (both 16:00 EDT)
SPOT, RATE, DIV, VOL = 545.0, 0.05, 0.01, 0.30


def quantlib(strike: float, call: bool) -> tuple[float, float, float]:
    """NPV, delta and gamma of a European option from QuantLib (ACT/365F, flat curves)."""
    ql.Settings.instance().evaluationDate = ql.Date(DAY.day, DAY.month, DAY.year)
    dc = ql.Actual365Fixed()
    today = ql.Settings.instance().evaluationDate
    process = ql.BlackScholesMertonProcess(
        ql.QuoteHandle(ql.SimpleQuote(SPOT)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, DIV, dc)),
        ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, dc)),
        ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), VOL, dc)))
    option = ql.EuropeanOption(
        ql.PlainVanillaPayoff(ql.Option.Call if call else ql.Option.Put, strike),
        ql.EuropeanExercise(ql.Date(EXPIRY.day, EXPIRY.month, EXPIRY.year)))
    option.setPricingEngine(ql.AnalyticEuropeanEngine(process))
    return option.NPV(), option.delta(), option.gamma()


def day_bars(day: date, rows: list[tuple[str, str, float, float, float]]) -> pa.Table:
    start = int(datetime(day.year, day.month, day.day, 4, tzinfo=UTC).timestamp()) * 10**9
    return pa.table({
        "symbol": [r[0] for r in rows], "expiration": [EXPIRY] * len(rows),
        "right": [r[1] for r in rows], "strike": [r[2] for r in rows],
        "volume": [r[4] for r in rows], "open": [r[3] for r in rows],
        "close": [r[3] for r in rows], "high": [r[3] for r in rows],
        "low": [r[3] for r in rows],
        "window_start": pa.array([start] * len(rows)).cast(pa.timestamp("ns", tz="UTC")),
        "transactions": pa.nulls(len(rows), pa.int64()),
    }, schema=store_schema(OPTIONS_DAY))


def stock_day(day: date, close: float) -> pa.Table:
    start = int(datetime(day.year, day.month, day.day, 4, tzinfo=UTC).timestamp()) * 10**9
    return pa.table({"symbol": ["SPY"], "volume": [1e6], "open": [close], "close": [close],
                     "high": [close], "low": [close],
                     "window_start": pa.array([start]).cast(pa.timestamp("ns", tz="UTC")),
                     "transactions": pa.nulls(1, pa.int64())}, schema=store_schema(STOCKS_DAY))


def test_daily_iv_and_greeks_match_quantlib(tmp_path):
    store = HistoryStore(tmp_path)
    call, call_delta, call_gamma = quantlib(550.0, call=True)
    put, put_delta, _ = quantlib(520.0, call=False)
    store.write_table(day_bars(DAY, [("SPY240920C00550000", "C", 550.0, call, 10),
                                     ("SPY240920P00520000", "P", 520.0, put, 5),
                                     ("SPY240920C00100000", "C", 100.0, 400.0, 1)]),
                      "options_day", DAY, "SPY")
    store.write_table(stock_day(DAY, SPOT), "stocks_day", DAY, "SPY")

    report = greeks_daily(store, ["SPY"], [DAY], rate=RATE, dividend_yield=DIV)

    assert report.written == 1
    rows = store.read("greeks_daily", DAY, "SPY").to_pylist()
    assert rows[0]["years_to_expiry"] == pytest.approx(35 / 365, abs=1e-12)
    assert rows[0]["iv"] == pytest.approx(VOL, abs=1e-8)
    assert rows[0]["delta"] == pytest.approx(call_delta, abs=1e-8)
    assert rows[0]["gamma"] == pytest.approx(call_gamma, abs=1e-10)
    assert rows[1]["iv"] == pytest.approx(VOL, abs=1e-8)
    assert rows[1]["delta"] == pytest.approx(put_delta, abs=1e-8)
    assert rows[2]["iv"] is None  # 400 is below intrinsic (445 discounted): no IV
    assert rows[2]["iv_reason"] == "below_intrinsic"


def test_greeks_skip_a_day_without_the_underlying_close(tmp_path):
    store = HistoryStore(tmp_path)
    store.write_table(day_bars(DAY, [("SPY240920C00550000", "C", 550.0, 5.0, 1)]),
                      "options_day", DAY, "SPY")

    report = greeks_daily(store, ["SPY"], [DAY], rate=RATE)

    assert report.written == 0
    assert report.skipped == [(DAY, "SPY", "no stocks_day (underlying close)")]


def test_thirty_day_volume_counts_days_without_prints_as_zero(tmp_path):
    store = HistoryStore(tmp_path)
    d1, d2, d3 = date(2024, 8, 14), date(2024, 8, 15), date(2024, 8, 16)
    store.write_table(day_bars(d1, [("A", "C", 1.0, 1.0, 10), ("B", "P", 1.0, 1.0, 6)]),
                      "options_day", d1, "SPY")
    store.write_table(day_bars(d2, [("B", "P", 1.0, 1.0, 9)]), "options_day", d2, "SPY")
    store.write_table(day_bars(d3, [("A", "C", 1.0, 1.0, 40), ("B", "P", 1.0, 1.0, 0)]),
                      "options_day", d3, "SPY")

    volume_history(store, ["SPY"])

    last = {r["symbol"]: r for r in store.read("volume_30d", d3, "SPY").to_pylist()}
    assert last["A"]["avg_volume_30d"] == pytest.approx((10 + 0 + 40) / 3)
    assert last["B"]["avg_volume_30d"] == pytest.approx((6 + 9 + 0) / 3)
    assert last["SPY"]["avg_volume_30d"] == pytest.approx((16 + 9 + 40) / 3)
    assert last["SPY"]["sessions"] == 3
    pc1 = store.read("put_call", d1, "SPY").to_pylist()[0]
    assert (pc1["call_volume"], pc1["put_volume"], pc1["put_call_ratio"]) == (10, 6, 0.6)
    pc2 = store.read("put_call", d2, "SPY").to_pylist()[0]
    assert pc2["call_volume"] == 0
    assert pc2["put_call_ratio"] is None


def test_thirty_day_volume_counts_pre_split_contracts_in_todays_terms(tmp_path):
    """A 7:1 split between two sessions: the 700 call became seven 100 calls (OCC), so the
    100 call's window on day 2 counts day 1's 10 contracts as 70; day 1 stays in its terms."""
    store = HistoryStore(tmp_path)
    d1, d2 = date(2024, 8, 15), date(2024, 8, 16)
    store.write_table(day_bars(d1, [("XYZ240920C00700000", "C", 700.0, 7.0, 10)]),
                      "options_day", d1, "XYZ")
    store.write_table(day_bars(d2, [("XYZ240920C00100000", "C", 100.0, 1.0, 140)]),
                      "options_day", d2, "XYZ")
    store.write_table(pa.table({
        "execution_date": [d2], "split_from": [1.0], "split_to": [7.0],
        "adjustment_type": ["forward_split"], "historical_adjustment_factor": [1 / 7]},
        schema=SPLIT_SCHEMA), "splits", None, "XYZ")

    volume_history(store, ["XYZ"])

    def averages(day: date) -> dict[str, float]:
        table = store.read("volume_30d", day, "XYZ")
        assert table is not None
        return {r["symbol"]: r["avg_volume_30d"] for r in table.to_pylist()}

    day1, day2 = averages(d1), averages(d2)
    assert day1 == {"XYZ240920C00700000": 10.0, "XYZ": 10.0}
    assert day2["XYZ240920C00100000"] == pytest.approx((10 * 7 + 140) / 2)  # not 140 / 2
    assert day2["XYZ"] == pytest.approx((70 + 140) / 2)
    assert "XYZ240920C00700000" not in day2
    put_call = store.read("put_call", d1, "XYZ").to_pylist()[0]
    assert put_call["call_volume"] == 10  # a session's own counts stay as traded


def test_derived_history_from_the_shipped_real_chains(tmp_path):
    store = HistoryStore(tmp_path)
    chains = SHARED / "data" / "option_chains"
    import_shipped(sorted(chains.glob("GOOG_2015-12-*_chain.csv.gz")), store)
    days = [d for d in (date(2015, 12, 22), date(2015, 12, 23), date(2015, 12, 24))]

    report = greeks_daily(store, ["GOOG"], days, rate=0.005)
    volume_history(store, ["GOOG"])

    assert report.written == 3
    greeks = store.read("greeks_daily", date(2015, 12, 23), "GOOG").to_pandas()
    solved = greeks[greeks.iv_reason == "ok"]
    assert len(solved) > 100
    assert solved.iv.between(0.01, 5.0).all()
    calls = solved[solved.right == "C"]
    assert calls.delta.between(0.0, 1.0).all()
    pc = store.read("put_call", date(2015, 12, 23), "GOOG").to_pylist()[0]
    assert pc["call_volume"] + pc["put_volume"] == greeks.volume.sum()
