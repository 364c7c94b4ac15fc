"""`tradefly backtest` end to end on real minute data: JSON for machines, a self-contained
HTML report, clear errors for bad input."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from pathlib import Path

import pytest
from rich.console import Console

from backtest.cli import backtest_command, montecarlo_command, walkforward_command
from tests.conftest import ROOT

SPY_DAYS = ROOT / "data" / "equity_minute"
CONFIG = """
[risk]
disabled_rules = ["volume"]  # the underlying's own volume is not counted from bars
max_position_pct = 0.5  # sizing prices a unit at 100 shares: one unit of SPY is $16,800

[execution.entry]
style = "natural"  # minute data cannot show the smart policy's 10-second steps

[strategies.sma_cross]
fast = 5
slow = 20
"""


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120), out


def test_backtest_writes_consistent_json_and_a_self_contained_report(tmp_path: Path) -> None:
    config = tmp_path / "bt.toml"
    config.write_text(CONFIG)
    console, out = _console()
    code = backtest_command(config, SPY_DAYS, json_out=tmp_path / "r.json",
                            report_out=tmp_path / "r.html", console=console,
                            start=date(2013, 10, 7),
                            end=date(2013, 10, 9))
    assert code == 0, out.getvalue()
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["run"]["days"] == ["2013-10-07", "2013-10-08", "2013-10-09"]
    trades, metrics = data["trades"], data["metrics"]
    assert len(trades) == metrics["trades"] > 0
    assert sum(t["net_pnl"] for t in trades) == pytest.approx(metrics["net_pnl"], abs=1e-6)
    assert sum(metrics["daily"].values()) == pytest.approx(metrics["net_pnl"], abs=1e-6)
    assert metrics["daily_target"] == 300.0
    assert set(metrics["by_strategy"]) == {"sma_cross"}
    # Natural entries and exits cross the spread: nothing saved, every fill assessed.
    quality = data["execution_quality"]["sma_cross"]
    assert quality["fills"] == data["run"]["fills"] and quality["avg_spread_captured"] == 0.0
    page = (tmp_path / "r.html").read_text()
    assert "Plotly.newPlot" in page
    assert "Daily P&L vs the $300\\u002fday target" in page  # plotly escapes the slash
    # self-contained: no script or stylesheet fetched from anywhere
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=\"http", page)
    assert "net P&L" in out.getvalue()


def test_bad_config_and_missing_data_exit_2_naming_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[strategies.sma_cross]\nfast = 50\nslow = 20\n")
    console, out = _console()
    assert backtest_command(bad, SPY_DAYS, console=console) == 2
    assert "strategies.sma_cross" in out.getvalue()
    console, out = _console()
    assert backtest_command(None, tmp_path / "nowhere", console=console) == 2
    assert "data path not found" in out.getvalue()
    console, out = _console()
    assert backtest_command(None, SPY_DAYS, console=console,
                            start=date(2020, 1, 1)) == 2
    assert "no recorded days" in out.getvalue()


def test_walk_forward_and_monte_carlo_commands_print_and_write_json(tmp_path: Path) -> None:
    config = tmp_path / "wf.toml"
    config.write_text(CONFIG + """
[backtest]
n_jobs = 1

[backtest.walk_forward]
in_sample_days = 2
out_of_sample_days = 1
params = { "strategies.sma_cross.slow" = [20, 30] }

[backtest.monte_carlo]
runs = 200
""")
    console, out = _console()
    assert walkforward_command(config, SPY_DAYS, date(2013, 10, 7), date(2013, 10, 10),
                               json_out=tmp_path / "wf.json", console=console) == 0
    wf = json.loads((tmp_path / "wf.json").read_text())
    assert [w["out_of_sample"] for w in wf["windows"]] == [["2013-10-09"], ["2013-10-10"]]
    assert wf["stitched_out_of_sample"]["days"] == 2
    assert "stitched out-of-sample" in out.getvalue()
    console, out = _console()
    assert montecarlo_command(config, SPY_DAYS, date(2013, 10, 7), date(2013, 10, 10),
                              json_out=tmp_path / "mc.json", console=console) == 0
    methods = [r["method"] for r in json.loads((tmp_path / "mc.json").read_text())]
    assert methods == ["trade resampling", "block bootstrap of days (block 2)"]
    assert "Monte Carlo (200 paths each)" in out.getvalue()
