"""Metrics against numbers worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from backtest import metrics as m
from backtest.trades import TradeRecord, round_trips
from brokers.orders import Fill, Intent, Order, OrderRequest, Side

T0 = datetime(2015, 12, 22, 14, 31, tzinfo=UTC)  # 09:31 New York


def trade(net: float, fees: float = 1.3, *, strategy: str = "a", conf: float | None = 0.6,
          entry_min: int = 0, hold_min: int = 2, reason: str = "stop") -> TradeRecord:
    entry = T0 + timedelta(minutes=entry_min)
    return TradeRecord("GOOG151224C00750000", "GOOG", strategy, "long", 1, entry,
                       entry + timedelta(minutes=hold_min), 1.0, 1.0, net + fees, fees, net, conf,
                       reason, f"id{entry_min}")


TRADES = [trade(100, 1.3, entry_min=0, hold_min=2),
          trade(-50, 1.3, entry_min=10, hold_min=4, strategy="b", conf=0.75),
          trade(200, 2.6, entry_min=70, hold_min=6, conf=0.95),
          trade(-25, 0.65, entry_min=80, hold_min=1, strategy="b", conf=None),
          trade(0, 0.65, entry_min=130, hold_min=2, conf=0.3)]


def test_trade_statistics_match_hand_computation() -> None:
    assert m.net_pnl(TRADES) == pytest.approx(225.0)  # 100 - 50 + 200 - 25 + 0
    assert m.win_rate(TRADES) == pytest.approx(0.4)  # 2 winners of 5 (0 is not a win)
    assert m.average_win(TRADES) == pytest.approx(150.0)  # (100 + 200) / 2
    assert m.average_loss(TRADES) == pytest.approx(-37.5)  # (-50 - 25) / 2
    assert m.profit_factor(TRADES) == pytest.approx(4.0)  # 300 / 75
    assert m.expectancy(TRADES) == pytest.approx(45.0)  # 225 / 5
    assert m.costs_paid(TRADES) == pytest.approx(6.5)  # 1.3 + 1.3 + 2.6 + 0.65 + 0.65
    assert m.average_hold(TRADES) == timedelta(minutes=3)  # (2 + 4 + 6 + 1 + 2) / 5


def test_undefined_statistics_are_none_not_zero() -> None:
    assert m.win_rate([]) is None
    assert m.profit_factor([]) is None
    assert m.expectancy([]) is None
    assert m.profit_factor([trade(10)]) == math.inf
    assert m.sharpe([0.01]) is None
    assert m.sharpe([0.01, 0.01]) is None  # no dispersion


def _curve() -> pd.Series:
    days = [("2015-12-22", [1000, 1010, 990, 1020]),
            ("2015-12-23", [1020, 1000, 970]),
            ("2015-12-24", [980, 1030])]
    stamps, values = [], []
    for day, series in days:
        base = datetime.fromisoformat(f"{day}T14:31:00+00:00")
        for i, v in enumerate(series):
            stamps.append(base + timedelta(minutes=i))
            values.append(float(v))
    return pd.Series(values, index=pd.DatetimeIndex(stamps))


def test_daily_pnl_returns_sharpe_and_sortino_by_hand() -> None:
    curve = _curve()
    assert m.daily_pnl(curve, 1000.0).tolist() == [20.0, -50.0, 60.0]  # 1020, 970, 1030
    r = [20 / 1000, -50 / 1020, 60 / 970]  # over each day's opening equity
    assert m.daily_returns(curve, 1000.0).tolist() == pytest.approx(r)
    # r = 0.02, -0.0490196, 0.0618557: mean 0.0109454; deviations 0.0090546, -0.0599650,
    # 0.0509103; squares sum 0.00626965; sample sd sqrt(0.00626965 / 2) = 0.0559895
    assert m.sharpe(r) == pytest.approx(0.0109454 / 0.0559895 * math.sqrt(252), rel=1e-5)
    # downside deviation sqrt((0 + 0.0490196^2 + 0) / 3) = 0.0283015
    assert m.sortino(r) == pytest.approx(0.0109454 / 0.0283015 * math.sqrt(252), rel=1e-5)
    # a 5% annual risk-free rate takes 0.05/252 off every daily return
    rf = 0.05 / 252
    assert m.sharpe(r, 0.05) == pytest.approx((0.0109454 - rf) / 0.0559895 * math.sqrt(252),
                                              rel=1e-4)


def test_max_drawdown_and_its_duration_by_hand() -> None:
    dd = m.max_drawdown(_curve())
    assert dd.dollars == pytest.approx(50.0)  # peak 1020 -> trough 970
    assert dd.fraction == pytest.approx(50 / 1020)
    # under water from 12-23 14:31 (1020, the peak) until 12-24 14:32 (1030)
    assert dd.duration == timedelta(days=1, minutes=1)


def test_drawdown_still_open_at_the_end_lasts_until_the_last_sample() -> None:
    curve = pd.Series([100.0, 90.0, 95.0], index=pd.DatetimeIndex(
        [T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)]))
    dd = m.max_drawdown(curve)
    assert (dd.dollars, dd.duration) == (10.0, timedelta(minutes=5))


def test_exposure_counts_minutes_with_a_position() -> None:
    samples = pd.DatetimeIndex([T0 + timedelta(minutes=i) for i in range(10)])
    # open 14:32:30 -> 14:35:10: the samples 14:33, 14:34, 14:35 and 14:36 (it was open
    # during the minute ending 14:36) -> 4 of 10
    t = TradeRecord("X", "X", "a", "long", 1, T0 + timedelta(minutes=1, seconds=30),
                    T0 + timedelta(minutes=4, seconds=10), 1, 1, 0, 0, 0, None, "", "")
    assert m.exposure([t], samples) == pytest.approx(0.4)


def test_breakdowns_by_strategy_confidence_and_hour() -> None:
    by_strategy = m.breakdown(TRADES, lambda t: t.strategy)
    assert by_strategy["a"]["trades"] == 3
    assert by_strategy["a"]["net_pnl"] == pytest.approx(300.0)
    assert by_strategy["b"]["net_pnl"] == pytest.approx(-75.0)
    assert by_strategy["b"]["win_rate"] == 0.0
    edges = (0.5, 0.7, 0.9)
    labels = [m.confidence_bucket(t.confidence, edges) for t in TRADES]
    assert labels == ["0.50–0.70", "0.70–0.90", "≥0.90", "no signal", "<0.50"]
    # entries at 09:31, 09:41 (hour 9), 10:41, 10:51 (10), 11:41 (11) New York
    assert m.pnl_by_hour(TRADES) == {9: 50.0, 10: 175.0, 11: 0.0}


def test_compute_puts_it_together_and_serializes() -> None:
    result = m.compute(TRADES, _curve(), 1000.0, daily_target=30.0)
    assert result.net_pnl == pytest.approx(30.0)  # 1030 - 1000
    assert result.pnl_per_day == pytest.approx(10.0)  # (20 - 50 + 60) / 3
    assert result.days_at_target == 1  # only the +60 day reaches 30
    assert result.trades_per_day == pytest.approx(5 / 3)
    data = result.to_dict()
    assert data["max_drawdown_duration_seconds"] == 86460.0
    assert data["average_hold_seconds"] == 180.0
    # confidence buckets run from low to high, trades without a signal last
    assert list(result.by_confidence) == ["<0.50", "0.50–0.70", "0.70–0.90", "≥0.90",
                                          "no signal"]


def _order(cid: str, side: Side, intent: Intent, reason: str) -> Order:
    return Order(OrderRequest(cid, "GOOG151224C00750000", side, 5, intent=intent,
                              strategy="scalping", reason=reason, underlying="GOOG"), T0)


def test_round_trip_folds_partial_fills_and_fees() -> None:
    sym = "GOOG151224C00750000"

    def fill(n: int, cid: str, side: Side, qty: int, price: float) -> Fill:
        return Fill(f"f{n}", cid, sym, side, qty, price, T0 + timedelta(minutes=n), 0.65 * qty)

    fills = [fill(0, "e", Side.BUY, 3, 1.00), fill(1, "e", Side.BUY, 2, 1.10),
             fill(3, "x", Side.SELL, 4, 1.20), fill(4, "x", Side.SELL, 1, 0.90),
             fill(5, "e2", Side.BUY, 1, 2.00)]
    orders = {"e": _order("e", Side.BUY, Intent.OPEN, "momentum"),
              "x": _order("x", Side.SELL, Intent.CLOSE, "take-profit: bid 1.20 >= 1.19")}
    trades, still_open = round_trips(fills, orders, {"e": 0.8})
    assert still_open == 1  # the last buy never closed
    (t,) = trades
    # paid 3*1.00 + 2*1.10 = 5.20, got 4*1.20 + 0.90 = 5.70, per share, x100 per contract
    assert t.gross_pnl == pytest.approx(50.0)
    assert t.fees == pytest.approx(6.5)  # 10 contracts traded x 0.65
    assert t.net_pnl == pytest.approx(43.5)
    assert (t.quantity, t.entry_price, t.exit_price) == (5, pytest.approx(1.04),
                                                         pytest.approx(1.14))
    assert (t.strategy, t.confidence, t.exit_reason) == ("scalping", 0.8, "take-profit")
    assert t.hold_seconds == 240
