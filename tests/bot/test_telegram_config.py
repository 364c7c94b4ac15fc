"""[telegram] settings: bad combinations fail at start-up, naming the section, never the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

TOKEN = "987654321:AAFakeTokenForTestsOnly_abcdefghij"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(body)
    return path


def test_roles_and_defaults_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEFLY__TELEGRAM__TOKEN", TOKEN)
    s = load_settings(write(tmp_path, "[telegram]\nenabled = true\nadmins = [1]\n"
                                      "viewers = [2, 3]\n"))
    t = s.telegram
    assert t.token is not None and t.token.get_secret_value() == TOKEN
    assert (t.admins, t.traders, t.viewers) == ([1], [], [2, 3])
    assert (t.confirm_seconds, t.alert_queue_size, t.heartbeat_minutes) == (60.0, 200, 60.0)


@pytest.mark.parametrize(("body", "message"), [
    ("[telegram]\nenabled = true\nadmins = [1]\n", "needs a token"),
    ("[telegram]\nadmins = [1]\nviewers = [1]\n", "user 1 is listed in both admins and viewers"),
    ("[telegram]\nenabled = true\n", "nobody could use the bot"),
    (f'[telegram]\ntoken = "{TOKEN}"\n', "secrets may not be written in the config file"),
    ("[telegram]\nalert_min_priority = 5\n", "telegram.alert_min_priority"),
])
def test_bad_telegram_settings_name_the_field_and_hide_the_token(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, message: str) -> None:
    if "needs a token" not in message:
        monkeypatch.setenv("TRADEFLY__TELEGRAM__TOKEN", TOKEN)
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, body))
    assert message in str(err.value)
    assert TOKEN not in str(err.value)
