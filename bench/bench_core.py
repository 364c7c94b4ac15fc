"""Trading-core benchmarks (issue 3).

1. Tick-to-order latency inside the process: from a quote event entering the engine to the
   broker's submit call, with the durable store write (SQLite WAL on disk) included.
   Every quote produces a signal, passes sizing and the whole risk rule list, is written to
   the store, and reaches the paper venue (as a resting limit, so fills do not muddy it).
2. Replay throughput of the whole live path (strategy, risk, order manager, paper venue with
   its on-disk ledger, on-disk store) over the full recorded GOOG 2015-12-24 chain: events/s
   and peak memory.
"""

from __future__ import annotations

import logging
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.wiring import build_bot  # noqa: E402
from market.clock import SimClock  # noqa: E402
from market.data import Quote  # noqa: E402
from market.feeds.replay import ReplayDay, ReplayFeed  # noqa: E402
from market.greeks import warm_up  # noqa: E402
from strategies.base import Signal, SignalAction, Strategy  # noqa: E402
from strategies.guard import GuardedStrategy  # noqa: E402
from tests.conftest import make_settings  # noqa: E402

N_ORDERS = 3000


class EveryQuote(Strategy):
    """Signals on every quote: the worst case for the order path."""

    name = "every_quote"

    def on_quote(self, q: Quote) -> list[Signal]:
        return [Signal(self.name, SignalAction.BUY_TO_OPEN, q.symbol, q.ts, q.bid - 0.05, 0.5,
                       "bench", "XYZ", stop=q.bid - 0.5)]


def tick_to_order(tmp: Path) -> list[float]:
    settings = make_settings(
        tmp, strategies={}, paper={"starting_cash": 1e9},
        execution={"entry": {"style": "natural"}},  # one order per signal, sent at once
        # Every rule still runs; only the limits that accumulate are set out of reach.
        risk={"max_concurrent_trades": 10**6,
              "liquidity": {"min_volume": 0, "min_open_interest": 0},
              "options": {"max_contracts_per_underlying": 10**9,
                          "max_premium_per_day_pct": 1000.0, "max_same_expiry_pct": 1.0}})
    start = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)
    clock = SimClock(start)
    bot = build_bot(settings, clock, run_tag="bench")
    bot.engine.strategies.append(GuardedStrategy(EveryQuote(None, bot.market, clock)))
    stamps: list[int] = []
    submit = bot.broker.submit

    def timed_submit(order: Any) -> None:
        stamps.append(time.perf_counter_ns())
        submit(order)

    bot.broker.submit = timed_submit  # type: ignore[method-assign]
    latencies = []
    for i in range(N_ORDERS):
        sym = f"XYZ251219C{100000 + (i % 2000) * 500:08d}"
        q = Quote(sym, start + timedelta(seconds=i), 2.00, 2.10, 50, 50, "XYZ")
        clock.advance_to(q.ts)
        stamps.clear()
        t0 = time.perf_counter_ns()
        bot.engine.on_event(q)
        if stamps:
            latencies.append((stamps[0] - t0) / 1000.0)
        for order in bot.orders.open_orders():  # untimed: keep the book realistic (few open)
            bot.orders.cancel(order.client_order_id)
    bot.close()
    return latencies


def replay_throughput(tmp: Path) -> tuple[int, float, float, dict[str, Any]]:
    settings = make_settings(tmp)
    clock = SimClock(datetime(2015, 12, 24, 14, 0, tzinfo=UTC))
    bot = build_bot(settings, clock, run_tag="bench")
    day = ReplayDay.discover(ROOT / "data" / "replay", "GOOG", date(2015, 12, 24))
    feed = ReplayFeed([day], open_interest=bot.market.open_interest)  # as the daemon wires it
    warm_up()  # the daemon loads the IV kernel at start; the close's daily IV would pay it here
    t0 = time.perf_counter()
    n = 0
    for event in feed.events():
        clock.advance_to(event.ts)
        bot.engine.on_event(event)
        n += 1
    bot.engine.close_session()
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = vars(bot.engine.summary).copy()
    bot.close()
    return n, elapsed, peak_mb, summary


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1]


def main() -> None:
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        lat = tick_to_order(Path(tmp) / "a")
        lat = lat[200:]  # warm-up: first orders pay imports and statement compilation
        print(f"tick-to-order (quote → strategy → sizing → {len(lat)} risk-checked orders → "
              "durable SQLite write → broker.submit)")
        print(f"  p50 {pct(lat, 0.50):7.1f} µs   p90 {pct(lat, 0.90):7.1f} µs   "
              f"p99 {pct(lat, 0.99):7.1f} µs   max {max(lat):8.1f} µs   "
              "(goal: p50 < 100 µs, p99 < 500 µs)")
        n, elapsed, peak, summary = replay_throughput(Path(tmp) / "b")
        print("replay of GOOG 2015-12-24, full chain, whole live path with on-disk store and "
              "ledger")
        print(f"  {n:,} events in {elapsed:.2f} s = {n / elapsed:,.0f} events/s; "
              f"peak RSS {peak:,.0f} MB; {summary}")


if __name__ == "__main__":
    main()
