"""Parity: a paper session's recorded quotes, replayed by the backtester, give the same fills
and the same P&L as the paper session itself."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backtest.recorder import EventRecorder
from backtest.runner import run
from bot.wiring import build_bot
from market.clock import SimClock
from market.feeds.replay import ReplayDay, ReplayFeed
from tests.conftest import GOOG_DAY, REPLAY_DIR, make_settings


def test_backtest_of_a_recorded_paper_session_reproduces_its_fills_and_pnl(
        tmp_path: Path) -> None:
    # The paper session, as the daemon runs it: file-backed store and venue ledger, the demo
    # scalping strategy, every event recorded as it is handed to the engine.
    # Entries at the natural price: the default "smart" policy steps from the mid every 10 s,
    # which minute-stamped data cannot show, so on this day it would never fill.
    execution = {"entry": {"style": "natural"}}
    paper_settings = make_settings(tmp_path / "paper", execution=execution)
    clock = SimClock(datetime(2015, 12, 24, 5, tzinfo=UTC))
    bot = build_bot(paper_settings, clock, run_tag="paper")
    recorder = EventRecorder()
    for event in ReplayFeed([ReplayDay.discover(REPLAY_DIR, "GOOG", GOOG_DAY)]).events():
        clock.advance_to(event.ts)
        recorder.record(event)
        bot.engine.on_event(event)
    bot.engine.close_session()
    paper_fills = bot.store.load_fills()
    paper_daily = bot.store.load_daily_pnl()
    bot.close()
    recorder.write(tmp_path / "recorded")
    assert len(paper_fills) >= 10, "the session must trade for the comparison to mean anything"

    result = run(make_settings(execution=execution), tmp_path / "recorded")

    def key(f: dict[str, object]) -> tuple[object, ...]:
        return (f["ts"], f["symbol"], f["side"], f["quantity"], f["price"], f["commission"])

    expected = [(f.ts.isoformat(), f.symbol, f.side.value, f.quantity, f.price, f.commission)
                for f in paper_fills]
    assert [key(f) for f in result.fill_log] == expected
    (day,) = paper_daily
    assert result.net_pnl == pytest.approx(day["end_equity"] - day["start_equity"], abs=1e-6)
    assert sum(t.net_pnl for t in result.trades) == pytest.approx(day["realized"], abs=1e-6)
