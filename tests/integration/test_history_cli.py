"""`tradefly data fetch|ls|import` end to end: typer runner, real boto3, moto behind the fake."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from bot.cli_data import data_app
from tests.conftest import REPLAY_DIR
from tests.integration.fakes.s3 import (
    ACCESS_KEY,
    AGG_HEADER,
    SECRET_KEY,
    FakeMassiveS3,
    flat_key,
)
from tests.integration.test_history_fetch import MINUTE, minute_rows

pytestmark = pytest.mark.integration


def flat(text: str) -> str:
    """Output with rich's line wrapping undone."""
    return " ".join(text.split())
DAY = date(2024, 8, 15)


@pytest.fixture
def s3(monkeypatch):
    fake = FakeMassiveS3().start()
    fake.put_csv(flat_key(MINUTE, DAY), AGG_HEADER, minute_rows(DAY))
    monkeypatch.setenv("TRADEFLY__MASSIVE__S3_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("TRADEFLY__MASSIVE__S3_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("TRADEFLY__MASSIVE__S3_ENDPOINT", fake.endpoint)
    monkeypatch.setenv("TRADEFLY__HISTORY__RETRY_BACKOFF_SECONDS", "0")
    yield fake
    fake.stop()


def test_fetch_then_ls(s3, tmp_path):
    runner = CliRunner()
    store = str(tmp_path / "h")

    fetched = runner.invoke(data_app, ["fetch", "--from", "2024-08-15", "--to", "2024-08-18",
                                       "-u", "SPY", "-d", "options_minute", "--store", store])
    listed = runner.invoke(data_app, ["ls", "--store", store, "--json"])

    assert fetched.exit_code == 0, fetched.output
    assert "stored 1, already there 0, no file 1" in flat(fetched.output)
    assert "2 non-trading days skipped" in flat(fetched.output)
    assert SECRET_KEY not in fetched.output
    summary = json.loads(listed.output)
    assert summary == [{"dataset": "options_minute", "first_day": "2024-08-15",
                        "last_day": "2024-08-15", "days": 1, "underlyings": ["SPY"],
                        "rows": 6, "bytes": summary[0]["bytes"]}]


def test_fetch_exits_1_naming_a_dataset_outside_the_plan(s3, tmp_path):
    s3.faults.refuse_prefixes.add("us_options_opra/trades_v1")

    result = CliRunner().invoke(data_app, [
        "fetch", "--from", "2024-08-15", "-u", "SPY", "-d", "options_minute,options_trades",
        "--store", str(tmp_path / "h"), "--no-derive"])

    assert result.exit_code == 1
    assert "options_trades" in result.output
    assert "subscription" in flat(result.output)


def test_fetch_without_keys_exits_2_with_the_variable_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("TRADEFLY__MASSIVE__S3_ACCESS_KEY", raising=False)
    result = CliRunner().invoke(data_app, ["fetch", "--from", "2024-08-15", "-u", "SPY",
                                           "--store", str(tmp_path / "h")])

    assert result.exit_code == 2
    assert "TRADEFLY__MASSIVE__S3_ACCESS_KEY" in flat(result.output)


def test_import_the_shipped_day_and_list_it(tmp_path, monkeypatch):
    from rich.console import Console

    import bot.cli_data

    monkeypatch.setattr(bot.cli_data, "console", Console(width=200))
    runner = CliRunner()
    store = str(tmp_path / "h")

    imported = runner.invoke(data_app, ["import", str(REPLAY_DIR), "--store", store])
    listed = runner.invoke(data_app, ["ls", "--store", store])

    assert imported.exit_code == 0, imported.output
    assert "imported 4 files" in flat(imported.output)
    assert "options_quotes" in listed.output
    assert "275,552" in listed.output
