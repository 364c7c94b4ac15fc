"""The daemon end to end: the replay day on paper, health and metrics, SIGTERM, kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.daemon import Daemon
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, speed: float, reset: bool = True) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(f"""
[replay]
folder = "{ROOT / 'data' / 'replay'}"
speed = {speed}
reset_state = {str(reset).lower()}
[store]
url = "sqlite:///{tmp_path / 'store.db'}"
[paper]
ledger_path = "{tmp_path / 'ledger.db'}"
[http]
enabled = false
[risk.liquidity]
max_quote_age_seconds = 120
""")
    return path


def tradefly(*args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.fixture(scope="module")
def replayed_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("day")
    settings = make_settings(tmp, replay={"folder": ROOT / "data" / "replay"})
    daemon = Daemon(settings)
    assert asyncio.run(daemon.run()) == 0
    assert daemon.summary is not None
    return write_config(tmp, 0, reset=False), daemon.summary


def test_replay_day_trades_and_reports_pnl_after_costs(replayed_day: tuple[Path, Any]) -> None:
    config, summary = replayed_day
    assert summary["signals"] > 0 and summary["fills"] > 0
    store = sqlite3.connect(config.parent / "store.db")
    contracts = store.execute("SELECT SUM(quantity) FROM fills").fetchone()[0]
    assert summary["fees"] == pytest.approx(0.65 * contracts)  # $0.65 per contract, each fill
    # Net P&L is exactly realized (after fees) plus unrealized: nothing hidden.
    assert summary["net_pnl"] == pytest.approx(
        summary["realized_pnl_after_fees"] + summary["unrealized_pnl_at_liquidation"], abs=0.02)
    assert summary["open_positions"] == {}, "the end-of-day flatten closed everything"


def test_orders_json_lists_orders_with_client_ids(replayed_day: tuple[Path, Any]) -> None:
    config, summary = replayed_day
    proc = tradefly("orders", "--config", str(config), "--json")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    orders = json.loads(out)
    assert len(orders) == summary["orders"]
    for o in orders:
        assert {"client_order_id", "symbol", "side", "quantity", "status", "created_at"} <= set(o)
    ids = [o["client_order_id"] for o in orders]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("tf-20151224-") for i in ids)


def test_positions_and_risk_commands_read_the_store(replayed_day: tuple[Path, Any]) -> None:
    config, _ = replayed_day
    for cmd in ("positions", "risk"):
        proc = tradefly(cmd, "--config", str(config), "--json")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        json.loads(out)


async def test_health_and_metrics_endpoints_while_running(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, replay={"folder": ROOT / "data" / "replay", "speed": 600},
                             http={"enabled": True, "port": 0})
    daemon = Daemon(settings)
    task = asyncio.create_task(daemon.run())
    for _ in range(300):
        if daemon.http_port and daemon.bot.engine.summary.dropped_quotes > 0:
            break
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.http_port}") as client:
        health = (await client.get("/healthz")).json()
        metrics = (await client.get("/metrics")).text
    daemon.request_stop("test")
    assert await task == 0
    assert health["ok"] is True and health["mode"] == "paper"
    assert health["trading_state"] == "active"
    # The one-sided quotes the engine dropped so far are counted by reason.
    dropped = [line for line in metrics.splitlines()
               if line.startswith('tradefly_quotes_dropped_total{reason="no_ask"}')]
    assert dropped and float(dropped[0].split()[-1]) >= 1


def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=5)
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_sigterm_stops_gracefully_with_exit_0(tmp_path: Path) -> None:
    config = write_config(tmp_path, speed=1200)
    proc = tradefly("run", "--config", str(config))
    wait_for(lambda: count(tmp_path / "store.db", "SELECT COUNT(*) FROM orders") > 0)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping: SIGTERM" in err
    # Intake stopped and working orders were cancelled: nothing is left open.
    assert count(tmp_path / "store.db", "SELECT COUNT(*) FROM orders WHERE status IN "
                 "('new','accepted','partially_filled')") == 0


def test_kill_9_mid_run_then_restart_keeps_books_consistent(tmp_path: Path) -> None:
    config = write_config(tmp_path, speed=1200)
    proc = tradefly("run", "--config", str(config))
    wait_for(lambda: count(tmp_path / "ledger.db", "SELECT COUNT(*) FROM fills") >= 3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    config = write_config(tmp_path, speed=0, reset=False)
    proc = tradefly("run", "--config", str(config))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    ledger = sqlite3.connect(tmp_path / "ledger.db")
    store = sqlite3.connect(tmp_path / "store.db")
    venue_fills = {r[0] for r in ledger.execute("SELECT fill_id FROM fills")}
    our_fills = [r[0] for r in store.execute("SELECT fill_id FROM fills")]
    assert len(our_fills) == len(set(our_fills)), "a fill was recorded twice"
    assert set(our_fills) == venue_fills, "a fill was lost"
    venue_orders = {r[0] for r in ledger.execute("SELECT client_order_id FROM orders")}
    our_orders = {r[0] for r in store.execute("SELECT client_order_id FROM orders")}
    assert venue_orders <= our_orders
    rejected = ledger.execute("SELECT COUNT(*) FROM orders WHERE status='rejected'").fetchone()
    assert rejected[0] == 0, "a resent duplicate would have been rejected by the venue"
    venue_pos = dict(ledger.execute("SELECT symbol, quantity FROM positions WHERE quantity"))
    our_pos = dict(store.execute("SELECT symbol, quantity FROM positions WHERE quantity"))
    assert our_pos == venue_pos
