"""OptionContract and OptionChain: validation flags, lookups and lazy models, on real GOOG data."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from market.chain import OptionChain
from market.contract import OptionContract
from market.instruments import OptionRight, OptionSymbol
from market.validation import DataFlag

ROOT = Path(__file__).resolve().parents[2]
QUOTES = ROOT / "data" / "replay" / "GOOG_2015-12-24_quotes.csv.gz"
SNAPSHOT = Path(__file__).parent / "data" / "GOOG_2015-12-24_chain.csv.gz"
AS_OF = datetime(2015, 12, 24, 15, 1, tzinfo=UTC)  # 10:01 New York: the 10:00 minute released
GOOG_AT_10 = 750.0


def contract(**overrides: object) -> OptionContract:
    fields: dict[str, object] = dict(
        symbol="GOOG151231C00750000", underlying="GOOG", strike=750.0,
        expiration=date(2015, 12, 31), option_type=OptionRight.CALL, bid=10.0, ask=10.5,
        timestamp=AS_OF, underlying_price=GOOG_AT_10)
    fields.update(overrides)
    return OptionContract(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def quotes_at_10() -> pd.DataFrame:
    df = pd.read_csv(QUOTES)
    df = df[df.timestamp <= "2015-12-24T10:00:00-05:00"]
    return df.groupby("occ_symbol").tail(1).reset_index(drop=True)


@pytest.fixture(scope="module")
def quote_chain(quotes_at_10: pd.DataFrame) -> OptionChain:
    return OptionChain.build(
        "GOOG", AS_OF, quotes_at_10.occ_symbol.tolist(), bid=quotes_at_10.bid_close,
        ask=quotes_at_10.ask_close, underlying_price=GOOG_AT_10,
        bid_size=quotes_at_10.bid_size, ask_size=quotes_at_10.ask_size,
        quote_time=pd.to_datetime(quotes_at_10.timestamp, utc=True) + pd.Timedelta(minutes=1),
        max_quote_age=timedelta(minutes=5))


@pytest.fixture(scope="module")
def greek_chain() -> OptionChain:
    """QuantConnect's end-of-day GOOG chain with IV and Greeks (close as both sides)."""
    df = pd.read_csv(SNAPSHOT)
    return OptionChain.build(
        "GOOG", AS_OF, df.occ_symbol.tolist(), bid=df.close, ask=df.close,
        underlying_price=float(df.underlying_close.iloc[0]), delta=df.delta, gamma=df.gamma,
        vega=df.vega, theta=df.theta, rho=df.rho, implied_volatility=df.implied_volatility,
        volume=df.volume, open_interest=df.open_interest)


# -- the single contract --------------------------------------------------------------------------

def test_a_clean_contract_has_a_mark_and_no_flags() -> None:
    c = contract(delta=0.5, gamma=0.01, iv_rank=40.0, volume=12)
    assert c.is_valid and c.flags == 0 and c.problems == []
    assert c.mark == 10.25 and c.spread == 0.5
    assert c.days_to_expiry == 7
    assert c.model_dump()["mark"] == 10.25


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"bid": None}, "missing"),
    ({"ask": 0.0}, "missing"),  # a one-sided market
    ({"underlying_price": None}, "missing"),
    ({"bid": math.nan}, "nan"),
    ({"delta": math.inf}, "nan"),
    ({"bid": -0.05}, "negative"),
    ({"volume": -3}, "negative"),
    ({"implied_volatility": -0.2}, "negative"),
    ({"bid": 10.6}, "crossed"),
    ({"delta": -0.4}, "out_of_range"),  # a call with a put's delta
    ({"delta": 1.3}, "out_of_range"),
    ({"iv_rank": 140.0}, "out_of_range"),
])
def test_bad_values_are_flagged_never_valid(overrides: dict[str, object], reason: str) -> None:
    c = contract(**overrides)
    assert reason in c.problems
    assert not c.is_valid and c.mark is None


def test_zero_bid_is_a_real_market_and_locked_is_allowed() -> None:
    assert contract(bid=0.0).is_valid
    assert contract(bid=10.5, ask=10.5).is_valid


def test_staleness_needs_the_quote_time() -> None:
    fresh = contract(quote_timestamp=AS_OF - timedelta(seconds=10))
    assert fresh.checked_for_staleness(timedelta(seconds=30)).is_valid
    old = contract(quote_timestamp=AS_OF - timedelta(minutes=3))
    stale = old.checked_for_staleness(timedelta(seconds=30))
    assert stale.problems == ["stale"] and stale.mark is None


