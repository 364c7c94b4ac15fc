"""Options flow: constructed print sequences with known answers, then the real GOOG day."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from market.data import Quote, Trade
from market.feeds.replay import ReplayFeed
from market.flow import (
    BlockTrade,
    FlowConfig,
    FlowTracker,
    Sweep,
    TradeSide,
    classify_side,
    classify_sides,
)
from market.instruments import OptionRight

T0 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)
CALL = "SPY240315C00500000"
PUT = "SPY240315P00490000"


def at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def quote(symbol: str = CALL, bid: float = 1.00, ask: float = 1.10, ms: int = 0) -> Quote:
    return Quote(symbol, at(ms), bid, ask, 10, 10, "SPY")


def trade(price: float, size: int, ms: int = 100, symbol: str = CALL, exchange: str = "",
          ) -> Trade:
    return Trade(symbol, at(ms), price, size, "SPY", exchange)


@pytest.mark.parametrize(("price", "bid", "ask", "side"), [
    (1.10, 1.00, 1.10, TradeSide.BUY),  # at the ask
    (1.15, 1.00, 1.10, TradeSide.BUY),  # through the ask
    (1.08, 1.00, 1.10, TradeSide.BUY),  # upper part of the spread
    (1.00, 1.00, 1.10, TradeSide.SELL),  # at the bid
    (0.95, 1.00, 1.10, TradeSide.SELL),
    (1.02, 1.00, 1.10, TradeSide.SELL),
    (1.05, 1.00, 1.10, TradeSide.MID),
    (1.055, 1.00, 1.10, TradeSide.MID),  # within 10% of the spread around the mid
    (1.00, 1.00, 1.00, TradeSide.MID),  # locked market
    (1.05, 1.10, 1.00, TradeSide.UNKNOWN),  # crossed quote: cannot sign
    (float("nan"), 1.00, 1.10, TradeSide.UNKNOWN),
    (1.05, float("nan"), 1.10, TradeSide.UNKNOWN),
    (0.05, 0.0, 0.10, TradeSide.MID),  # no bid is a real state for cheap contracts
])
def test_quote_rule(price: float, bid: float, ask: float, side: TradeSide) -> None:
    assert classify_side(price, bid, ask) is side
    assert classify_sides([price], [bid], [ask])[0] == side


def test_blocks_by_size_or_premium() -> None:
    flow = FlowTracker(FlowConfig(block_min_contracts=100, block_min_premium=50_000))
    assert flow.on_trade(trade(1.10, 99), quote()) == []
    [block] = flow.on_trade(trade(1.10, 100), quote())
    assert isinstance(block, BlockTrade)
    assert block.premium == pytest.approx(11_000.0) and block.side is TradeSide.BUY
    [big] = flow.on_trade(trade(25.0, 20, symbol=PUT), quote(PUT, 24.9, 25.1))  # $50,000
    assert isinstance(big, BlockTrade) and big.side is TradeSide.MID
    assert list(flow.events) == [block, big]


def test_sweep_across_three_exchanges_is_reported_once() -> None:
    flow = FlowTracker(FlowConfig(sweep_window_ms=500, sweep_min_exchanges=3,
                                  sweep_min_contracts=50))
    q = quote()
    assert flow.on_trade(trade(1.10, 20, 100, exchange="CBOE"), q) == []
    assert flow.on_trade(trade(1.10, 20, 150, exchange="ISE"), q) == []
    [sweep] = flow.on_trade(trade(1.11, 20, 200, exchange="PHLX"), q)
    assert isinstance(sweep, Sweep)
    assert sweep.exchanges == ("CBOE", "ISE", "PHLX")
    assert sweep.size == 60 and sweep.side is TradeSide.BUY
    assert sweep.premium == pytest.approx((1.10 * 40 + 1.11 * 20) * 100)
    assert (sweep.first_ts, sweep.last_ts) == (at(100), at(200))
    # The tail of the same order is not a second sweep ...
    assert flow.on_trade(trade(1.12, 30, 400, exchange="AMEX"), q) == []
    # ... but a new burst after a quiet window is.
    later = [flow.on_trade(trade(1.12, 30, 2000 + i, exchange=x), quote(ms=1900))
             for i, x in enumerate(("CBOE", "ISE", "MIAX"))]
    assert [len(e) for e in later] == [0, 0, 1]


def test_no_sweep_on_two_exchanges_too_spread_out_or_without_exchange() -> None:
    flow = FlowTracker(FlowConfig(sweep_window_ms=500, sweep_min_contracts=10))
    q = quote()
    for ms, ex in ((0, "CBOE"), (100, "ISE"), (200, "CBOE"), (300, "ISE")):
        assert flow.on_trade(trade(1.1, 10, ms, exchange=ex), q) == []
    for ms, ex in ((1000, "A"), (1600, "B"), (2200, "C")):  # each 600 ms apart
        assert flow.on_trade(trade(1.1, 10, ms, exchange=ex), quote(ms=ms)) == []
    for ms in (3000, 3001, 3002):  # minute aggregates carry no exchange
        assert flow.on_trade(trade(1.1, 10, ms), quote(ms=ms)) == []


def test_premium_flow_and_put_call_ratios() -> None:
    flow = FlowTracker()
    flow.on_trade(trade(1.10, 10), quote())  # call bought: $1,100
    flow.on_trade(trade(1.00, 5), quote())  # call sold: $500
    flow.on_trade(trade(2.00, 30, symbol=PUT), quote(PUT, 2.0, 2.2))  # put sold: $6,000
    flow.on_trade(trade(2.20, 10, symbol=PUT), quote(PUT, 2.0, 2.2))  # put bought: $2,200
    f = flow.underlying("SPY")
    assert (f.call_volume, f.put_volume) == (15, 40)
    assert f.put_call_volume_ratio == pytest.approx(40 / 15)
    assert f.put_call_premium_ratio == pytest.approx(8200 / 1600)
    assert f.side_premium(TradeSide.BUY) == pytest.approx(3300)
    assert f.side_premium(TradeSide.SELL, OptionRight.PUT) == pytest.approx(6000)
    assert f.net_premium == pytest.approx(3300 - 6500)
    assert f.bullish_premium == pytest.approx(1100 + 6000 - 500 - 2200)
    assert math.isnan(flow.underlying("QQQ").put_call_volume_ratio)


def test_stale_or_future_quotes_cannot_sign_a_print() -> None:
    flow = FlowTracker(FlowConfig(quote_max_age_ms=1000))
    flow.on_trade(trade(1.10, 1, ms=5000), quote(ms=0))  # 5 s old NBBO
    flow.on_trade(trade(1.10, 1, ms=5000), quote(ms=6000))  # stamped after the print
    flow.on_trade(trade(1.10, 1, ms=5000), None)
    f = flow.underlying("SPY")
    assert f.side_premium(TradeSide.UNKNOWN) == pytest.approx(330.0)
    assert f.call_volume == 3


def test_bad_prints_are_dropped_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    flow = FlowTracker()
    flow.on_trade(trade(0.0, 10), quote())
    flow.on_trade(trade(float("nan"), 10), quote())
    flow.on_trade(trade(1.0, 0), quote())
    flow.on_trade(Trade("NOT-AN-OPTION", at(0), 1.0, 1), None)
    assert flow.dropped == {"bad_price": 2, "bad_size": 1, "bad_symbol": 1}
    assert flow.underlying("SPY").call_volume == 0
    assert sum("bad_price" in r.message for r in caplog.records) == 1


def test_volume_against_open_interest() -> None:
    flow = FlowTracker(open_interest={CALL: 100, PUT: 0})
    flow.on_trade(trade(1.1, 150), quote())
    flow.on_trade(trade(2.0, 5, symbol=PUT), quote(PUT, 2.0, 2.2))
    assert flow.volume_oi_ratio(CALL) == pytest.approx(1.5)
    assert flow.volume_oi_ratio(PUT) == math.inf
    assert math.isnan(flow.volume_oi_ratio("SPY240315C00999000"))
    assert flow.unusual_volume(1.0) == [(PUT, math.inf), (CALL, 1.5)]
    flow.reset_session()
    assert flow.volume(CALL) == 0 and flow.volume_oi_ratio(CALL) == 0.0


def test_real_goog_day(goog_feed: ReplayFeed) -> None:
    """Replay 2015-12-24: totals match the trade file, signed against the previous NBBO."""
    flow = FlowTracker(FlowConfig(block_min_contracts=100, block_min_premium=100_000,
                                  quote_max_age_ms=120_000))
    latest: dict[str, Quote] = {}
    for event in goog_feed.events():
        if isinstance(event, Quote):
            latest[event.symbol] = event
        elif isinstance(event, Trade) and event.symbol != "GOOG":
            flow.on_trade(event, latest.get(event.symbol))
    for symbol, oi in goog_feed.open_interest.items():
        flow.set_open_interest(symbol, oi)
    trades = pd.read_csv("data/replay/GOOG_2015-12-24_trades.csv.gz")
    f = flow.underlying("GOOG")
    assert f.call_volume == trades.volume[trades.right == "C"].sum()
    assert f.put_volume == trades.volume[trades.right == "P"].sum()
    premium = trades.close * trades.volume * 100
    assert f.call_premium + f.put_premium == pytest.approx(premium.sum())
    blocks = ((trades.volume >= 100) | (premium >= 100_000)).sum()
    assert sum(isinstance(e, BlockTrade) for e in flow.events) == blocks
    signed = f.side_premium(TradeSide.BUY) + f.side_premium(TradeSide.SELL)
    assert 0 < signed < premium.sum()  # most prints are signed, none is invented
    oi_table = pd.read_csv("data/replay/GOOG_2015-12-24_open_interest.csv.gz")
    volume = trades.groupby("occ_symbol").volume.sum()
    ratio = (volume / oi_table.set_index("occ_symbol").open_interest).dropna()  # inf where OI = 0
    finite = ratio[np.isfinite(ratio)]
    top = str(finite.idxmax())
    assert flow.volume_oi_ratio(top) == pytest.approx(finite[top])
    assert {s for s, _ in flow.unusual_volume(0.5)} == set(ratio[ratio >= 0.5].index)
    assert len(ratio[ratio >= 0.5]) > 3
