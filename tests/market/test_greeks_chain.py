"""Greeks filled into an OptionChain snapshot of the real GOOG chain."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest

from market.calendar import ExchangeCalendar
from market.chain import OptionChain
from market.greeks import IVReason, bsm_greeks, implied_volatility, years_to_expiry
from market.greeks.chain import with_greeks
from tests.market.greeks_data import RATE, REPLAY


def test_chain_columns_match_the_array_functions() -> None:
    quotes = pd.read_csv(REPLAY / "GOOG_2015-12-24_quotes.csv.gz")
    snap = quotes[quotes.timestamp == "2015-12-24T11:00:00-05:00"]
    as_of = datetime(2015, 12, 24, 16, 1, tzinfo=UTC)  # the 11:00 bar, released at 11:01
    chain = OptionChain.build("GOOG", as_of, snap.occ_symbol.to_numpy(dtype=object),
                              bid=snap.bid_close.to_numpy(), ask=snap.ask_close.to_numpy(),
                              underlying_price=749.0)
    calendar = ExchangeCalendar()
    filled, res = with_greeks(chain, RATE, 0.0, calendar)
    assert len(filled) == len(chain) and res.iv.shape == (len(chain),)
    # Flagged rows (one-sided quotes) have no mid, hence no IV.
    assert (res.reason[~chain.valid] == IVReason.BAD_INPUT).all()
    row = int(np.flatnonzero(np.isfinite(filled.column("delta")))[0])
    t = years_to_expiry(as_of, filled.expiration[row].astype(date), calendar)
    mid = (chain.bid[row] + chain.ask[row]) / 2
    iv = implied_volatility(mid, chain.is_call[row], 749.0, chain.strike[row], t, RATE, 0.0).iv
    g = bsm_greeks(chain.is_call[row], 749.0, chain.strike[row], t, RATE, 0.0, iv)
    assert filled.column("implied_volatility")[row] == float(iv)
    assert filled.column("delta")[row] == pytest.approx(float(g.delta), rel=1e-12)
    # Theta per calendar day on the chain, per year from the array functions.
    assert filled.column("theta")[row] == pytest.approx(float(g.theta) / 365.0, rel=1e-12)
    contract = filled.contract(row)
    assert contract.vega == pytest.approx(float(g.vega), rel=1e-12)
    assert contract.is_valid
