"""Seeding the bot's daily history from the Parquet history store: a constructed store priced
with QuantLib, the shipped real GOOG chains, and the `tradefly data seed-store` command."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backtest.data import load_data
from backtest.runner import backtest_settings, seed_daily_history
from bot.cli_data import data_app
from bot.store.daily_history import DailyHistoryRepository
from bot.store.store import Store
from bot.wiring import build_bot
from market.clock import SimClock
from market.daily_history import (
    CALL_VOLUME_SERIES,
    IV_SERIES,
    PUT_VOLUME_SERIES,
    VOLUME_SERIES,
    DailyBook,
    DailyHistoryConfig,
)
from market.history.daily_seed import seed
from market.history.derived import greeks_daily
from market.history.importer import import_shipped
from market.history.store import HistoryStore
from tests.conftest import SHARED, make_settings
from tests.market.test_history_derived import (
    DAY,
    DIV,
    RATE,
    SPOT,
    VOL,
    day_bars,
    quantlib,
    stock_day,
)

DAY0 = date(2024, 8, 15)
ATM_CALL, ATM_PUT = "SPY240920C00545000", "SPY240920P00545000"


def constructed(root: Path) -> HistoryStore:
    """DAY0: volumes only (no underlying close, so no IV). DAY: the 545 pair priced at 30% by
    QuantLib, a 600 call priced at 0.01 (far from 30%, and not at the money)."""
    store = HistoryStore(root)
    store.write_table(
        day_bars(DAY0, [(ATM_CALL, "C", 545.0, 9.0, 30), (ATM_PUT, "P", 545.0, 9.0, 10)]),
        "options_day",
        DAY0,
        "SPY",
    )
    call, _, _ = quantlib(545.0, call=True)
    put, _, _ = quantlib(545.0, call=False)
    store.write_table(
        day_bars(
            DAY,
            [
                (ATM_CALL, "C", 545.0, call, 50),
                (ATM_PUT, "P", 545.0, put, 0),
                ("SPY240920C00600000", "C", 600.0, 0.01, 20),
            ],
        ),
        "options_day",
        DAY,
        "SPY",
    )
    store.write_table(stock_day(DAY, SPOT), "stocks_day", DAY, "SPY")
    greeks_daily(store, ["SPY"], [DAY0, DAY], rate=RATE, dividend_yield=DIV)
    return store


def test_seeded_values_by_hand(tmp_path: Path) -> None:
    history = constructed(tmp_path / "history")
    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}", account="a")
    repo = DailyHistoryRepository(store)
    try:
        report = seed(history, repo, ["spy"])
        assert (report.sessions, report.with_iv) == (2, 1)
        assert report.skipped == [
            (DAY0, "SPY", "no closing ATM IV (run the derived history: greeks_daily)")
        ]
        (iv,) = repo.load_daily("SPY", IV_SERIES, 5)
        assert iv.day == DAY and iv.value == pytest.approx(VOL, abs=1e-8)
        assert [v.value for v in repo.load_daily("SPY", VOLUME_SERIES, 5)] == [40.0, 70.0]
        assert [v.value for v in repo.load_daily("SPY", CALL_VOLUME_SERIES, 5)] == [30.0, 70.0]
        assert [v.value for v in repo.load_daily("SPY", PUT_VOLUME_SERIES, 5)] == [10.0, 0.0]
        assert repo.load_contract_volumes("SPY", [DAY]) == {
            DAY: {ATM_CALL: 50, "SPY240920C00600000": 20}
        }
        seed(history, repo, ["SPY"])  # again: nothing doubles
        assert [v.value for v in repo.load_daily("SPY", VOLUME_SERIES, 5)] == [40.0, 70.0]
        book = DailyBook(DailyHistoryConfig(min_volume_sessions=2))
        book.load_from(repo, before=date(2024, 8, 19))
        assert book.contract_volume_avg("SPY", [ATM_CALL, ATM_PUT], date(2024, 8, 19)).tolist() == [
            40.0,
            5.0,
        ]  # (30 + 50) / 2, (10 + 0) / 2
    finally:
        store.close()


def test_seed_range_and_unknown_underlying(tmp_path: Path) -> None:
    history = constructed(tmp_path / "history")
    store = Store.open(f"sqlite:///{tmp_path / 'bot.db'}", account="a")
    try:
        report = seed(history, DailyHistoryRepository(store), ["SPY", "QQQ"], first=DAY)
        assert report.sessions == 1
        assert (DAY, "QQQ", "no options_day stored") in report.skipped
        assert DailyHistoryRepository(store).sessions("SPY") == [DAY]
    finally:
        store.close()


def test_seed_store_command_from_the_shipped_real_chains(tmp_path: Path) -> None:
    chains = sorted((SHARED / "data" / "option_chains").glob("GOOG_2015-12-*_chain.csv.gz"))
    if not chains:
        pytest.fail(f"the shared real data is needed under {SHARED / 'data'} (see its README)")
    history = HistoryStore(tmp_path / "history")
    import_shipped(chains, history)
    days = sorted({p.day for p in history.partitions("options_day") if p.day is not None})
    greeks_daily(history, ["GOOG"], days, rate=0.005)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    result = CliRunner().invoke(
        data_app,
        ["seed-store", "--store", str(history.root), "--url", url, "-u", "GOOG"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert f"seeded {len(days)} sessions of GOOG" in result.output
    store = Store.open(url, account="a")
    try:
        repo = DailyHistoryRepository(store)
        ivs = repo.load_daily("GOOG", IV_SERIES, 252)
        assert [v.day for v in ivs] == days
        assert all(0.05 < v.value < 1.5 for v in ivs)
        volumes = repo.load_daily("GOOG", VOLUME_SERIES, 30)
        first = history.read("options_day", days[0], "GOOG", ["volume"])
        assert first is not None
        assert volumes[0].value == sum(v or 0 for v in first.column("volume").to_pylist())
    finally:
        store.close()
    assert not math.isnan(ivs[-1].value)


def test_a_backtest_on_the_history_store_starts_with_the_days_before_it(tmp_path: Path) -> None:
    """The runner seeds the sessions before the first backtest day, never a later one."""
    history = HistoryStore(tmp_path / "history")
    data = SHARED / "data"
    import_shipped(
        [
            *sorted((data / "option_chains").glob("GOOG_2015-12-*_chain.csv.gz")),
            data / "equity_minute" / "GOOG_2015-12-24_1min.csv.gz",
        ],
        history,
    )
    days = sorted({p.day for p in history.partitions("options_day") if p.day is not None})
    greeks_daily(history, ["GOOG"], days, rate=0.005)
    first = date(2015, 12, 24)
    loaded = load_data(history.root, first, first, ["GOOG"])
    settings = make_settings(daily_history={"min_iv_sessions": 1, "min_volume_sessions": 1})
    bot = build_bot(backtest_settings(settings), SimClock(datetime(2015, 12, 24, 5, tzinfo=UTC)))
    try:
        assert seed_daily_history(bot, loaded, first) == 2  # 12-22 and 12-23 of the seven
        daily = bot.market.daily
        assert daily is not None
        repo = DailyHistoryRepository(bot.store)
        assert repo.sessions("GOOG") == [date(2015, 12, 22), date(2015, 12, 23)]
        assert daily.iv_history("GOOG", date(2016, 1, 4)).tolist() == [
            v.value for v in repo.load_daily("GOOG", IV_SERIES, 5)
        ]
        calls = history.read("options_day", date(2015, 12, 23), "GOOG", ["right", "volume"])
        assert calls is not None
        expected = (
            sum(
                v
                for r, v in zip(
                    calls.column("right").to_pylist(),
                    calls.column("volume").to_pylist(),
                    strict=True,
                )
                if r == "C" and v
            )
            + 2856
        ) / 2  # 12-22's calls: 2,856 (its file)
        assert daily.volume_avg("GOOG", first, "calls") == (expected, 2)
    finally:
        bot.close()
