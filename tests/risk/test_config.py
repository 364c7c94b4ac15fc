"""Rules built from config; bad configs fail at load with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from risk.config import ESSENTIAL_RULES, RULE_NAMES, RiskConfig
from risk.rules import build_rules


def test_default_rule_list_order_and_names():
    names = [r.name for r in build_rules(RiskConfig())]
    assert names[:3] == ["order_sanity", "trading_state", "daily_loss"]
    assert names[-1] == "order_rate"
    assert "greeks" not in names  # no Greeks limit set by default
    assert "premium_per_trade" not in names
    assert set(names) <= set(RULE_NAMES)


def test_every_rule_can_be_switched_on():
    config = RiskConfig.model_validate({
        "options": {"max_premium_per_trade": 1_000},
        "greeks": {"max_abs_delta_dollars": 50_000},
    })
    names = {r.name for r in build_rules(config)}
    assert names == set(RULE_NAMES)


def test_disabled_rules_are_left_out_but_essential_ones_cannot_be():
    config = RiskConfig(disabled_rules=["spread", "volume"])
    names = {r.name for r in build_rules(config)}
    assert "spread" not in names and "volume" not in names and "stale_quote" in names
    with pytest.raises(ValueError, match="cannot be disabled"):
        RiskConfig(disabled_rules=sorted(ESSENTIAL_RULES)[:1])
    with pytest.raises(ValueError, match="unknown rule"):
        RiskConfig(disabled_rules=["no_such_rule"])


def test_a_limit_set_to_none_switches_its_rule_off():
    config = RiskConfig.model_validate({"liquidity": {"max_spread": None, "max_spread_pct": None,
                                                      "max_quote_age_seconds": None}})
    names = {r.name for r in build_rules(config)}
    assert "spread" not in names and "stale_quote" not in names


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bot.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("toml", "field"), [
    ("[risk]\nmax_daily_loss_pct = 1.5\n", "risk.max_daily_loss_pct"),
    ("[risk.liquidity]\nmax_spread_pct = -0.1\n", "risk.liquidity.max_spread_pct"),
    ("[risk.greeks]\nmax_abs_delta_dollars = 0\n", "risk.greeks.max_abs_delta_dollars"),
    ("[risk.account]\nlosing_streak = 0\n", "risk.account.losing_streak"),
    ("[risk.options]\nmax_contracts_per_undrlying = 5\n",
     "risk.options.max_contracts_per_undrlying"),
    ("[risk]\nmax_daily_loss_pct = 0.05\nhalt_daily_loss_pct = 0.04\n", "halt_daily_loss_pct"),
])
def test_bad_risk_config_fails_at_load_naming_the_field(tmp_path, toml, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        load_settings(write(tmp_path, toml))


def test_risk_sections_load_from_toml_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRADEFLY__RISK__LIQUIDITY__MIN_VOLUME", "42")
    settings = load_settings(write(tmp_path, "[risk.session]\nno_entries_after_open_minutes = 9\n"))
    assert settings.risk.session.no_entries_after_open_minutes == 9
    assert settings.risk.liquidity.min_volume == 42
    assert settings.risk.liquidity.max_spread == 0.50  # untouched default
