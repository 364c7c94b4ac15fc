"""The daily history repository on SQLite and on a real PostgreSQL server: round trips, the
idempotent upsert, and values that survive a restart."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.config import Settings
from bot.store import schema as t
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
    SessionRecord,
)
from market.daily_stats import DailyValue

PG_URL = os.environ.get("TRADEFLY_TEST_PG_URL")
CALL = "GOOG151231C00750000"
PUT = "GOOG151231P00750000"
D1, D2, D3 = date(2015, 12, 22), date(2015, 12, 23), date(2015, 12, 24)


@pytest.fixture(scope="module")
def pg_database() -> Iterator[str]:
    if not PG_URL:
        pytest.fail(
            "TRADEFLY_TEST_PG_URL is not set: `source scripts/postgres.sh env` after "
            "`bash scripts/postgres.sh start` (make test does both)"
        )
    name = f"tradefly_daily_{uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    pg: str = request.getfixturevalue("pg_database")
    Store.open(pg, account="a").close()  # migrated
    engine = create_engine(pg)
    with engine.begin() as c:  # each test starts from empty tables
        for table in ("underlying_daily", "contract_daily_volume"):
            c.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    return pg


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = Store.open(url, account="a")
    yield s
    s.close()


def record(day: date, iv: float, calls: int, puts: int) -> SessionRecord:
    return SessionRecord("GOOG", day, iv, calls, puts, {CALL: calls, PUT: puts})


def test_series_round_trip_oldest_first_and_limited(store: Store) -> None:
    repo = DailyHistoryRepository(store)
    for day, iv in ((D1, 0.20), (D2, 0.30), (D3, 0.25)):
        repo.save_session(record(day, iv, 10, 5))
    assert repo.load_daily("GOOG", IV_SERIES, 2) == [DailyValue(D2, 0.30), DailyValue(D3, 0.25)]
    assert repo.load_daily("GOOG", IV_SERIES, 5, before=D3) == [
        DailyValue(D1, 0.20),
        DailyValue(D2, 0.30),
    ]
    assert [v.value for v in repo.load_daily("GOOG", VOLUME_SERIES, 5)] == [15.0] * 3
    assert [v.value for v in repo.load_daily("GOOG", CALL_VOLUME_SERIES, 1)] == [10.0]
    assert [v.value for v in repo.load_daily("GOOG", PUT_VOLUME_SERIES, 1)] == [5.0]
    assert repo.load_contract_volumes("GOOG", [D1, D3]) == {
        D1: {CALL: 10, PUT: 5},
        D3: {CALL: 10, PUT: 5},
    }
    assert repo.underlyings() == ["GOOG"]
    assert repo.sessions("GOOG") == [D1, D2, D3]
    assert repo.load_daily("SPY", IV_SERIES, 5) == []


def test_saving_a_day_again_never_double_counts(store: Store) -> None:
    repo = DailyHistoryRepository(store)
    for _ in range(3):  # a replay, then a restart that saves the same close again
        repo.save_session(record(D2, 0.30, 400, 100))
    assert [v.value for v in repo.load_daily("GOOG", VOLUME_SERIES, 5)] == [500.0]
    assert repo.load_contract_volumes("GOOG", [D2]) == {D2: {CALL: 400, PUT: 100}}
    with store.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(t.underlying_daily)).scalar() == 4
        assert c.execute(select(func.count()).select_from(t.contract_daily_volume)).scalar() == 2


def test_volume_keeps_the_larger_figure_and_iv_takes_the_newer(store: Store) -> None:
    repo = DailyHistoryRepository(store)
    repo.save_session(record(D2, 0.30, 400, 100), source="history")  # the full day
    repo.save_session(record(D2, 0.28, 150, 20))  # a daemon restarted mid-session saw less
    assert [v.value for v in repo.load_daily("GOOG", VOLUME_SERIES, 5)] == [500.0]
    assert [v.value for v in repo.load_daily("GOOG", IV_SERIES, 5)] == [0.28]
    assert repo.load_contract_volumes("GOOG", [D2]) == {D2: {CALL: 400, PUT: 100}}
    repo.save_session(record(D2, 0.28, 450, 100))  # more than stored: the call side grows
    assert repo.load_contract_volumes("GOOG", [D2]) == {D2: {CALL: 450, PUT: 100}}
    with store.engine.connect() as c:
        sources = dict(
            c.execute(
                select(t.contract_daily_volume.c.symbol, t.contract_daily_volume.c.source)
            ).all()
        )
    assert sources == {CALL: "live", PUT: "history"}


def test_a_day_without_iv_keeps_its_volumes(store: Store) -> None:
    repo = DailyHistoryRepository(store)
    repo.save_session(record(D2, math.nan, 7, 3))
    assert repo.load_daily("GOOG", IV_SERIES, 5) == []
    assert [v.value for v in repo.load_daily("GOOG", VOLUME_SERIES, 5)] == [10.0]


def test_save_daily_inserts_then_replaces(store: Store) -> None:
    repo = DailyHistoryRepository(store)
    repo.save_daily("SPY", IV_SERIES, DailyValue(D1, 0.15))
    repo.save_daily("SPY", IV_SERIES, DailyValue(D1, 0.12))
    assert repo.load_daily("SPY", IV_SERIES, 5) == [DailyValue(D1, 0.12)]


def test_many_contracts_in_one_session(store: Store) -> None:
    """More rows than one INSERT batch (PostgreSQL caps bind parameters per statement)."""
    repo = DailyHistoryRepository(store)
    volumes = {f"GOOG151231C{strike * 1000:08d}": strike for strike in range(1, 4501)}
    repo.save_session(SessionRecord("GOOG", D2, 0.3, sum(volumes.values()), 0, volumes))
    loaded = repo.load_contract_volumes("GOOG", [D2])[D2]
    assert loaded == volumes


def test_values_survive_a_restart(url: str) -> None:
    first = Store.open(url, account="a")
    repo = DailyHistoryRepository(first)
    repo.save_session(record(D1, 0.20, 30, 10))
    repo.save_session(record(D2, 0.30, 60, 20))
    first.close()
    again = Store.open(url, account="a")  # migrations run again: nothing is lost
    book = DailyBook(DailyHistoryConfig(min_volume_sessions=2, min_iv_sessions=2))
    assert book.load_from(DailyHistoryRepository(again), before=D3) == 1
    again.close()
    assert book.volume_avg("GOOG", D3) == (60.0, 2)  # (40 + 80) / 2
    assert book.volume_avg("GOOG", D3, "puts") == (15.0, 2)
    assert book.contract_volume_avg("GOOG", [CALL, PUT, "GOOG151231C00999000"], D3).tolist() == [
        45.0,
        15.0,
        0.0,
    ]
    # rank 100 * (0.25 - 0.20) / (0.30 - 0.20) = 50; one of two sessions below: 50%
    assert book.iv_rank("GOOG", 0.25, D3) == pytest.approx(50.0)
    assert book.iv_percentile("GOOG", 0.25, D3) == pytest.approx(50.0)


def test_a_restarted_bot_loads_the_sessions_before_today(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    settings = Settings(
        store={"url": url},
        paper={"ledger_path": str(tmp_path / "l.db")},
        daily_history={"min_volume_sessions": 1, "min_iv_sessions": 1},
    )
    seeded = Store.open(url, account=settings.account_id)
    repo = DailyHistoryRepository(seeded)
    repo.save_session(record(D1, 0.20, 30, 10))
    repo.save_session(record(D2, 0.30, 60, 20))
    seeded.close()
    clock = SimClock(datetime(2015, 12, 23, 15, 0, tzinfo=UTC))  # during D2: D2 not seen yet
    bot = build_bot(settings, clock)
    try:
        assert bot.market.daily is not None
        assert bot.market.daily.volume_avg("GOOG", D2) == (40.0, 1)
        assert bot.market.daily.iv_history("GOOG", D3).tolist() == [0.20]
    finally:
        bot.close()
