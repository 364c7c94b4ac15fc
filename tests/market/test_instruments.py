"""OCC symbology: round trips over every option contract of the shipped real data, all vendor
forms, and the vectorized parser agreeing with the scalar one."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from alpaca.trading.models import OptionContract as AlpacaContract
from hypothesis import given
from hypothesis import strategies as st
from ib_async import Contract, Option

from market.instruments import (
    OptionRight,
    OptionSymbol,
    format_strike,
    parse_occ_array,
    underlying_of_root,
)

DATA = Path(__file__).parent / "data"
#: An item of Alpaca's `GET /v2/options/contracts` (shared/fixtures/alpaca, same file name).
ALPACA_ITEM = {
    "id": "00000000-0000-0000-0000-000000000000", "symbol": "AAPL231103C00170000",
    "name": "AAPL Nov 03 2023 170 Call", "status": "active", "tradable": True,
    "expiration_date": "2023-11-03", "root_symbol": "AAPL", "underlying_symbol": "AAPL",
    "underlying_asset_id": "00000000-0000-0000-0000-000000000000", "type": "call",
    "style": "american", "strike_price": "170", "size": "100", "open_interest": "0",
    "open_interest_date": "2023-11-03", "close_price": None, "close_price_date": None,
}


@pytest.fixture(scope="module")
def contracts() -> pd.DataFrame:
    """Every distinct option contract in shared/data (all option files; see data/README.md)."""
    df = pd.read_csv(DATA / "occ_contracts.csv.gz")
    assert len(df) == 7832
    return df


def test_every_real_contract_parses_to_its_own_fields(contracts: pd.DataFrame) -> None:
    bad = []
    rows: list[dict[Any, Any]] = contracts.to_dict("records")
    for row in rows:
        sym = OptionSymbol.parse(row["occ_symbol"])
        expected = (row["root"], date.fromisoformat(row["expiration"]), OptionRight(row["right"]))
        if (sym.root, sym.expiration, sym.right) != expected or \
                abs(sym.strike - row["strike"]) > 5e-4:
            bad.append(row["occ_symbol"])
        if sym.underlying != row["underlying"]:
            bad.append(f"{row['occ_symbol']} underlying {sym.underlying} != {row['underlying']}")
    assert not bad, bad[:10]


def test_every_real_contract_round_trips_through_all_forms(contracts: pd.DataFrame) -> None:
    for text in contracts.occ_symbol:
        sym = OptionSymbol.parse(text)
        assert sym.occ == text
        assert len(sym.osi) == 21
        assert sym.osi == sym.root.ljust(6) + text[len(sym.root):]  # the data README's recipe
        assert OptionSymbol.parse(sym.osi) == sym
        assert OptionSymbol.parse(sym.massive) == sym
        assert OptionSymbol.from_alpaca(sym.to_alpaca()) == sym
        assert OptionSymbol.from_ibkr(sym.to_ibkr()) == sym


def test_every_real_contract_round_trips_through_ib_async_contracts(
        contracts: pd.DataFrame) -> None:
    for text in contracts.occ_symbol[::7]:
        sym = OptionSymbol.parse(text)
        contract = Contract(**sym.to_ibkr())
        assert contract.secType == "OPT" and contract.tradingClass == sym.root
        assert OptionSymbol.from_ibkr(contract) == sym
        # the way people usually build one: fields only, no localSymbol
        option = Option(sym.underlying, f"{sym.expiration:%Y%m%d}", sym.strike, sym.right.value,
                        "SMART", multiplier="100", tradingClass=sym.root)
        assert OptionSymbol.from_ibkr(option) == sym


def test_vectorized_parser_agrees_with_the_scalar_one(contracts: pd.DataFrame) -> None:
    symbols = contracts.occ_symbol.tolist()
    forms = symbols + [OptionSymbol.parse(s).osi for s in symbols[:500]] + \
        ["O:" + s for s in symbols[500:1000]]
    cols = parse_occ_array(forms)
    assert cols.ok.all()
    roots = cols.roots()
    for i, text in enumerate(forms):
        sym = OptionSymbol.parse(text)
        assert roots[i] == sym.root
        assert cols.expiration[i] == np.datetime64(sym.expiration)
        assert bool(cols.is_call[i]) == (sym.right is OptionRight.CALL)
        assert cols.strike[i] == sym.strike


def test_aapl_split_adjusted_strikes_keep_their_thousandths(contracts: pd.DataFrame) -> None:
    aapl = contracts[contracts.root == "AAPL"]
    odd = aapl[(aapl.strike * 1000).round() % 500 != 0]  # 92.86, 64.29: 645 / 7 and such
    assert len(odd) > 1000
    sym = OptionSymbol.parse("AAPL140606C00092857")
    assert sym.strike == 92.857
    assert sym.to_alpaca()["strike_price"] == "92.857"
    assert sym.to_ibkr()["strike"] == 92.857
    for text in odd.occ_symbol:
        assert OptionSymbol.parse(text).occ == text
    # pre-split (06-06 trades) and post-split (06-09) strikes of the same root coexist
    assert aapl.strike.max() >= 1000 and aapl.strike.min() < 30


def test_alpaca_contract_fixture_through_alpaca_py_model() -> None:
    item = ALPACA_ITEM
    model = AlpacaContract(**item)
    sym = OptionSymbol.from_alpaca(model)
    assert sym == OptionSymbol.from_alpaca(item)
    assert (sym.root, sym.expiration, sym.right, sym.strike) == (
        "AAPL", date(2023, 11, 3), OptionRight.CALL, 170.0)
    expected = {k: item[k] for k in ("symbol", "root_symbol", "underlying_symbol",
                                     "expiration_date", "type", "strike_price", "size")}
    assert sym.to_alpaca() == expected


def test_vendor_fields_that_disagree_with_the_symbol_are_refused() -> None:
    sym = OptionSymbol.parse("AAPL240119C00190000")
    wrong_strike = {**sym.to_alpaca(), "strike_price": "195"}
    with pytest.raises(ValueError, match="disagree"):
        OptionSymbol.from_alpaca(wrong_strike)
    wrong_right = {**sym.to_ibkr(), "right": "P"}
    with pytest.raises(ValueError, match="disagree"):
        OptionSymbol.from_ibkr(wrong_right)
    with pytest.raises(ValueError, match="YYYYMMDD"):
        OptionSymbol.from_ibkr({**sym.to_ibkr(), "lastTradeDateOrContractMonth": "202401"})


@pytest.mark.parametrize("text", [
    "", "AAPL", "AAPL240119X00190000", "AAPL241319C00190000", "AAPL240230C00190000",
    "AAPL240119C00000000", "TOOLONGX240119C00190000", "AAPL240119C0019000", "A B240119C00190000",
])
def test_malformed_symbols_are_refused_by_both_parsers(text: str) -> None:
    with pytest.raises(ValueError, match="not an OCC option symbol"):
        OptionSymbol.parse(text)
    cols = parse_occ_array([text, "AAPL240119C00190000"])
    assert cols.ok.tolist() == [False, True]
    assert np.isnan(cols.strike[0]) and cols.root_code[0] == -1
    assert cols.roots()[1] == "AAPL"


def test_case_and_padding_are_tolerated() -> None:
    expected = OptionSymbol.parse("AAPL240119P00190000")
    assert OptionSymbol.parse(" aapl  240119p00190000 ") == expected
    cols = parse_occ_array(["aapl  240119p00190000  ", "O:SPXW210104P03700000"])
    assert cols.ok.all() and cols.roots() == ["AAPL", "SPXW"]
    assert cols.is_call.tolist() == [False, False]


def test_rights_roots_and_strike_formatting() -> None:
    assert OptionRight.parse("call") is OptionRight.CALL
    assert OptionRight.parse("PUT") is OptionRight.PUT
    with pytest.raises(ValueError, match="option right"):
        OptionRight.parse("cat")
    assert underlying_of_root("SPXW") == "SPX"
    assert underlying_of_root("AAPL7") == "AAPL"
    assert underlying_of_root("BRK.B") == "BRK.B"
    assert [format_strike(k) for k in (190000, 92857, 2500, 64290)] == \
        ["190", "92.857", "2.5", "64.29"]


@given(
    root=st.from_regex(r"[A-Z]{1,5}", fullmatch=True),
    expiration=st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    right=st.sampled_from(list(OptionRight)),
    thousandths=st.integers(1, 99_999_999),
)
def test_any_contract_round_trips(root: str, expiration: date, right: OptionRight,
                                  thousandths: int) -> None:
    sym = OptionSymbol(root, expiration, right, thousandths / 1000.0)
    for text in (sym.occ, sym.osi, sym.massive):
        assert OptionSymbol.parse(text) == sym
    assert OptionSymbol.from_alpaca(sym.to_alpaca()) == sym
    assert OptionSymbol.from_ibkr(sym.to_ibkr()) == sym
    cols = parse_occ_array([sym.occ, sym.osi])
    assert cols.ok.all() and cols.strike.tolist() == [sym.strike, sym.strike]
