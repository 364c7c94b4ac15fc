"""Configuration: file plus environment, errors that name the field, secrets kept out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import (
    LIVE_CONFIRM_ENV,
    LIVE_CONFIRM_VALUE,
    ConfigError,
    check_live_confirmation,
    load_settings,
    masked_dump,
)

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return path


def test_shipped_configs_are_valid() -> None:
    for path in sorted((ROOT / "config").glob("*.toml")):
        load_settings(path)


def test_defaults_are_paper_with_the_replay_feed() -> None:
    s = load_settings(None)
    assert (s.mode, s.broker, s.feed.kind) == ("paper", "paper", "replay")
    assert s.paper.commission_per_contract == 0.65


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[risk]\nmax_daily_loss_pct = 0.05\n")
    monkeypatch.setenv("TRADEFLY__RISK__MAX_DAILY_LOSS_PCT", "0.02")
    assert load_settings(path).risk.max_daily_loss_pct == 0.02


def test_bad_value_names_the_field_and_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "[risk]\nmax_concurrent_trades = -4\n")
    with pytest.raises(ConfigError, match=r"risk\.max_concurrent_trades.*-4"):
        load_settings(path)


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"risk\.max_dayly_loss"):
        load_settings(write(tmp_path, "[risk]\nmax_dayly_loss = 0.1\n"))


def test_secret_in_the_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = write(tmp_path, '[alpaca]\napi_key = "PKSECRET123456"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "alpaca.api_key" in str(info.value)
    assert "PKSECRET123456" not in str(info.value)


def test_masked_dump_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEFLY__TELEGRAM__TOKEN", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    dumped = json.dumps(masked_dump(load_settings(None)))
    assert "ABCDEFGHIJ" not in dumped and '"token": "***"' in dumped


def test_live_needs_the_confirmation_variable(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(write(tmp_path, 'mode = "live"\nbroker = "alpaca"\n'))
    monkeypatch.delenv(LIVE_CONFIRM_ENV, raising=False)
    with pytest.raises(ConfigError, match=LIVE_CONFIRM_ENV):
        check_live_confirmation(s)
    monkeypatch.setenv(LIVE_CONFIRM_ENV, "yes")
    with pytest.raises(ConfigError):
        check_live_confirmation(s)
    monkeypatch.setenv(LIVE_CONFIRM_ENV, LIVE_CONFIRM_VALUE)
    check_live_confirmation(s)


def test_live_with_the_paper_broker_is_refused(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LIVE_CONFIRM_ENV, LIVE_CONFIRM_VALUE)
    with pytest.raises(ConfigError, match="broker"):
        check_live_confirmation(load_settings(write(tmp_path, 'mode = "live"\n')))


def tradefly(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=120)


def test_check_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    out = tradefly("check-config", str(write(tmp_path, "[paper]\nstarting_cash = \"lots\"\n")))
    assert out.returncode == 2
    assert "paper.starting_cash" in out.stderr and "lots" in out.stderr


def test_check_config_prints_effective_settings_with_secrets_masked() -> None:
    out = tradefly("check-config", "config/paper.toml",
                   env={"TRADEFLY__ALPACA__SECRET_KEY": "supersecretvalue42"})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["alpaca"]["secret_key"] == "***"
    assert "supersecretvalue42" not in out.stdout + out.stderr


def test_run_refuses_live_without_confirmation(tmp_path: Path) -> None:
    path = write(tmp_path, 'mode = "live"\nbroker = "alpaca"\n[http]\nenabled = false\n')
    out = tradefly("run", "--config", str(path), env={LIVE_CONFIRM_ENV: ""})
    assert out.returncode == 2
    assert LIVE_CONFIRM_ENV in out.stderr
