"""Sizing in contracts for options and in shares for the underlying (hand computations)."""

from __future__ import annotations

from risk.config import RiskConfig
from risk.sizing import contracts_for_risk


def test_option_contracts_are_sized_with_the_100_multiplier() -> None:
    # 5% of 100,000 = 5,000 of premium; 2.00 x 100 = 200 per contract -> 25 contracts;
    # 2% risk = 2,000 over (2.00 - 1.50) x 100 = 50 per contract -> 40: the premium cap binds.
    assert contracts_for_risk(100_000, 2.00, 1.50, RiskConfig()) == 25


def test_shares_are_sized_one_for_one() -> None:
    # 5,000 / 50.00 = 100 shares; 2,000 / (50 - 49) = 2,000 shares; the size cap binds.
    cfg = RiskConfig(max_contracts_per_order=500)
    assert contracts_for_risk(100_000, 50.0, 49.0, cfg, multiplier=1) == 100
