"""IV rank, IV percentile and volume_avg_30d: hand-computed windows and the rolling history."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from market.daily_stats import (
    DailyValue,
    RollingDaily,
    UnderlyingDailyStats,
    iv_percentile,
    iv_rank,
    volume_avg_30d,
)
from market.greeks import implied_volatility
from tests.market.greeks_data import CHAINS, RATE, chain_snapshot

D0 = date(2024, 1, 2)


def test_iv_rank_by_hand() -> None:
    history = [0.20, 0.30, 0.40, 0.25]
    # (0.35 - 0.20) / (0.40 - 0.20) = 75
    assert iv_rank(0.35, history, min_sessions=4) == pytest.approx(75.0)
    assert iv_rank(0.50, history, min_sessions=4) == pytest.approx(100.0)  # a new high
    assert iv_rank(0.10, history, min_sessions=4) == pytest.approx(0.0)  # a new low


def test_iv_percentile_by_hand() -> None:
    history = [0.20, 0.30, 0.40, 0.25]
    assert iv_percentile(0.35, history, min_sessions=4) == pytest.approx(75.0)  # 3 of 4 below
    assert iv_percentile(0.20, history, min_sessions=4) == pytest.approx(0.0)  # none strictly
    assert iv_percentile(0.41, history, min_sessions=4) == pytest.approx(100.0)


def test_undefined_cases_are_nan() -> None:
    assert math.isnan(iv_rank(0.3, [0.2] * 10))  # shorter than the 20-session default
    assert math.isnan(iv_rank(0.3, [0.3] * 30))  # a flat window with a flat current value
    assert math.isnan(iv_percentile(float("nan"), [0.2] * 30))
    # NaNs in the history are skipped, not counted
    assert iv_percentile(0.25, [0.2, float("nan"), 0.3], min_sessions=2) == pytest.approx(50.0)


def test_volume_average_uses_the_last_30_sessions() -> None:
    volumes = [1000.0] * 10 + [float(v) for v in range(1, 31)]  # last 30 are 1..30
    assert volume_avg_30d(volumes) == pytest.approx(15.5)
    assert math.isnan(volume_avg_30d([100.0] * 29))
    assert volume_avg_30d([100.0, 300.0], min_sessions=2) == pytest.approx(200.0)


def test_rolling_window_replaces_same_day_and_refuses_bad_values() -> None:
    roll = RollingDaily(3)
    assert roll.record(D0, 0.2)
    assert roll.record(D0, 0.25)  # an update of the same session replaces it
    assert not roll.record(D0 + timedelta(days=1), float("nan"))
    assert not roll.record(D0 + timedelta(days=1), -0.1)
    for n in range(1, 4):
        roll.record(D0 + timedelta(days=n), 0.3 + n / 100)
    assert not roll.record(D0, 0.9)  # older than the newest: refused
    assert len(roll) == 3 and roll.last_day == D0 + timedelta(days=3)
    assert roll.values().tolist() == pytest.approx([0.31, 0.32, 0.33])
    assert roll.values(before=D0 + timedelta(days=3)).tolist() == pytest.approx([0.31, 0.32])
    restored = RollingDaily(3, roll.items())
    assert restored.items() == roll.items()
    assert roll.items()[0] == DailyValue(D0 + timedelta(days=1), 0.31)


def test_stats_from_the_real_goog_chain_snapshots() -> None:
    """Daily ATM IV of GOOG (our solver on the shared 2015-12-22..31 snapshots' closes)."""
    stats = UnderlyingDailyStats.empty()
    days = []
    for path in sorted(CHAINS.glob("GOOG_2015-12-*_chain.csv.gz")):
        chain = chain_snapshot(path.name)
        chain = chain[chain.days >= min(5, chain.days.max())]  # 12-22 holds a 2-day expiry only
        first = chain[chain.days == chain.days.min()]
        spot = float(first.underlying_close.iloc[0])
        atm = first.iloc[(first.strike - spot).abs().argsort()[:2]]
        iv = implied_volatility(atm.close.to_numpy(), (atm.right == "C").to_numpy(), spot,
                                atm.strike.to_numpy(dtype=float), atm.days.to_numpy() / 365.0,
                                RATE, 0.0).iv
        day = date.fromisoformat(str(chain.date.iloc[0]))
        daily_iv = float(np.mean(iv))
        stats.close_session(day, daily_iv, float(chain.volume.sum()))
        days.append((day, daily_iv))
    assert len(days) == 7 and all(0.05 < iv < 1.5 for _, iv in days)
    history = [iv for _, iv in days[:-1]]
    today, now_iv = days[-1]
    lo, hi = min([*history, now_iv]), max([*history, now_iv])
    expected = 100 * (now_iv - lo) / (hi - lo)
    assert iv_rank(now_iv, stats.iv.values(before=today), min_sessions=6) == pytest.approx(
        expected)
    below = sum(iv < now_iv for iv in history)
    assert iv_percentile(now_iv, stats.iv.values(before=today), min_sessions=6) == (
        pytest.approx(100 * below / 6))
    assert math.isnan(stats.rank(now_iv, today))  # 6 sessions < the 20-session minimum
