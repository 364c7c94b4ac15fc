"""A chain built from the replayed real GOOG day, checked against the raw files with pandas."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from market.chain import OptionChain
from market.chain_from_state import chain_from_state
from market.data import Bar, Quote, Trade
from market.feeds.replay import ReplayDay, ReplayFeed
from market.instruments import OptionRight
from market.state import MarketState

REPLAY = Path(__file__).resolve().parents[2] / "data" / "replay"
AS_OF = datetime(2015, 12, 24, 15, 1, tzinfo=UTC)  # 10:01 New York: the 10:00 minute released
CUTOFF = "2015-12-24T10:00:00-05:00"  # bar starts at or before this have been released


@pytest.fixture(scope="module")
def state() -> MarketState:
    feed = ReplayFeed([ReplayDay.discover(REPLAY, "GOOG", date(2015, 12, 24))])
    seen = MarketState()
    for event in feed.events():
        if event.ts > AS_OF:
            break
        if isinstance(event, Quote):
            seen.on_quote(event)
        elif isinstance(event, Trade):
            seen.on_trade(event)
        elif isinstance(event, Bar):
            seen.on_bar(event)
    seen.open_interest.update(feed.open_interest)
    return seen


@pytest.fixture(scope="module")
def chain(state: MarketState) -> OptionChain:
    return chain_from_state(state, "GOOG", AS_OF, max_quote_age=timedelta(minutes=15))


def test_chain_matches_the_raw_files(chain: OptionChain) -> None:
    quotes = pd.read_csv(REPLAY / "GOOG_2015-12-24_quotes.csv.gz")
    quotes = quotes[quotes.timestamp <= CUTOFF]
    latest = quotes.groupby("occ_symbol").tail(1).set_index("occ_symbol")
    trades = pd.read_csv(REPLAY / "GOOG_2015-12-24_trades.csv.gz")
    volume = trades[trades.timestamp <= CUTOFF].groupby("occ_symbol").volume.sum()
    oi = pd.read_csv(REPLAY / "GOOG_2015-12-24_open_interest.csv.gz").set_index("occ_symbol")

    assert len(chain) == len(latest)
    missing_ask = int(latest.ask_close.isna().sum())
    assert chain.flag_counts()["missing"] == missing_ask > 0
    traded = volume.index[0]
    c = chain.get(traded, valid_only=False)
    assert c is not None and c.volume == volume[traded]
    assert c.bid == (0.0 if pd.isna(latest.bid_close[traded]) else latest.bid_close[traded])
    assert c.open_interest == oi.open_interest.get(traded)
    atm_today = chain.get("GOOG151224C00750000", valid_only=False)
    assert atm_today is not None and atm_today.volume == volume.get("GOOG151224C00750000", 0)


def test_underlying_price_is_the_quote_mid(chain: OptionChain) -> None:
    und = pd.read_csv(REPLAY / "GOOG_2015-12-24_1min.csv.gz")
    row = und[und.timestamp == CUTOFF].iloc[0]
    assert chain.underlying_price == pytest.approx((row.bid_close + row.ask_close) / 2)


def test_strategies_see_only_clean_contracts(chain: OptionChain) -> None:
    atm = chain.atm(OptionRight.CALL, date(2015, 12, 24))
    assert atm is not None and atm.is_valid
    assert abs(atm.strike - chain.underlying_price) <= 5.0
    assert all(c.is_valid for c in chain.calls(date(2015, 12, 31)))
