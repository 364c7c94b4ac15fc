"""Monte Carlo against cases whose answer is known exactly or analytically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from backtest import montecarlo as mc
from backtest.trades import TradeRecord


def test_identical_losing_trades_give_one_certain_outcome() -> None:
    pnls = np.full(6, -10.0)
    # three trades a day: -30 by each day's end, over a 25 limit (2.5% of 1,000) -> always hit
    hit = mc.resample_trades(pnls, [3, 3], 1000.0, 0.025, runs=200, seed=1)
    assert hit.final_pnl.p5 == hit.final_pnl.p95 == pytest.approx(-60.0)
    assert hit.max_drawdown.p50 == pytest.approx(60.0)
    assert (hit.probability_of_loss, hit.breaker_day_rate,
            hit.probability_breaker_any_day) == (1.0, 1.0, 1.0)
    # a 35 limit (3.5%) is never reached by a -30 day
    safe = mc.resample_trades(pnls, [3, 3], 1000.0, 0.035, runs=200, seed=1)
    assert (safe.breaker_day_rate, safe.probability_breaker_any_day) == (0.0, 0.0)


def test_coin_flip_trades_match_the_binomial_odds() -> None:
    # one +-100 trade a day on 1,000,000 with a 0.009% limit (90): a day hits iff it loses,
    # p = 1/2 per day; over 3 days P(any) = 1 - 1/8 = 0.875; P(net loss) = P(>= 2 losses) = 1/2
    result = mc.resample_trades(np.array([100.0, -100.0]), [1, 1, 1], 1_000_000.0, 0.00009,
                                runs=8000, seed=3)
    assert result.breaker_day_rate == pytest.approx(0.5, abs=0.02)
    assert result.probability_breaker_any_day == pytest.approx(0.875, abs=0.02)
    assert result.probability_of_loss == pytest.approx(0.5, abs=0.02)
    assert result.final_pnl.mean == pytest.approx(0.0, abs=6.0)  # sd of the mean ~1.9


def test_day_bootstrap_with_whole_series_blocks_only_rotates_the_days() -> None:
    # days +10, -20, +30 with intraday lows -5, -25, 0 below their opens. A block as long as
    # the series draws rotations: the total is always +20, and every rotation's deepest fall
    # is 25 (worked by hand for all three rotations).
    result = mc.bootstrap_days(np.array([10.0, -20.0, 30.0]), np.array([-5.0, -25.0, 0.0]),
                               1000.0, 0.02, runs=300, seed=5, block=3)
    assert result.final_pnl.p5 == result.final_pnl.p95 == pytest.approx(20.0)
    assert result.max_drawdown.p5 == result.max_drawdown.p95 == pytest.approx(25.0)
    # only the -25 low reaches 2% (20) of an opening equity near 1,000: one day of three
    assert result.breaker_day_rate == pytest.approx(1 / 3)
    assert result.probability_breaker_any_day == 1.0


def test_the_same_seed_gives_the_same_figures_and_another_seed_does_not() -> None:
    pnls = np.array([50.0, -20.0, 5.0, -40.0, 80.0])
    a = mc.resample_trades(pnls, [2, 3], 10_000.0, 0.003, runs=500, seed=11)
    b = mc.resample_trades(pnls, [2, 3], 10_000.0, 0.003, runs=500, seed=11)
    c = mc.resample_trades(pnls, [2, 3], 10_000.0, 0.003, runs=500, seed=12)
    assert a == b
    assert a != c


def test_inputs_from_a_backtest() -> None:
    t0 = datetime(2015, 12, 22, 15, 0, tzinfo=UTC)

    def trade(day: int, net: float) -> TradeRecord:
        at = t0 + timedelta(days=day)
        return TradeRecord("X", "X", "s", "long", 1, at, at + timedelta(minutes=1), 1, 1, net,
                           0, net, None, "", "")

    pnls, sizes = mc.trade_pnls_by_day([trade(1, 5.0), trade(0, -3.0), trade(1, 2.0)])
    assert pnls.tolist() == [-3.0, 5.0, 2.0] and sizes == (1, 2)
    curve = pd.Series([1000.0, 990.0, 1005.0, 1005.0, 980.0, 1001.0],
                      index=pd.DatetimeIndex([t0, t0 + timedelta(minutes=1),
                                              t0 + timedelta(minutes=2), t0 + timedelta(days=1),
                                              t0 + timedelta(days=1, minutes=1),
                                              t0 + timedelta(days=1, minutes=2)]))
    pnl, lows = mc.day_stats(curve, 1000.0)
    assert pnl.tolist() == [5.0, -4.0]  # 1005 - 1000, 1001 - 1005
    assert lows.tolist() == [-10.0, -25.0]  # 990 - 1000, 980 - 1005
