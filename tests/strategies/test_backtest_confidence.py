"""Backtest trades keep their signal's confidence, also when the entry filled on a price step.

The execution layer walks an unfilled limit towards the market by replacing it (a new client
order id that `replaces` the last); the signal is linked to the first order only, so without
following the chain a stepped entry's trade had no confidence and fell out of the report's
P&L-by-confidence table (on the shipped GOOG day, every scalping trade did)."""

from __future__ import annotations

from backtest.runner import run
from tests.conftest import REPLAY_DIR, make_settings


def test_every_strategy_trade_carries_its_signal_confidence() -> None:
    result = run(make_settings(strategies={"scalping": {}}), REPLAY_DIR)
    trades = [t for t in result.trades if t.strategy == "scalping"]
    assert trades
    assert all(t.confidence is not None and 0.0 <= t.confidence <= 1.0 for t in trades), [
        (t.entry_order_id, t.confidence) for t in trades
    ]
