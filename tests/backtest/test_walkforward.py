"""Walk-forward on six real SPY sessions, and the scale-out path on a Dask cluster."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from backtest import montecarlo as mc
from backtest.parallel import parallel_map
from backtest.runner import run
from backtest.walkforward import grid, rolling_windows, sweep, walk_forward, with_overrides
from tests.conftest import ROOT, make_settings

SPY_DAYS = ROOT / "data" / "equity_minute"
DAYS = [date(2013, 10, d) for d in (4, 7, 8, 9, 10, 11)]


def _settings(**backtest: object):  # type: ignore[no-untyped-def]
    return make_settings(
        strategies={"sma_cross": {"fast": 5, "slow": 20}},
        risk={"disabled_rules": ["volume"], "max_position_pct": 0.5},
        execution={"entry": {"style": "natural"}},
        backtest={"n_jobs": 1, "walk_forward": {
            "in_sample_days": 2, "out_of_sample_days": 2,
            "params": {"strategies.sma_cross.slow": [20, 60]}}, **backtest})


def test_rolling_windows_test_every_later_day_once_with_unseen_data() -> None:
    windows = rolling_windows(DAYS, 3, 1)
    assert [(w.in_sample, w.out_of_sample) for w in windows] == [
        (tuple(DAYS[0:3]), (DAYS[3],)), (tuple(DAYS[1:4]), (DAYS[4],)),
        (tuple(DAYS[2:5]), (DAYS[5],))]
    assert rolling_windows(DAYS, 5, 2) == []
    assert grid({"b": [1, 2], "a": ["x"]}) == [{"a": "x", "b": 1}, {"a": "x", "b": 2}]
    assert grid({}) == [{}]


def test_overrides_are_validated_with_their_field_name() -> None:
    settings = _settings()
    assert with_overrides(settings, {"risk.max_position_pct": 0.1}).risk.max_position_pct == 0.1
    with pytest.raises(ValueError, match=r"risk\.nonsense: unknown config field"):
        with_overrides(settings, {"risk.nonsense": 1})
    with pytest.raises(ValueError, match="fast"):
        with_overrides(settings, {"strategies.sma_cross.fast": 99})


@pytest.fixture(scope="module")
def local_result():  # type: ignore[no-untyped-def]
    return walk_forward(_settings(), SPY_DAYS, DAYS)


def test_walk_forward_picks_in_sample_and_reports_out_of_sample_stitched(local_result) -> None:
    settings, result = _settings(), local_result
    assert [w.window.out_of_sample for w in result.windows] == [
        (DAYS[2], DAYS[3]), (DAYS[4], DAYS[5])]
    for w in result.windows:
        scores = dict((c["strategies.sma_cross.slow"], s) for c, s in w.in_sample_scores)
        best = max(scores, key=lambda k: scores[k])
        assert w.chosen == {"strategies.sma_cross.slow": best}
        # the out-of-sample run is a plain backtest of the winner on the unseen days
        again = run(with_overrides(settings, w.chosen), SPY_DAYS, w.window.out_of_sample[0],
                    w.window.out_of_sample[-1])
        assert w.out_of_sample.net_pnl == pytest.approx(again.net_pnl)
    stitched = result.metrics
    assert stitched is not None
    assert stitched.days == 4
    assert stitched.net_pnl == pytest.approx(sum(w.out_of_sample.net_pnl for w in result.windows))
    assert stitched.trades == sum(len(w.out_of_sample.trades) for w in result.windows)
    assert result.to_dict()["windows"][0]["chosen"] == result.windows[0].chosen


def test_too_few_days_for_one_window_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="needs at least 4 sessions"):
        walk_forward(_settings(), SPY_DAYS, DAYS[:3])


@pytest.fixture(scope="module")
def dask_scheduler():  # type: ignore[no-untyped-def]
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                       dashboard_address=None, scheduler_port=0)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_dask_cluster_gives_the_same_walk_forward_as_local(dask_scheduler: str,
                                                           local_result) -> None:
    remote = walk_forward(_settings(scheduler=dask_scheduler), SPY_DAYS, DAYS)
    assert remote.to_dict() == local_result.to_dict()


def test_dask_cluster_gives_the_same_monte_carlo_as_in_line(dask_scheduler: str) -> None:
    pnls = np.array([120.0, -80.0, 35.0, -60.0, 10.0, 95.0])
    here = mc.resample_trades(pnls, [2, 2, 2], 50_000.0, 0.002, runs=4000, seed=9)
    there = mc.resample_trades(pnls, [2, 2, 2], 50_000.0, 0.002, runs=4000, seed=9,
                               scheduler=dask_scheduler)
    assert there == here


def test_sweep_ranks_every_combination_by_the_objective() -> None:
    outcomes = sweep(_settings(), SPY_DAYS, DAYS[:2], {"strategies.sma_cross.slow": [20, 40, 60]})
    assert sorted(o.overrides["strategies.sma_cross.slow"] for o in outcomes) == [20, 40, 60]
    scores = [o.score for o in outcomes]
    assert scores == sorted(scores, reverse=True)
    best = outcomes[0]
    again = run(with_overrides(_settings(), best.overrides), SPY_DAYS, DAYS[0], DAYS[1])
    assert best.net_pnl == pytest.approx(again.net_pnl)


def test_local_processes_return_results_in_order() -> None:
    # joblib's loky processes (the default backend when no scheduler is named)
    assert parallel_map(abs, [-3, 1, -2, 5], n_jobs=2) == [3, 1, 2, 5]
