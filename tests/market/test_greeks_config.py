"""The [greeks] and [flow] sections load from TOML-shaped data and the environment."""

from __future__ import annotations

import pytest

from market.greeks import YearBasis
from tests.conftest import make_settings


def test_defaults_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings()
    assert settings.greeks.risk_free_rate == 0.04
    assert settings.greeks.dividend_yield("SPY") == 0.0
    assert settings.flow.block_min_contracts == 100
    custom = make_settings(greeks={"dividend_yields": {"SPY": 0.013}, "year_basis": "trading"},
                           flow={"sweep_min_exchanges": 4})
    assert custom.greeks.dividend_yield("SPY") == 0.013
    assert custom.greeks.year_basis is YearBasis.TRADING
    assert custom.flow.sweep_min_exchanges == 4
    monkeypatch.setenv("TRADEFLY__GREEKS__RISK_FREE_RATE", "0.05")
    assert make_settings().greeks.risk_free_rate == 0.05


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValueError, match="american_steps"):
        make_settings(greeks={"american_steps": 3})
    with pytest.raises(ValueError, match="sweep_min_exchanges"):
        make_settings(flow={"sweep_min_exchanges": 1})
