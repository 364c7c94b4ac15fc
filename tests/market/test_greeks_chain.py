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


def test_constant_maturity_atm_iv_interpolates_total_variance() -> None:
    from market.greeks.chain import atm_implied_vol

    quotes = pd.read_csv(REPLAY / "GOOG_2015-12-24_quotes.csv.gz")
    snap = quotes[quotes.timestamp == "2015-12-24T11:00:00-05:00"]
    as_of = datetime(2015, 12, 24, 16, 1, tzinfo=UTC)
    chain = OptionChain.build("GOOG", as_of, snap.occ_symbol.to_numpy(dtype=object),
                              bid=snap.bid_close.to_numpy(), ask=snap.ask_close.to_numpy(),
                              underlying_price=749.0)
    calendar = ExchangeCalendar()
    filled, _ = with_greeks(chain, RATE, 0.0, calendar)
    iv30 = atm_implied_vol(filled, calendar, 30.0)
    # By hand: ATM (strike 750) call/put IVs of the expiries around 30 days (Jan 22 and 29).
    iv = filled.column("implied_volatility")

    def atm(expiry: date) -> tuple[float, float]:
        rows = np.flatnonzero((filled.expiration == np.datetime64(expiry)) & (filled.strike == 750)
                              & filled.valid)
        t = years_to_expiry(as_of, expiry, calendar)
        return t, float(np.nanmean(iv[rows]))

    (t1, v1), (t2, v2) = atm(date(2016, 1, 22)), atm(date(2016, 1, 29))
    target = 30 / 365
    assert t1 < target < t2
    w = v1**2 * t1 + (v2**2 * t2 - v1**2 * t1) * (target - t1) / (t2 - t1)
    assert iv30 == pytest.approx(np.sqrt(w / target), rel=1e-12)
    assert 0.1 < iv30 < 0.6
    assert atm_implied_vol(filled, calendar, 0.01) == pytest.approx(
        float(np.nanmean(iv[(filled.expiration == np.datetime64("2015-12-24"))
                            & (filled.strike == 750) & filled.valid])))
