"""Broker adapters benchmark (issue 8): what our layer costs on top of the client libraries.

1. Translation: one Alpaca trade-updates fill event parsed by alpaca-py (`TradeUpdate(**msg)`,
   the peer) versus parsed and translated to our `OrderUpdate` (`alpaca_map.order_update`); one
   IB trade status and execution translated (`ibkr_map.status_of` + `ibkr_map.fill`).
2. Round trip, order sent → fill recorded in the bot's store, against the local fakes on
   127.0.0.1: our AlpacaBroker (thread hop, timeout, retry wrapper, trade-updates stream) versus
   the bare alpaca-py `submit_order` call on the same fake (the peer: the least any adapter can
   cost), and our IbkrBroker versus bare ib_async `placeOrder` → `filledEvent`. The paper venue
   (in-process) is the floor.
Figures only; nothing here asserts on time.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alpaca.trading.models import TradeUpdate  # noqa: E402
from ib_async import (  # noqa: E402
    IB,
    CommissionReport,
    Execution,
    LimitOrder,
    Option,
    OrderStatus,
    Trade,
)
from ib_async import Fill as IbFill  # noqa: E402

from brokers import alpaca_map, ibkr_map  # noqa: E402
from brokers.alpaca import AlpacaBroker  # noqa: E402
from brokers.alpaca_config import AlpacaConfig  # noqa: E402
from brokers.base import Broker  # noqa: E402
from brokers.ibkr import IbkrBroker  # noqa: E402
from brokers.ibkr_config import IbkrConfig  # noqa: E402
from brokers.orders import Fill, Order  # noqa: E402
from brokers.orders import OrderStatus as Ours  # noqa: E402
from brokers.paper import PaperBroker, PaperConfig  # noqa: E402
from market.clock import SimClock  # noqa: E402
from market.data import Quote  # noqa: E402
from tests.integration.broker_helpers import OPTION, bot_for, buy, sim_clock  # noqa: E402
from tests.integration.fakes.alpaca import KEY, SECRET, FakeAlpaca, fixture  # noqa: E402
from tests.integration.fakes.ib import FakeTws  # noqa: E402

N_PARSE = 5_000
N_ORDERS = 150


def per_call_us(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - start) / n / 1000


def translation() -> None:
    event = fixture("WS_stream_trade_updates")["events"][1]["data"]
    raw = json.dumps({"stream": "trade_updates", "data": event})
    peer = per_call_us(lambda: TradeUpdate(**json.loads(raw)["data"]), N_PARSE)
    parsed = TradeUpdate(**event)
    ours = per_call_us(lambda: alpaca_map.order_update(parsed), N_PARSE)
    print(f"alpaca fill event: alpaca-py JSON + model parse {peer:.1f} µs (peer); "
          f"our translation to OrderUpdate+Fill {ours:.1f} µs")
    contract = Option("AAPL", "20250620", 100.0, "C", "SMART", multiplier="100", conId=7)
    trade = Trade(contract, LimitOrder("BUY", 2, 1.0, orderRef="tf-1", permId=9),
                  OrderStatus(status="Submitted", filled=1, remaining=1), [], [])
    fill = IbFill(contract, Execution(execId="e1", time=datetime.now(UTC), side="BOT",
                                      shares=1.0, price=1.0, cumQty=1.0, orderRef="tf-1"),
                  CommissionReport(commission=0.65), datetime.now(UTC))
    ib_us = per_call_us(lambda: (ibkr_map.status_of(trade), ibkr_map.fill(fill, "tf-1")),
                        N_PARSE)
    print(f"ib status + execution translation: {ib_us:.1f} µs")


def summary(label: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"{label:<44} p50 {statistics.median(samples):7.2f} ms   p99 {p99:7.2f} ms   "
          f"(n={len(samples)})")


async def round_trip(broker: Broker, clock: SimClock) -> list[float]:
    bot = bot_for(broker, Path(tempfile.mkdtemp(prefix="tf-bench-")), clock)
    if isinstance(broker, PaperBroker):
        broker.on_quote(Quote(OPTION, clock.now(), 0.95, 1.05, 10_000, 10_000, "AAPL"))
    else:
        await broker.connect()
    done = asyncio.Event()  # set by the fill path itself: no busy polling stealing the GIL

    def on_fill(_fill: Fill, order: Order | None) -> None:
        if order is not None and order.status is Ours.FILLED:
            done.set()

    bot.orders.fill_listeners.append(on_fill)
    out = []
    for _ in range(N_ORDERS):
        done.clear()
        start = time.perf_counter()
        buy(bot, 1, 1.05)
        await asyncio.wait_for(done.wait(), 10)
        out.append((time.perf_counter() - start) * 1000)
    if not isinstance(broker, PaperBroker):
        await broker.close()
    bot.close()
    return out


async def bare_alpaca(fake: FakeAlpaca) -> list[float]:
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import LimitOrderRequest

    client = TradingClient(KEY, SECRET, url_override=fake.url)
    out = []
    for i in range(N_ORDERS):
        start = time.perf_counter()
        req = LimitOrderRequest(symbol=OPTION, qty=1, side=OrderSide.BUY, limit_price=1.05,
                                time_in_force=TimeInForce.DAY, client_order_id=f"bare-{i}")
        await asyncio.to_thread(client.submit_order, req)  # the fake fills before answering
        out.append((time.perf_counter() - start) * 1000)
    return out


async def bare_ib(fake: FakeTws) -> list[float]:
    ib = IB()
    await ib.connectAsync("127.0.0.1", fake.port, clientId=99, timeout=5)
    contract = Option("AAPL", "20250620", 100.0, "C", "SMART", multiplier="100", currency="USD")
    await ib.qualifyContractsAsync(contract)  # fills in the conId
    out = []
    for i in range(N_ORDERS):
        start = time.perf_counter()
        trade = ib.placeOrder(contract, LimitOrder("BUY", 1, 1.05, orderRef=f"bare-{i}"))
        await asyncio.wait_for(trade.filledEvent, 10)
        out.append((time.perf_counter() - start) * 1000)
    ib.disconnect()
    return out


async def main() -> None:
    translation()
    clock = sim_clock()
    paper = PaperBroker(clock, PaperConfig())
    summary("paper venue (in-process floor)", await round_trip(paper, clock))

    fake = await FakeAlpaca(options_buying_power=1e9).start()
    summary("alpaca-py bare submit_order (peer)", await bare_alpaca(fake))
    config = AlpacaConfig(api_key=KEY, secret_key=SECRET, trading_url=fake.url,
                          stream_url=fake.stream_url)
    summary("AlpacaBroker submit → fill in store", await round_trip(
        AlpacaBroker(config, clock), clock))
    await fake.stop()

    tws = await FakeTws().start()
    tws.option("AAPL", "20250620", 100.0, "C")
    summary("ib_async bare placeOrder → Filled (peer)", await bare_ib(tws))
    ib_config = IbkrConfig(port=tws.port, commission_wait_seconds=0.5)
    summary("IbkrBroker submit → fill in store", await round_trip(
        IbkrBroker(ib_config, clock), clock))
    await tws.stop()


if __name__ == "__main__":
    asyncio.run(main())