def test_identity_is_checked_and_spelling_normalized() -> None:
    assert contract(symbol="O:GOOG151231C00750000").symbol == "GOOG151231C00750000"
    assert contract(symbol="GOOG  151231C00750000").symbol == "GOOG151231C00750000"
    with pytest.raises(ValidationError, match="disagrees"):
        contract(strike=755.0)
    with pytest.raises(ValidationError):
        contract(timestamp=datetime(2015, 12, 24, 10, 0))  # naive time refused
    with pytest.raises(ValidationError):
        contract(unknown_field=1)
    c = contract(delta=0.5, volume=3, quote_timestamp=AS_OF)
    assert OptionContract(**c.model_dump()) == c  # a dump (with the derived mark) reads back
    assert OptionContract.model_validate_json(c.model_dump_json()) == c
    with pytest.raises(ValidationError):
        c.bid = 1.0  # type: ignore[misc]


# -- the chain on real data ------------------------------------------------------------------------

def test_real_chain_counts_its_bad_rows_by_reason(quote_chain: OptionChain,
                                                  quotes_at_10: pd.DataFrame) -> None:
    assert len(quote_chain) == 2192
    counts = quote_chain.flag_counts()
    expected_missing = int((quotes_at_10.bid_close.isna() | quotes_at_10.ask_close.isna()
                            | (quotes_at_10.ask_close == 0)).sum())
    assert counts["missing"] == expected_missing > 0
    released = pd.to_datetime(quotes_at_10.timestamp, utc=True) + pd.Timedelta(minutes=1)
    assert counts["stale"] == int((released < pd.Timestamp(AS_OF) - pd.Timedelta(minutes=5)).sum())
    assert counts["crossed"] == 0  # the README: equity-option minute files have none
    assert int(quote_chain.valid.sum()) == 2192 - int((quote_chain.flags != 0).sum())


def test_chain_is_indexed_by_expiry_right_and_strike(quote_chain: OptionChain,
                                                     quotes_at_10: pd.DataFrame) -> None:
    exps = quote_chain.expirations()
    assert exps[0] == date(2015, 12, 24) and len(exps) == 12
    strikes = quote_chain.strikes(date(2015, 12, 31), OptionRight.CALL)
    assert strikes == sorted(strikes) and 750.0 in strikes
    row = quotes_at_10[quotes_at_10.occ_symbol == "GOOG151231C00750000"].iloc[0]
    found = quote_chain.find(date(2015, 12, 31), 750.0, OptionRight.CALL)
    assert found is not None and found.symbol == "GOOG151231C00750000"
    assert (found.bid, found.ask, found.bid_size) == (row.bid_close, row.ask_close, row.bid_size)
    assert quote_chain.get("O:GOOG151231C00750000") is found  # lazily built once, then cached
    assert quote_chain.get("GOOG  151231C00750000") is found
    assert quote_chain.find(date(2015, 12, 31), 751.0, OptionRight.CALL) is None
    assert quote_chain.get("not a symbol") is None


def test_lookups_never_hand_out_flagged_contracts(quote_chain: OptionChain) -> None:
    bad_rows = np.flatnonzero(quote_chain.flags)
    assert len(bad_rows) > 0
    bad = quote_chain.contract(int(bad_rows[0]))
    assert not bad.is_valid
    assert quote_chain.get(bad.symbol) is None
    assert quote_chain.get(bad.symbol, valid_only=False) is bad
    everything = quote_chain.calls() + quote_chain.puts()
    assert len(everything) == int(quote_chain.valid.sum())
    assert all(c.is_valid and c.mark is not None for c in everything)


def test_atm_and_moneyness(quote_chain: OptionChain) -> None:
    atm = quote_chain.atm(OptionRight.PUT, date(2015, 12, 31))
    assert atm is not None and atm.strike == 750.0 and atm.option_type is OptionRight.PUT
    otm = quote_chain.nearest_moneyness(1.05, OptionRight.CALL, date(2015, 12, 31))
    valid_calls = quote_chain.calls(date(2015, 12, 31))
    best = min(valid_calls, key=lambda c: abs(c.strike - 1.05 * GOOG_AT_10))
    assert otm is best and otm.strike > GOOG_AT_10
    band = quote_chain.moneyness_between(0.98, 1.02, OptionRight.CALL, date(2016, 1, 15))
    assert band and all(735.0 <= c.strike <= 765.0 and c.is_valid for c in band)


