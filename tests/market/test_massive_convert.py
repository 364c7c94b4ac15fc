"""Massive payload conversions on the client's own model classes (no network)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from massive.rest.models import Agg, OptionsContract
from massive.websocket.models import EquityAgg, EquityQuote, EquityTrade

from market.data import Bar, Trade, quote_problem
from market.feeds.massive_convert import (
    bar_from_ws,
    bar_problem,
    bars_from_aggs,
    contract_symbols,
    plain_symbol,
    quote_from_ws,
    trade_from_ws,
    trade_problem,
)

T0 = datetime(2024, 1, 19, 15, 0, tzinfo=UTC)
MS = int(T0.timestamp() * 1000)


def test_contract_list_keeps_standard_contracts_whose_fields_agree() -> None:
    good = OptionsContract.from_dict({"ticker": "O:AAPL240119C00190000", "strike_price": 190,
                                      "expiration_date": "2024-01-19", "contract_type": "call",
                                      "shares_per_contract": 100})
    adjusted = OptionsContract.from_dict({"ticker": "O:AAPL1240119C00190000",
                                          "strike_price": 190, "expiration_date": "2024-01-19",
                                          "contract_type": "call", "shares_per_contract": 150})
    wrong = OptionsContract.from_dict({"ticker": "O:AAPL240119C00190000", "strike_price": 195,
                                       "expiration_date": "2024-01-19", "contract_type": "call"})
    garbage = OptionsContract.from_dict({"ticker": "AAPL", "contract_type": "call"})
    symbols, skipped = contract_symbols([good, adjusted, wrong, garbage])
    assert [s.occ for s in symbols] == ["AAPL240119C00190000"] and skipped == 3


def test_minute_aggregates_are_stamped_at_their_end() -> None:
    aggs = [Agg(open=1.0, high=1.2, low=0.9, close=1.1, volume=10, timestamp=MS),
            Agg(open=1.1, high=1.1, low=1.1, close=None, volume=0, timestamp=MS + 60_000)]
    bars = bars_from_aggs("O:SPY240119C00480000", aggs, 5, "minute")
    assert bars == [Bar("SPY240119C00480000", T0 + timedelta(minutes=5), 1.0, 1.2, 0.9, 1.1,
                        10.0, "5m")]  # the bar without a close is left out


def test_websocket_messages() -> None:
    q = quote_from_ws(EquityQuote(symbol="O:SPY240119C00480000", bid_price=None, ask_price=1.5,
                                  bid_size=None, ask_size=3, timestamp=MS), "SPY")
    assert math.isnan(q.bid) and quote_problem(q) == "nan" and q.ts == T0
    t = trade_from_ws(EquityTrade(symbol="SPY", price=480.0, size=100, exchange=4,
                                  timestamp=MS), "SPY")
    assert t == Trade("SPY", T0, 480.0, 100, "SPY", "4") and trade_problem(t) is None
    a = bar_from_ws(EquityAgg(event_type="A", symbol="SPY", open=1, high=2, low=1, close=2,
                              volume=5, start_timestamp=MS, end_timestamp=MS + 1000))
    assert a.timeframe == "1s" and a.ts == T0 + timedelta(seconds=1) and bar_problem(a) is None


def test_trade_and_bar_problems() -> None:
    assert trade_problem(Trade("X", T0, math.nan, 1)) == "nan"
    assert trade_problem(Trade("X", T0, 0.0, 1)) == "negative"
    assert bar_problem(Bar("X", T0, 1.0, 0.9, 0.8, 1.0, 1.0)) == "crossed"  # high < open
    assert bar_problem(Bar("X", T0, 1.0, 1.1, 0.0, 1.0, 1.0)) == "negative"
    assert plain_symbol("O:SPY240119C00480000") == "SPY240119C00480000"
    assert plain_symbol("SPY") == "SPY"


def test_feed_clamps_future_stamps_and_counts_a_full_queue() -> None:
    from market.clock import SimClock
    from market.feeds.massive import MassiveFeed, MassiveFeedConfig

    clock = SimClock(T0)
    feed = MassiveFeed(MassiveFeedConfig(queue_size=1), "k", clock, underlyings=["SPY"])
    ahead = EquityTrade(symbol="SPY", price=480.0, size=1, timestamp=MS + 5_000)  # vendor clock
    feed._on_message(ahead)
    feed._on_message(ahead)
    assert feed.events.qsize() == 1 and feed.events.get_nowait().ts == T0  # never the future
    assert feed.dropped == {"queue_full": 1}
    feed._on_message(EquityQuote(symbol="O:SPXW240119C04800000", bid_price=1.0, ask_price=1.2,
                                 bid_size=1, ask_size=1, timestamp=MS))
    assert feed.events.get_nowait().underlying == "SPX"  # type: ignore[union-attr]
