"""Real recorded days through the whole bot: each strategy signals with a reason that names
every condition with its value.

* GOOG 2015-12-24 (shipped in data/replay): scalping on its defaults. The day is quiet (GOOG's
  largest 15-minute move was 0.38%), so momentum breakout runs here with thresholds scaled to
  the day (a 0.2% move in 10 minutes, volumes at their averages, a 20-bar level).
* SPX 2021-01-04 (the shared data set: SPX and SPXW options, SPX index minutes, published open
  interest): unusual activity on the specification's defaults, measured against open interest.

No shipped day moves 3% in 15 minutes (the largest is 1.05%, FOXA 2013-07-02), so the breakout
never fires on its defaults; the README's "Strategies" section gives the funnel per day
(`scripts/calibrate_strategies.py`), and the breakout's unit tests cover the real defaults on
constructed data.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from backtest.data import discover_days
from bot.config import Settings
from bot.wiring import build_bot
from market.clock import SimClock
from market.feeds.replay import ReplayDay, ReplayFeed
from strategies.base import Signal
from tests.conftest import GOOG_DAY, REPLAY_DIR, SHARED, make_settings

SCALED: dict[str, dict[str, Any]] = {
    "scalping": {},
    "momentum_breakout": {
        "window": 10,
        "min_move": 0.002,
        "full_move": 0.006,
        "min_stock_volume_ratio": 1.0,
        "min_option_volume_ratio": 1.0,
        "min_session_bars": 15,
        "level_lookback": 20,
    },
}
NUMBER = r"[-+$]*[\d,]+(\.\d+)?%?"
# Each condition with its value and threshold, in the order the strategy checks them.
CONDITIONS = {
    "scalping": [
        rf"(call|put) mid \+{NUMBER} in \d+m \(>= {NUMBER}\)",
        rf"spread {NUMBER} \({NUMBER}\)",
        r"volume \d+ \(>= \d+\)",
        rf"delta {NUMBER}",
        rf"strike {NUMBER} vs {NUMBER} \({NUMBER}\)",
        r"RSI 1m (warming up|[\d.]+ in [\d.]+-[\d.]+)",
        r"score strength=",
    ],
    "momentum_breakout": [
        rf"GOOG {NUMBER} in \d+m \((up|down), >= {NUMBER}\)",
        rf"stock volume {NUMBER}x avg \(>= {NUMBER}x\)",
        rf"(call|put) volume {NUMBER}x .+ \(>= {NUMBER}x\)",
        r"MACD 1m crossed (up|down)",
        rf"close {NUMBER} through (resistance|support) {NUMBER}",
        r"buy GOOG\w+ \(delta",
        r"score strength=",
    ],
    "unusual_activity": [
        r"(bullish|bearish) flow: \d+ blocks in \d+m \(>= \d+\)",
        rf"directional premium \${NUMBER} \(\|\.\| >= \${NUMBER}\)",
        rf"volume {NUMBER}x (open interest \d+|30-day average {NUMBER}) \(>= {NUMBER}x\)",
        rf"put/call ({NUMBER}|inf) vs {NUMBER} \(lean {NUMBER}, >= {NUMBER}\)",
        r"buy \w+ \(delta",
        r"score strength=",
    ],
}


def _signals(settings: Settings, days: list[ReplayDay]) -> dict[str, list[Signal]]:
    """Replay `days` through the bot (open interest as published) and collect every signal
    the strategies emit, before sizing and risk."""
    clock = SimClock(datetime.combine(days[0].day, datetime.min.time(), UTC))
    bot = build_bot(settings, clock, run_tag="replay")
    seen: list[Signal] = []
    bot.engine.signal_listeners.append(seen.append)
    for event in ReplayFeed(days, open_interest=bot.market.open_interest).events():
        clock.advance_to(event.ts)
        bot.engine.on_event(event)
    bot.close()
    by_name: dict[str, list[Signal]] = {}
    for signal in seen:
        by_name.setdefault(signal.strategy, []).append(signal)
    return by_name


def _check(signal: Signal, strategy: str) -> None:
    assert 0.0 <= signal.confidence <= 1.0
    assert signal.stop is not None and signal.target is not None
    assert signal.stop < signal.entry_limit < signal.target
    position = 0
    for pattern in CONDITIONS[strategy]:
        found = re.compile(pattern).search(signal.reason, position)
        assert found, (pattern, signal.reason)
        position = found.end()


def test_goog_day_signals_from_scalping_and_scaled_breakout() -> None:
    day = ReplayDay.discover(REPLAY_DIR, "GOOG", GOOG_DAY)
    by_name = _signals(make_settings(strategies=SCALED), [day])
    assert sorted(by_name) == sorted(SCALED), {k: len(v) for k, v in by_name.items()}
    for name, signals in by_name.items():
        for signal in signals:
            assert signal.symbol.startswith("GOOG") and len(signal.symbol) > 4
            _check(signal, name)


def test_spx_day_unusual_activity_fires_on_the_specification_defaults() -> None:
    days = discover_days(SHARED / "data", date(2021, 1, 4), date(2021, 1, 4))
    assert sorted(d.underlying for d in days) == ["SPX", "SPXW"]
    by_name = _signals(make_settings(strategies={"unusual_activity": {}}), days)
    signals = by_name["unusual_activity"]
    assert signals
    for signal in signals:
        _check(signal, "unusual_activity")
        assert signal.underlying == "SPX" and signal.symbol.startswith("SPX")
        blocks = int(re.search(r"(\d+) blocks", signal.reason)[1])  # type: ignore[index]
        premium = float(
            re.search(r"premium \$([-+\d,]+)", signal.reason)[1].replace(",", "")  # type: ignore[index]
        )
        ratio = float(re.search(r"volume ([\d.]+)x open interest", signal.reason)[1])  # type: ignore[index]
        assert blocks >= 3 and abs(premium) >= 1_000_000 and ratio >= 5
