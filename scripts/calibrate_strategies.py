"""Strategy calibration on every shipped real day: why each strategy fires or not, and how its
confidence relates to outcomes. Regenerates the tables of the README's "Strategies" section.

For each recorded day with option data (quotes or prints) under `--data`, with the paper
config (`config/paper.toml`) and the three strategies at `--thresholds`:

1. **Funnel** (one replay through the bot, signals recorded before sizing and risk): how many
   candidates got past each condition (`strategies.funnel`). Momentum breakout keeps no funnel
   of its own; its first condition (the move over the window) is recomputed here from the
   day's 1-minute bars, with the largest move of the day.
2. **Signals followed** on their contract's recorded quotes, independent of sizing and risk:
   bought at the signal's limit (the ask), sold at the bid at the first of target, stop or time
   stop (else the day's last bid), `--commission` per contract each way. Each confidence factor
   is also set against the outcome (mean P&L above vs below the factor's median).
3. **Backtest** (`backtest.runner.run`, the live path on a simulated clock, paper costs on:
   spread, commission): round trips by strategy and confidence bucket.

    .venv/bin/python scripts/calibrate_strategies.py [--data PATH] [--thresholds default|scaled]

`scaled` lowers the breakout and flow thresholds to what these quiet days offer (the values of
tests/strategies/test_replay_goog.py); `default` is the specification's numbers.
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import groupby, pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backtest.data import discover_days, load_data  # noqa: E402
from backtest.runner import backtest_settings  # noqa: E402
from backtest.runner import run as run_backtest  # noqa: E402
from bot.config import Settings, load_settings  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from market.calendar import NEW_YORK  # noqa: E402
from market.clock import SimClock  # noqa: E402
from market.data import Quote  # noqa: E402
from market.feeds.replay import ReplayDay, ReplayFeed  # noqa: E402
from strategies.base import Signal  # noqa: E402
from strategies.funnel import Funnel  # noqa: E402
from strategies.momentum_breakout import MomentumBreakoutConfig  # noqa: E402

NAMES = ("scalping", "momentum_breakout", "unusual_activity")
THRESHOLDS: dict[str, dict[str, dict[str, Any]]] = {
    "default": {name: {} for name in NAMES},
    "scaled": {
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
        "unusual_activity": {
            "window": "PT3H",
            "min_blocks": 1,
            "min_net_premium": 10_000,
            "full_net_premium": 100_000,
            "require_baseline": False,
            "pc_baseline": 1.0,
        },
    },
}
EDGES = (0.4, 0.5, 0.6, 0.7)
FACTOR = re.compile(r"(\w+)=([0-9.]+)")


@dataclass(frozen=True)
class Outcome:
    signal: Signal
    exit_price: float
    exit_kind: str
    pnl: float  # dollars per contract, costs included

    def factors(self) -> dict[str, float]:
        score = self.signal.reason.rsplit("score ", 1)[-1]
        return {k: float(v) for k, v in FACTOR.findall(score)}


def bucket(confidence: float) -> str:
    for lo, hi in pairwise(EDGES):
        if lo <= confidence < hi:
            return f"{lo:.1f}-{hi:.1f}"
    return f"<{EDGES[0]:.1f}" if confidence < EDGES[0] else f">={EDGES[-1]:.1f}"


BUCKETS = [bucket(EDGES[0] - 0.01)] + [bucket(e) for e in EDGES]


def follow(signal: Signal, bids: list[tuple[datetime, float]], commission: float) -> Outcome:
    deadline = signal.ts + signal.time_stop if signal.time_stop else None
    exit_price, kind = math.nan, "end of day"
    for ts, bid in bids:
        if ts <= signal.ts:
            continue
        exit_price = bid
        if signal.target is not None and bid >= signal.target:
            kind = "target"
            break
        if signal.stop is not None and bid <= signal.stop:
            kind = "stop"
            break
        if deadline is not None and ts >= deadline:
            kind = "time stop"
            break
    if math.isnan(exit_price):  # no later two-sided quote: out at the entry, costs paid
        exit_price, kind = signal.entry_limit, "no later bid"
    pnl = (exit_price - signal.entry_limit) * 100 - 2 * commission
    return Outcome(signal, exit_price, kind, pnl)


def breakout_funnel(closes: list[float], cfg: MomentumBreakoutConfig) -> tuple[Funnel, float]:
    """The breakout's first condition from the day's closes: bars evaluated, bars whose move
    over `window` reaches `min_move`; and the day's largest such move."""
    funnel = Funnel("bars", "move")
    largest = 0.0
    start = max(cfg.min_session_bars, cfg.window + 1)
    for i in range(start - 1, len(closes)):
        funnel.passed("bars")
        move = abs(closes[i] / closes[i - cfg.window] - 1.0)
        largest = max(largest, move)
        if move >= cfg.min_move:
            funnel.passed("move")
    return funnel, largest


@dataclass
class DayResult:
    day: date
    underlyings: list[str]
    funnels: dict[str, str]
    outcomes: list[Outcome]
    trades: list[Any]


