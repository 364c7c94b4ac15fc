"""Contract selection limits and the confidence arithmetic, on constructed chains and numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from market.chain import OptionChain
from market.data import Quote, Trade
from market.flow.tracker import FlowTracker
from strategies.scoring import ConfidenceWeights, combine, flow_agreement, iv_factor, ramp
from strategies.selection import SelectionConfig, pick

NOW = datetime(2015, 12, 24, 16, 0, tzinfo=UTC)
# symbol, delta, bid, ask, volume, open interest
Row = tuple[str, float, float, float, int, int]
ROWS: list[Row] = [
    ("GOOG151224C00750000", 0.55, 5.0, 5.2, 500, 1000),   # 0DTE
    ("GOOG151231C00750000", 0.52, 8.0, 8.2, 300, 1000),   # 7 days, nearest the middle 0.55
    ("GOOG151231C00740000", 0.68, 14.0, 14.2, 900, 1000),
    ("GOOG151231C00770000", 0.30, 2.0, 2.1, 900, 1000),   # delta below the band
    ("GOOG160219C00750000", 0.53, 30.0, 30.4, 900, 1000),  # 57 days
    ("GOOG151231P00750000", -0.48, 7.0, 7.2, 200, 1000),
]


def _chain(**override: Row) -> OptionChain:
    rows = [override.get(r[0], r) for r in ROWS]
    return OptionChain.build(
        "GOOG", NOW, [r[0] for r in rows], bid=[r[2] for r in rows], ask=[r[3] for r in rows],
        underlying_price=750.0, delta=[r[1] for r in rows], volume=[r[4] for r in rows],
        open_interest=[r[5] for r in rows])


def _pick(chain: OptionChain | None = None, bullish: bool = True, prefer: str | None = None,
          **cfg: object) -> str | None:
    found = pick(chain or _chain(), bullish, SelectionConfig(**cfg), NOW, prefer)  # type: ignore[arg-type]
    return None if found is None else found.symbol


def test_picks_the_delta_nearest_the_band_middle_among_fits() -> None:
    assert _pick() == "GOOG151224C00750000"  # 0.55 is the middle of 0.40-0.70


def test_0dte_off_skips_contracts_expiring_today() -> None:
    assert _pick(allow_0dte=False) == "GOOG151231C00750000"


def test_dte_band_and_delta_band() -> None:
    assert _pick(min_dte=30, max_dte=60) == "GOOG160219C00750000"
    assert _pick(min_abs_delta=0.25, max_abs_delta=0.35) == "GOOG151231C00770000"
    assert _pick(min_abs_delta=0.90, max_abs_delta=0.95) is None


def test_spread_volume_and_open_interest_limits() -> None:
    wide = _chain(**{"GOOG151224C00750000": ("GOOG151224C00750000", 0.55, 5.0, 5.6, 500, 1000)})
    assert _pick(wide, max_spread=0.50) == "GOOG151231C00750000"
    assert _pick(min_volume=400, allow_0dte=False) == "GOOG151231C00740000"
    assert _pick(min_open_interest=1001) is None


def test_bearish_picks_a_put_and_prefer_wins_when_it_fits() -> None:
    assert _pick(bullish=False) == "GOOG151231P00750000"
    assert _pick(prefer="GOOG151231C00740000") == "GOOG151231C00740000"
    assert _pick(prefer="GOOG151231C00770000") == "GOOG151224C00750000"  # does not fit


def test_selection_config_refuses_inverted_bands() -> None:
    with pytest.raises(ValueError, match="min_abs_delta"):
        SelectionConfig(min_abs_delta=0.8, max_abs_delta=0.5)


def test_combine_is_a_weighted_mean_that_drops_unmeasurable_factors() -> None:
    w = ConfidenceWeights(strength=0.5, liquidity=0.25, timeframes=0.25, flow=0, iv=0)
    score, text = combine({"strength": 1.0, "liquidity": 0.0, "timeframes": math.nan}, w)
    assert score == pytest.approx(0.5 / 0.75 * 1.0, abs=1e-3)  # (0.5*1 + 0.25*0) / 0.75
    assert "timeframes" not in text and "strength=1.00" in text
    assert combine({}, w)[0] == 0.0


def test_ramp_and_iv_factor() -> None:
    assert ramp(0.03, 0.03, 0.10) == 0.0
    assert ramp(0.065, 0.03, 0.10) == pytest.approx(0.5)
    assert ramp(0.5, 0.03, 0.10) == 1.0
    assert iv_factor(20.0) == pytest.approx(0.8) and math.isnan(iv_factor(None))


def test_flow_agreement_follows_signed_premium_else_the_call_share() -> None:
    flow = FlowTracker()
    call = "GOOG151231C00750000"
    flow.on_trade(Trade(call, NOW, 10.0, 10, "GOOG"), None)  # unsigned: call share only
    assert flow_agreement(flow, "GOOG", +1) == 1.0 and flow_agreement(flow, "GOOG", -1) == 0.0
    flow.on_trade(Trade(call, NOW, 9.9, 10, "GOOG"), Quote(call, NOW, 9.9, 10.1))  # sold
    # signed premium is bearish (calls sold 9,900 of 19,900 total): leans down
    assert flow_agreement(flow, "GOOG", +1) == pytest.approx(0.5 - 0.5 * 9900 / 19900)
    assert math.isnan(flow_agreement(FlowTracker(), "GOOG", 1))
    assert np.isfinite(flow_agreement(flow, "GOOG", -1))
