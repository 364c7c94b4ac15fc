"""The shipped real day (GOOG, 2015-12-24) through the whole bot: each strategy signals with a
readable reason. Scalping runs on its defaults. The day is quiet (GOOG moved under 1%, the
whole day's block premium was about $136k), so momentum breakout and unusual activity cannot
fire on the specification's thresholds; they run here with thresholds scaled to the day, and
their unit tests cover the real defaults on constructed data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.wiring import build_bot
from market.clock import SimClock
from market.feeds.replay import ReplayFeed
from strategies.base import Signal
from tests.conftest import make_settings, replay

SCALED: dict[str, dict[str, Any]] = {
    "scalping": {},
    "momentum_breakout": {"window": 10, "min_move": 0.002, "full_move": 0.006,
                          "min_stock_volume_ratio": 1.0, "min_option_volume_ratio": 1.0,
                          "min_session_bars": 15, "level_lookback": 20},
    "unusual_activity": {"window": "PT3H", "min_blocks": 1, "min_net_premium": 10_000,
                         "full_net_premium": 100_000, "require_baseline": False,
                         "pc_baseline": 1.0},
}


def test_goog_day_signals_from_each_strategy(goog_feed: ReplayFeed) -> None:
    clock = SimClock(datetime(2015, 12, 24, 14, 30, tzinfo=UTC))
    bot = build_bot(make_settings(strategies=SCALED), clock, run_tag="replay")
    seen: list[Signal] = []
    for guarded in bot.engine.strategies:
        for hook in ("on_bar", "on_quote"):
            original = getattr(guarded.strategy, hook)

            def record(event: Any, original: Any = original) -> list[Signal]:
                out: list[Signal] = original(event)
                seen.extend(out)
                return out

            setattr(guarded.strategy, hook, record)
    replay(bot, clock, goog_feed)
    bot.close()
    by_name = {name: [s for s in seen if s.strategy == name] for name in SCALED}
    assert all(by_name.values()), {k: len(v) for k, v in by_name.items()}
    for signal in seen:
        assert 0.0 <= signal.confidence <= 1.0
        assert signal.symbol.startswith("GOOG") and len(signal.symbol) > 4
        assert signal.stop is not None and signal.target is not None
        assert signal.stop < signal.entry_limit < signal.target
        assert "score " in signal.reason
    assert "mid +" in by_name["scalping"][0].reason
    assert "through resistance" in by_name["momentum_breakout"][0].reason \
        or "through support" in by_name["momentum_breakout"][0].reason
    assert " flow: " in by_name["unusual_activity"][0].reason