def replay_day(
    settings: Settings,
    days: list[ReplayDay],
    commission: float,
) -> tuple[dict[str, str], list[Outcome]]:
    """Part 1 and 2: one replay through the bot, signals recorded and followed."""
    first = days[0].day
    clock = SimClock(datetime.combine(first, datetime.min.time(), NEW_YORK).astimezone(UTC))
    bot = build_bot(backtest_settings(settings), clock, run_tag="calibrate")
    signals: list[Signal] = []
    bot.engine.signal_listeners.append(signals.append)
    bids: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    feed = ReplayFeed(days, open_interest=bot.market.open_interest)
    for event in feed.events():
        clock.advance_to(event.ts)
        bot.engine.on_event(event)
        if isinstance(event, Quote) and event.bid > 0:
            bids[event.symbol].append((event.ts, event.bid))
    funnels: dict[str, str] = {}
    for guarded in bot.engine.strategies:
        strategy = guarded.strategy
        funnel = getattr(strategy, "funnel", None)
        if isinstance(funnel, Funnel):
            funnels[strategy.name] = funnel.summary()
        elif isinstance(strategy.config, MomentumBreakoutConfig):
            parts = []
            for und, bars in sorted(bot.market.bars.items()):
                f, largest = breakout_funnel([b.close for b in bars], strategy.config)
                parts.append(f"{und}: {f.summary()} (largest {largest:.2%})")
            funnels[strategy.name] = "; ".join(parts) or "no 1m bars"
    bot.engine.close_session()
    bot.close()
    return funnels, [follow(s, bids[s.symbol], commission) for s in signals]


def run_all(
    data: Path, thresholds: str, commission: float, backtest: bool = True
) -> list[DayResult]:
    base = load_settings(ROOT / "config" / "paper.toml")
    settings = base.model_copy(update={"strategies": THRESHOLDS[thresholds]})
    option_days = [d for d in discover_days(data) if d.quotes or d.trades]
    results = []
    for day, group in groupby(option_days, key=lambda d: d.day):
        days = list(group)
        unds = [d.underlying for d in days]
        print(f"... {day} {','.join(unds)}", file=sys.stderr, flush=True)
        funnels, outcomes = replay_day(settings, days, commission)
        trades = (
            run_backtest(settings, load_data(data, day, day, unds), run_tag="calib").trades
            if backtest
            else []
        )
        results.append(DayResult(day, unds, funnels, outcomes, trades))
    return results


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def print_report(results: list[DayResult]) -> None:
    print("## Funnel: candidates past each condition\n")
    print(_row(["day", "underlyings", "strategy", "funnel", "signals"]))
    print(_row(["---"] * 5))
    for r in results:
        for name in NAMES:
            n = sum(o.signal.strategy == name for o in r.outcomes)
            print(
                _row(
                    [
                        r.day.isoformat(),
                        ",".join(r.underlyings),
                        name,
                        r.funnels.get(name, "-"),
                        str(n),
                    ]
                )
            )
    outcomes = [o for r in results for o in r.outcomes]
    print("\n## Signals followed on the recorded quotes ($ per contract, costs in)\n")
    _bucket_table([(o.signal.strategy, o.signal.confidence, o.pnl) for o in outcomes])
    print("\n## Each factor against the outcome (signals followed)\n")
    print(
        _row(
            [
                "factor",
                "signals with it",
                "mean $ at or above median",
                "mean $ below",
                "correlation",
            ]
        )
    )
    print(_row(["---"] * 5))
    by_factor: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for o in outcomes:
        for k, v in o.factors().items():
            by_factor[k].append((v, o.pnl))
    for k, pairs in sorted(by_factor.items()):
        values = [v for v, _ in pairs]
        med = statistics.median(values)
        hi = [p for v, p in pairs if v >= med]
        lo = [p for v, p in pairs if v < med]
        corr = (
            statistics.correlation(values, [p for _, p in pairs])
            if len(pairs) > 2 and len(set(values)) > 1
            else math.nan
        )
        print(_row([k, str(len(pairs)), _mean(hi), _mean(lo), f"{corr:+.2f}"]))
    trades = [t for r in results for t in r.trades]
    print("\n## Backtest round trips (paper costs: spread, commission; $ per trade)\n")
    _bucket_table(
        [
            (t.strategy, t.confidence if t.confidence is not None else math.nan, t.net_pnl)
            for t in trades
        ]
    )
    print("\n## Signals\n")
    for o in outcomes:
        s = o.signal
        print(
            f"- {s.ts.astimezone(NEW_YORK):%Y-%m-%d %H:%M} {s.strategy} {s.symbol} conf "
            f"{s.confidence:.3f} entry {s.entry_limit:.2f} -> {o.exit_price:.2f} "
            f"({o.exit_kind}) ${o.pnl:+.2f}: {s.reason}"
        )


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):+.2f}" if values else "-"


def _bucket_table(rows: list[tuple[str, float, float]]) -> None:
    print(_row(["strategy", "confidence", "n", "hit rate", "mean net $"]))
    print(_row(["---"] * 5))
    table: dict[tuple[str, str], list[float]] = defaultdict(list)
    for name, confidence, pnl in rows:
        label = "unknown" if math.isnan(confidence) else bucket(confidence)
        table[(name, label)].append(pnl)
        table[("all", label)].append(pnl)
    order = [*BUCKETS, "unknown"]
    for (name, label), pnls in sorted(
        table.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))
    ):
        hits = sum(p > 0 for p in pnls)
        print(
            _row(
                [
                    name,
                    label,
                    str(len(pnls)),
                    f"{hits / len(pnls):.0%}",
                    f"{statistics.fmean(pnls):+.2f}",
                ]
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = ROOT.parent / "shared" / "data"
    parser.add_argument(
        "--data", type=Path, default=shared if shared.exists() else ROOT / "data" / "replay"
    )
    parser.add_argument("--thresholds", choices=sorted(THRESHOLDS), default="default")
    parser.add_argument("--commission", type=float, default=0.65)
    parser.add_argument("--no-backtest", action="store_true", help="Parts 1 and 2 only.")
    args = parser.parse_args()
    print(f"# Calibration: thresholds {args.thresholds}, data {args.data}\n")
    print_report(run_all(args.data, args.thresholds, args.commission, not args.no_backtest))


if __name__ == "__main__":
    main()
