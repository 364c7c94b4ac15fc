"""Multi-leg benchmark: what a combo costs on the one path, next to a single order.

Per call, over the bot's real AccountView and the default rule list (duplicate guard,
order-rate throttle and losing-streak cooldown off, so repeated round trips are not refused):
the risk check of a single-leg entry (the reference, `RiskManager.check`), of a 2-leg vertical
and of a 4-leg iron condor (`ComboGate.check`); then a round trip on the paper venue (open,
then close) — risk, store before send (parent and legs), venue fill of every leg, fills and
positions booked — for one single order and one vertical. Best of three runs and the spread
between runs (the machine is shared).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.wiring import build_bot  # noqa: E402
from brokers.multileg import Leg, MultiLegOrder  # noqa: E402
from brokers.orders import Intent, OrderRequest, OrderType, Side  # noqa: E402
from market.clock import SimClock  # noqa: E402
from market.data import Quote  # noqa: E402
from risk.rules.multileg import ComboGate  # noqa: E402
from tests.conftest import make_settings  # noqa: E402

T0 = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)
QUOTES = {"XYZ251219C00100000": (3.00, 3.20), "XYZ251219C00105000": (1.00, 1.10),
          "XYZ251219P00095000": (1.40, 1.50), "XYZ251219P00090000": (0.70, 0.75)}
C100, C105, P95, P90 = QUOTES
VERTICAL = (Leg(C100, Side.BUY), Leg(C105, Side.SELL))
CONDOR = (Leg(P90, Side.BUY), Leg(P95, Side.SELL), Leg(C100, Side.SELL), Leg(C105, Side.BUY))


def per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def best(fn: Callable[[], object], n: int) -> tuple[float, float]:
    runs = [per_call(fn, n) for _ in range(3)]
    return min(runs), max(runs) - min(runs)


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = make_settings(tmp, strategies={}, risk={
        "liquidity": {"min_volume": 0, "min_open_interest": 0},
        "account": {"duplicate_window_seconds": None, "max_orders_per_second": None,
                    "max_orders_per_minute": None, "losing_streak": None},
        "max_daily_loss_pct": 0.99,
        "max_concurrent_trades": 10_000, "options": {"max_contracts_per_underlying": None,
                                                     "max_premium_per_day_pct": None}})
    clock = SimClock(T0)
    bot = build_bot(settings, clock, run_tag="bench")
    for symbol, (bid, ask) in QUOTES.items():
        bot.engine.on_event(Quote(symbol, clock.now(), bid, ask, 10_000, 10_000, "XYZ"))
    ctx = bot.orders.ctx
    assert ctx is not None
    gate = ComboGate(bot.orders.risk)
    single = OrderRequest("b-1", C100, Side.BUY, 1, OrderType.LIMIT, 3.20, Intent.OPEN,
                          underlying="XYZ")
    vertical = MultiLegOrder("b-2", VERTICAL, 1, limit_price=2.20)
    condor = MultiLegOrder("b-3", CONDOR, 1, limit_price=-1.10)
    assert bot.orders.risk.check(single, ctx).approved
    for spec in (vertical, condor):
        verdict = gate.check(spec, ctx)
        assert verdict.approved, verdict.rejection
    rows = [("risk check, single-leg entry (reference)", best(
                lambda: bot.orders.risk.check(single, ctx), 5_000)),
            ("risk check, 2-leg vertical", best(lambda: gate.check(vertical, ctx), 5_000)),
            ("risk check, 4-leg iron condor", best(lambda: gate.check(condor, ctx), 5_000))]

    def single_round_trip() -> None:
        entry = bot.orders.submit(bot.orders.new_request(
            C100, Side.BUY, 1, intent=Intent.OPEN, limit_price=3.20, underlying="XYZ"))
        exit_ = bot.orders.submit(bot.orders.new_request(
            C100, Side.SELL, 1, intent=Intent.CLOSE, limit_price=3.00, underlying="XYZ"))
        assert entry.filled_quantity == exit_.filled_quantity == 1, (
            entry.status_reason, exit_.status_reason)

    def vertical_round_trip() -> None:
        entry = bot.orders.submit_combo(
            MultiLegOrder(bot.orders.ids.next(), VERTICAL, 1, limit_price=2.20))
        exit_ = bot.orders.submit_combo(entry.spec.reversed(bot.orders.ids.next()))
        assert entry.filled_quantity == exit_.filled_quantity == 1

    rows += [("open + close, single order (store + paper)", best(single_round_trip, 200)),
             ("open + close, 2-leg vertical (store + paper)", best(vertical_round_trip, 200))]
    print(f"{'path':<48} {'best us/call':>13} {'spread':>9}")
    for label, (value, spread) in rows:
        print(f"{label:<48} {value:>13.1f} {spread:>9.1f}")
    ratio = rows[1][1][0] / rows[0][1][0]
    print(f"\nvertical check / single check: {ratio:.1f}x; "
          f"median of the three checks {statistics.median(r[1][0] for r in rows[:3]):.1f} us")
    bot.close()


if __name__ == "__main__":
    main()
