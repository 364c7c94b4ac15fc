"""The daily-loss breaker on equity, and its latch in TradingControl across sessions."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.events import EventBus
from bot.store.store import Store
from bot.trading_control import TradingControl
from risk.breaker import DailyLossBreaker
from risk.config import RiskConfig
from risk.state import TradingState

T = datetime(2015, 12, 24, 16, 0, tzinfo=UTC)
BREAKER = DailyLossBreaker(RiskConfig(max_daily_loss_pct=0.03, halt_daily_loss_pct=0.05))


def test_breaker_latches_reducing_exactly_at_the_line():
    assert BREAKER.evaluate(97_000.01, 100_000, TradingState.ACTIVE) is None
    state, reason = BREAKER.evaluate(97_000.0, 100_000, TradingState.ACTIVE)
    assert state is TradingState.REDUCING and "3.00%" in reason


def test_breaker_halts_at_the_second_threshold_and_only_moves_toward_safety():
    state, _ = BREAKER.evaluate(95_000.0, 100_000, TradingState.REDUCING)
    assert state is TradingState.HALTED
    assert BREAKER.evaluate(99_000.0, 100_000, TradingState.REDUCING) is None  # recovery
    assert BREAKER.evaluate(96_000.0, 100_000, TradingState.HALTED) is None


def test_breaker_without_opening_equity_does_nothing():
    assert BREAKER.evaluate(0.0, 0.0, TradingState.ACTIVE) is None


def control(tmp_path) -> TradingControl:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}", "acct")
    c = TradingControl(store, EventBus())
    c.load()
    return c


def test_latch_kill_and_pause_survive_a_reload_and_the_latch_ends_next_session(tmp_path):
    c = control(tmp_path)
    c.start_session("2015-12-24", 100_000.0, T)
    c.set_state(TradingState.REDUCING, "daily loss", T, by_breaker=True)
    c.set_paused(True, T, "admin")
    c.store.close()
    again = control(tmp_path)
    assert (again.state, again.latched_by_breaker, again.paused) == (
        TradingState.REDUCING, True, True)
    assert again.start_session("2015-12-24", 90_000.0, T) is False  # same day: still latched
    assert again.state is TradingState.REDUCING and again.start_of_day_equity == 100_000.0
    assert again.start_session("2015-12-28", 95_000.0, T) is True
    assert again.state is TradingState.ACTIVE and again.start_of_day_equity == 95_000.0


def test_a_kill_is_not_released_by_a_new_session(tmp_path):
    c = control(tmp_path)
    c.start_session("2015-12-24", 100_000.0, T)
    c.set_state(TradingState.HALTED, "kill switch by admin", T)
    c.start_session("2015-12-28", 100_000.0, T)
    assert c.state is TradingState.HALTED
