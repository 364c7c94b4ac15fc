"""Shared fixtures: simulated clocks, in-memory books, the shipped replay day."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.wiring import Bot, build_bot
from market.clock import SimClock
from market.feeds.replay import ReplayDay, ReplayFeed

ROOT = Path(__file__).resolve().parents[1]
REPLAY_DIR = ROOT / "data" / "replay"
SHARED = ROOT.parent / "shared"
GOOG_DAY = date(2015, 12, 24)


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)


def make_settings(tmp_path: Path | None = None, **overrides: Any) -> Settings:
    """Settings for a test: in-memory store and ledger unless tmp_path is given."""
    base: dict[str, Any] = {
        "store": {"url": f"sqlite:///{tmp_path / 'store.db'}" if tmp_path else
                  "sqlite:///:memory:"},
        "paper": {"ledger_path": str(tmp_path / "ledger.db") if tmp_path else ":memory:"},
        "http": {"enabled": False},
        # The replay's quotes are minute bars: a quote a minute old is the standing market.
        "risk": {"liquidity": {"max_quote_age_seconds": 120}},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return Settings(**base)


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock(datetime(2015, 12, 24, 14, 30, tzinfo=UTC))


@pytest.fixture
def goog_feed() -> ReplayFeed:
    return ReplayFeed([ReplayDay.discover(REPLAY_DIR, "GOOG", GOOG_DAY)])


@pytest.fixture
def mem_bot(sim_clock: SimClock) -> Iterator[Bot]:
    bot = build_bot(make_settings(), sim_clock, run_tag="test")
    yield bot
    bot.close()


def replay(bot: Bot, clock: SimClock, feed: ReplayFeed, limit: int | None = None) -> int:
    n = 0
    for event in feed.events():
        clock.advance_to(event.ts)
        bot.engine.on_event(event)
        n += 1
        if limit is not None and n >= limit:
            break
    return n
