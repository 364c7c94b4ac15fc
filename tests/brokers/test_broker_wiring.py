"""Choosing the venue: paper endpoints by default, live ones only with mode=live and the
confirmation variable (invariant 2), checked before an adapter even exists."""

from __future__ import annotations

import pytest

from bot.config import LIVE_CONFIRM_ENV, LIVE_CONFIRM_VALUE, ConfigError
from bot.wiring import build_broker
from brokers.alpaca import AlpacaBroker
from brokers.alpaca_config import LIVE_STREAM_URL, LIVE_TRADING_URL, PAPER_TRADING_URL
from brokers.base import FatalBrokerError
from brokers.ibkr import IbkrBroker
from brokers.paper import PaperBroker
from tests.conftest import make_settings

KEYS = {"api_key": "k", "secret_key": "s"}


def test_paper_is_the_default(sim_clock) -> None:
    assert isinstance(build_broker(make_settings(), sim_clock), PaperBroker)


def test_alpaca_in_paper_mode_uses_paper_endpoints(sim_clock, monkeypatch) -> None:
    monkeypatch.setenv(LIVE_CONFIRM_ENV, LIVE_CONFIRM_VALUE)  # confirmation alone is not enough
    broker = build_broker(make_settings(broker="alpaca", alpaca=KEYS), sim_clock)
    assert isinstance(broker, AlpacaBroker)
    assert broker.trading._base_url == PAPER_TRADING_URL
    assert broker.stream._endpoint != LIVE_STREAM_URL


def test_live_without_confirmation_refuses_before_building_an_adapter(sim_clock,
                                                                     monkeypatch) -> None:
    monkeypatch.delenv(LIVE_CONFIRM_ENV, raising=False)

    def must_not_run(*_args, **_kwargs):
        raise AssertionError("an adapter was built (and could pick a live URL)")

    monkeypatch.setattr(AlpacaBroker, "__init__", must_not_run)
    monkeypatch.setattr(IbkrBroker, "__init__", must_not_run)
    for broker in ("alpaca", "ibkr"):
        with pytest.raises(ConfigError, match=LIVE_CONFIRM_ENV):
            build_broker(make_settings(mode="live", broker=broker, alpaca=KEYS), sim_clock)


def test_live_with_confirmation_uses_live_endpoints(sim_clock, monkeypatch) -> None:
    monkeypatch.setenv(LIVE_CONFIRM_ENV, LIVE_CONFIRM_VALUE)
    broker = build_broker(make_settings(mode="live", broker="alpaca", alpaca=KEYS), sim_clock)
    assert isinstance(broker, AlpacaBroker)
    assert broker.trading._base_url == LIVE_TRADING_URL
    assert broker.stream._endpoint == LIVE_STREAM_URL


def test_overridden_endpoints_are_used_verbatim(sim_clock) -> None:
    alpaca = {**KEYS, "trading_url": "http://127.0.0.1:9", "stream_url": "ws://127.0.0.1:9/s"}
    broker = build_broker(make_settings(broker="alpaca", alpaca=alpaca), sim_clock)
    assert isinstance(broker, AlpacaBroker)
    assert broker.trading._base_url == "http://127.0.0.1:9"
    assert broker.stream._endpoint == "ws://127.0.0.1:9/s"


def test_alpaca_without_keys_says_which_variables_to_set(sim_clock) -> None:
    with pytest.raises(FatalBrokerError, match="TRADEFLY__ALPACA__API_KEY"):
        build_broker(make_settings(broker="alpaca"), sim_clock)


def test_ibkr_paper_mode_refuses_a_live_port(sim_clock) -> None:
    with pytest.raises(FatalBrokerError, match="4001"):
        build_broker(make_settings(broker="ibkr", ibkr={"port": 4001}), sim_clock)
    assert isinstance(build_broker(make_settings(broker="ibkr"), sim_clock), IbkrBroker)


@pytest.mark.parametrize("name", ["alpaca", "ibkr"])
def test_shipped_example_configs_load(name: str) -> None:
    from bot.config import load_settings
    from tests.conftest import ROOT

    settings = load_settings(ROOT / "config" / f"{name}.toml")
    assert settings.broker == name and settings.mode == "paper"
