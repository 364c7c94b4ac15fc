"""Strategy speed: what the three strategies add to a replayed day; what one contract pick costs.

1. The shipped GOOG day (276,929 events) through the whole bot with no strategy, then with the
   three strategies (thresholds of the replay test, so all of them fire): CPU seconds, events per
   second and the added cost per event.
2. `MarketState.on_bar` with the indicator registry (the default `[indicators]` set on 1m-1d),
   per 1-minute bar, against the bare state.
3. One contract selection on the end-of-day GOOG chain (2,000+ contracts): chain from state,
   implied vols and deltas (market.greeks), pick; against py_vollib_vectorized computing the same
   implied vols and deltas on the same chain (the peer for the numeric part).

CPU time of this process (`time.process_time`): the machine is shared. Figures only.
Run: `make bench` or `.venv/bin/python bench/bench_strategies.py`.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.wiring import Bot, build_bot  # noqa: E402
from market.calendar import ExchangeCalendar  # noqa: E402
from market.chain_from_state import chain_from_state  # noqa: E402
from market.clock import SimClock  # noqa: E402
from market.data import Bar  # noqa: E402
from market.feeds.replay import ReplayDay, ReplayFeed  # noqa: E402
from market.greeks.chain import chain_years_to_expiry  # noqa: E402
from market.indicators.config import IndicatorsConfig  # noqa: E402
from market.state import MarketState  # noqa: E402
from strategies.selection import SelectionConfig, select_contract  # noqa: E402

DAY = date(2015, 12, 24)
SCALED: dict[str, dict[str, Any]] = {
    "scalping": {},
    "momentum_breakout": {"window": 10, "min_move": 0.002, "full_move": 0.006,
                          "min_stock_volume_ratio": 1.0, "min_option_volume_ratio": 1.0,
                          "min_session_bars": 15, "level_lookback": 20},
    "unusual_activity": {"window": "PT3H", "min_blocks": 1, "min_net_premium": 10_000,
                         "full_net_premium": 100_000, "require_baseline": False,
                         "pc_baseline": 1.0},
}


def replay(strategies: dict[str, dict[str, Any]], until: datetime | None = None,
           ) -> tuple[float, int, Bot, SimClock]:
    settings = Settings(strategies=strategies, store={"url": "sqlite:///:memory:"},
                        paper={"ledger_path": ":memory:"}, http={"enabled": False})
    clock = SimClock(datetime(2015, 12, 24, 14, 30, tzinfo=UTC))
    bot = build_bot(settings, clock, run_tag="bench")
    events = [e for e in ReplayFeed([ReplayDay.discover(ROOT / "data" / "replay", "GOOG", DAY)])
              .events() if until is None or e.ts <= until]
    start = time.process_time()
    for event in events:
        clock.advance_to(event.ts)
        bot.engine.on_event(event)
    return time.process_time() - start, len(events), bot, clock


def bench_replay() -> None:
    base, n, bare_bot, _ = replay({})
    bare_bot.close()
    full, _, bot, _ = replay(SCALED)
    bot.close()
    print(f"replay, no strategy      : {base:6.2f} s CPU  {n / base:>10,.0f} events/s")
    print(f"replay, three strategies : {full:6.2f} s CPU  {n / full:>10,.0f} events/s  "
          f"(+{(full - base) / n * 1e6:.2f} us per event)")


def bench_bars() -> None:
    cal = ExchangeCalendar()
    start = datetime(2015, 12, 21, 14, 30, tzinfo=UTC)
    bars = [Bar("GOOG", start + timedelta(days=d, minutes=m + 1), 750 + m % 7, 752 + m % 7,
                749 + m % 7, 751 + m % 7, 1000 + m) for d in range(3) for m in range(390)]
    for label, state in (("bare", MarketState()),
                         ("with indicators", MarketState(indicators=IndicatorsConfig()
                                                         .build(cal)))):
        t = time.process_time()
        for bar in bars:
            state.on_bar(bar)
        per = (time.process_time() - t) / len(bars) * 1e6
        print(f"MarketState.on_bar {label:<16}: {per:8.1f} us per 1m bar")


def bench_selection() -> None:
    now = datetime(2015, 12, 24, 16, 0, tzinfo=UTC)  # 11:00 New York, mid-session
    _, _, bot, _ = replay({}, until=now)
    market = bot.market
    cfg = SelectionConfig()
    loops = 20
    t = time.process_time()
    for _ in range(loops):
        pick = select_contract(market, "GOOG", True, cfg, now)
    ours = (time.process_time() - t) / loops * 1e3
    chain = chain_from_state(market, "GOOG", now, cfg.max_quote_age)
    print(f"select_contract (chain of {len(chain)}): {ours:7.2f} ms  -> "
          f"{pick.symbol if pick else None}")
    try:
        import py_vollib_vectorized as pv
    except ImportError:
        print("py_vollib_vectorized: not installed, peer not measured")
        bot.close()
        return
    assert market.calendar is not None
    ok = chain.valid & (chain_years_to_expiry(chain, market.calendar) > 0)
    price = ((chain.bid + chain.ask) / 2)[ok]
    s, k = chain.underlying_prices[ok], chain.strike[ok]
    years = chain_years_to_expiry(chain, market.calendar)[ok]
    flags = np.where(chain.is_call[ok], "c", "p")
    t = time.process_time()
    for _ in range(loops):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            iv = pv.vectorized_implied_volatility(price, s, k, years, 0.0, flags, q=0.0,
                                                  model="black_scholes_merton",
                                                  return_as="numpy", on_error="ignore")
            pv.vectorized_delta(flags, s, k, years, 0.0, iv, q=0.0,
                                model="black_scholes_merton", return_as="numpy")
    peer = (time.process_time() - t) / loops * 1e3
    print(f"py_vollib_vectorized IV + delta, same {int(ok.sum())} rows: {peer:7.2f} ms "
          f"(numbers only, no chain or pick)")
    bot.close()


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.2f}; CPU time of this process")
    bench_replay()
    bench_bars()
    bench_selection()


if __name__ == "__main__":
    main()