def test_nearest_delta_against_a_brute_force_scan(greek_chain: OptionChain) -> None:
    df = pd.read_csv(SNAPSHOT)
    for target, right in ((0.30, OptionRight.CALL), (-0.25, OptionRight.PUT),
                          (0.5, OptionRight.CALL)):
        exp = date(2016, 1, 15)
        got = greek_chain.nearest_delta(target, right, exp)
        rows = df[(df.right == right.value) & (df.expiration == "2016-01-15") & (df.close > 0)]
        best = rows.iloc[(rows.delta - target).abs().to_numpy().argmin()]
        assert got is not None and got.symbol == best.occ_symbol
        assert got.delta == pytest.approx(best.delta)


def test_with_columns_revalidates_new_values(greek_chain: OptionChain) -> None:
    n = len(greek_chain)
    bad_delta = greek_chain.column("delta").copy()
    bad_delta[0] = 2.0
    updated = greek_chain.with_columns(delta=bad_delta, iv_rank=np.full(n, 50.0))
    assert updated.flags[0] & DataFlag.OUT_OF_RANGE
    assert not greek_chain.flags[0] & DataFlag.OUT_OF_RANGE  # the original is untouched
    assert updated.contract(1).iv_rank == 50.0
    with pytest.raises(ValueError, match="unknown chain columns"):
        greek_chain.with_columns(color=np.zeros(n))


def test_columns_are_read_only(greek_chain: OptionChain) -> None:
    with pytest.raises(ValueError, match="read-only"):
        greek_chain.bid[0] = 1.0


def test_bad_symbols_are_dropped_and_counted() -> None:
    chain = OptionChain.build(
        "GOOG", AS_OF, ["GOOG151231C00750000", "garbage", "GOOG151231P00750000"],
        bid=[1.0, 1.0, 2.0], ask=[1.1, 1.1, 2.1], underlying_price=750.0)
    assert len(chain) == 2
    assert chain.flag_counts()["bad_symbol"] == 1
    assert [c.option_type for c in chain.contracts()] == [OptionRight.PUT, OptionRight.CALL]


def test_explicit_identity_columns_skip_parsing_and_sort() -> None:
    syms = [OptionSymbol(
        "SPXW", date(2021, 1, 8), OptionRight.CALL, k).occ for k in (3800.0, 3700.0, 3750.0)]
    chain = OptionChain.build(
        "SPX", AS_OF, syms, bid=[1.0, 3.0, 2.0], ask=[1.2, 3.2, 2.2], underlying_price=3750.0,
        expiration=np.array(["2021-01-08"] * 3, dtype="datetime64[D]"),
        strike=[3800.0, 3700.0, 3750.0], is_call=[True, True, True])
    assert chain.strike.tolist() == [3700.0, 3750.0, 3800.0]
    assert chain.bid.tolist() == [3.0, 2.0, 1.0]
    assert chain.to_frame().symbol.tolist()[0].endswith("03700000")


def test_naive_as_of_and_unknown_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        OptionChain.build("X", datetime(2015, 1, 1), [], bid=[], ask=[], underlying_price=1.0)
    with pytest.raises(ValueError, match="unknown chain columns"):
        OptionChain.build("X", AS_OF, [], bid=[], ask=[], underlying_price=1.0, colour=[])


def test_duplicates_keep_the_last_row_and_other_roots_stay() -> None:
    spx, spxw = "SPX210115C03700000", "SPXW210115C03700000"
    chain = OptionChain.build("SPX", AS_OF, [spx, spxw, spx, "SPX210115C03800000"],
                              bid=[1.0, 2.0, 3.0, 4.0], ask=[1.5, 2.5, 3.5, 4.5],
                              underlying_price=3700.0)
    assert len(chain) == 3 and chain.flag_counts()["duplicate"] == 1
    assert chain.get(spx).bid == 3.0  # type: ignore[union-attr]  # the later row won
    assert chain.get(spxw).bid == 2.0  # type: ignore[union-attr]
    monthly = chain.find(date(2021, 1, 15), 3700.0, OptionRight.CALL, root="SPX")
    weekly = chain.find(date(2021, 1, 15), 3700.0, OptionRight.CALL, root="SPXW")
    assert monthly is not None and weekly is not None and monthly.symbol == spx
    assert weekly.symbol == spxw
    assert chain.find(date(2021, 1, 15), 3700.0, OptionRight.CALL, root="XSP") is None


def test_columns_of_another_length_are_refused() -> None:
    with pytest.raises(ValueError, match="one value per symbol"):
        OptionChain.build("X", AS_OF, ["GOOG151231C00750000"], bid=[1.0, 2.0], ask=[2.0],
                          underlying_price=750.0)
