"""Execution quality (issue 12): the same signals worked two ways on a real recorded day.

The shipped GOOG 2015-12-24 full chain is replayed twice through the whole live path (the
scalping strategy, sizing, every risk rule, the order manager, the paper venue) on a simulated
clock. Only the entry policy differs: "natural" crosses the spread at once; "smart" (the
default `[execution.entry]`) starts at the mid and steps toward the natural price.

Printed per policy: entry signals, entry orders filled (fill rate), price improvement of the
entry fills vs crossing (dollars per contract and fraction of the spread), the 1 and 5 minute
mark-outs, and the day's net P&L after commissions and fees. Every figure is measured against
the NBBO stored when the entry was decided (`bot.execution_quality`).

Caveat printed with the table: one day, one underlying, a few dozen entries. The replay's quotes
are minute bars released at the minute's end, so a working limit sees one quote a minute; the
smart policy's 20-second steps are therefore coarser here than live.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.execution_quality import FillQuality, assess  # noqa: E402
from bot.summary import day_summary  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from brokers.orders import Intent  # noqa: E402
from market.clock import SimClock  # noqa: E402
from market.feeds.replay import ReplayDay, ReplayFeed  # noqa: E402
from tests.conftest import make_settings  # noqa: E402

DAY = date(2015, 12, 24)


@dataclass
class Outcome:
    policy: str
    signals: int
    entries: int  # entry decisions (replace chains), each one order at first
    filled: int  # entry chains with at least one fill
    entry_fills: list[FillQuality]
    net_pnl: float
    fees: float
    seconds: float

    def weighted(self, attr: str) -> float | None:
        pairs = [(getattr(i, attr), i.quantity) for i in self.entry_fills
                 if getattr(i, attr) is not None]
        total = sum(q for _, q in pairs)
        return sum(v * q for v, q in pairs) / total if total else None


def run(policy: str, days: list[ReplayDay]) -> Outcome:
    execution: dict[str, Any] = {"entry": {"style": policy}}
    settings = make_settings(execution=execution,
                             risk={"liquidity": {"max_quote_age_seconds": 120}})
    clock = SimClock(datetime(2015, 12, 24, 14, 0, tzinfo=UTC))
    bot = build_bot(settings, clock, run_tag=f"bx{policy[:2]}")
    feed = ReplayFeed(days, open_interest=bot.market.open_interest)  # published as it plays
    started = time.perf_counter()
    for event in feed.events():
        clock.advance_to(event.ts)
        bot.engine.on_event(event)
    bot.engine.close_session()
    seconds = time.perf_counter() - started
    summary = day_summary(bot)
    store = bot.store
    orders = store.load_orders()
    by_id = {o.client_order_id: o for o in orders}

    def root(cid: str) -> str:
        seen: set[str] = set()
        while (parent := by_id[cid].request.replaces) and parent in by_id and parent not in seen:
            seen.add(cid)
            cid = parent
        return cid

    entries = [o for o in orders if o.request.intent is Intent.OPEN]
    chains = {root(o.client_order_id) for o in entries}
    filled = {root(o.client_order_id) for o in entries if o.filled_quantity > 0}
    rows = store.load_fill_quality()
    meta = {o.client_order_id: {"replaces": o.request.replaces, "nbbo_bid": o.nbbo_bid,
                                "nbbo_ask": o.nbbo_ask} for o in orders}
    entry_ids = {r["fill_id"] for r in rows if r["intent"] == Intent.OPEN.value}
    quality = [q for q in assess(rows, meta) if q.fill_id in entry_ids]
    outcome = Outcome(policy, summary["signals"], len(chains), len(filled), quality,
                      summary["net_pnl"], summary["fees"], seconds)
    bot.close()
    return outcome


def money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def main() -> None:
    logging.disable(logging.WARNING)
    days = [ReplayDay.discover(ROOT / "data" / "replay", "GOOG", DAY)]
    results = [run(policy, days) for policy in ("natural", "smart")]
    print("execution quality on GOOG 2015-12-24 (full chain, scalping, paper venue); "
          "$ per contract, + = good for us")
    head = (f"{'entry policy':<13}{'signals':>8}{'entries':>8}{'filled':>7}{'fill rate':>10}"
            f"{'vs natural':>11}{'of spread':>10}{'vs mid':>8}{'m/o 1m':>8}{'m/o 5m':>8}"
            f"{'fees':>8}{'net P&L':>10}{'run s':>7}")
    print(head)
    for r in results:
        rate = r.filled / r.entries if r.entries else 0.0
        captured = (sum(i.spread_captured for i in r.entry_fills) / len(r.entry_fills)
                    if r.entry_fills else None)
        print(f"{r.policy:<13}{r.signals:>8}{r.entries:>8}{r.filled:>7}{rate:>10.0%}"
              f"{money(r.weighted('vs_natural')):>11}"
              f"{'n/a' if captured is None else f'{captured:.0%}':>10}"
              f"{money(r.weighted('vs_mid')):>8}{money(r.weighted('markout_1m')):>8}"
              f"{money(r.weighted('markout_5m')):>8}{r.fees:>8.2f}{r.net_pnl:>+10.2f}"
              f"{r.seconds:>7.1f}")
    fills = sum(len(r.entry_fills) for r in results)
    print(f"sample: one day, one underlying, {fills} entry fills in all: an illustration of the "
          "mechanics, not a statistically meaningful estimate")


if __name__ == "__main__":
    main()
