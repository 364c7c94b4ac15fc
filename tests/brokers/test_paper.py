"""The paper venue's fill model, costs and ledger, on hand-made quotes with known answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from brokers.orders import (
    Intent,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
)
from brokers.paper import PaperBroker, PaperConfig
from market.clock import SimClock
from market.data import Quote, Trade

SYM = "XYZ251219C00100000"
T0 = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)


def venue(**cfg: object) -> tuple[PaperBroker, SimClock, list[OrderUpdate]]:
    clock = SimClock(T0)
    broker = PaperBroker(clock, PaperConfig(**cfg))  # type: ignore[arg-type]
    updates: list[OrderUpdate] = []
    broker.set_listener(updates.append)
    return broker, clock, updates


def order(cid: str, side: Side, qty: int, limit: float | None = None,
          kind: OrderType = OrderType.LIMIT) -> Order:
    return Order(OrderRequest(cid, SYM, side, qty, kind, limit, Intent.OPEN), T0)


def q(bid: float, ask: float, bsz: int = 10, asz: int = 10, at: int = 0) -> Quote:
    return Quote(SYM, T0 + timedelta(seconds=at), bid, ask, bsz, asz, "XYZ")


def fills(updates: list[OrderUpdate]) -> list[tuple[int, float]]:
    return [(u.fill.quantity, u.fill.price) for u in updates if u.fill is not None]


def test_market_buy_fills_at_the_ask_never_the_mid() -> None:
    broker, _, updates = venue()
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.BUY, 3, kind=OrderType.MARKET))
    assert fills(updates) == [(3, 2.20)]
    assert updates[-1].status is OrderStatus.FILLED


def test_market_sell_fills_at_the_bid() -> None:
    broker, _, updates = venue()
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.SELL, 2, kind=OrderType.MARKET))
    assert fills(updates) == [(2, 2.00)]


def test_marketable_limit_fills_at_the_far_side_not_the_limit() -> None:
    broker, _, updates = venue()
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.BUY, 1, limit=2.50))
    assert fills(updates) == [(1, 2.20)]


def test_limit_inside_the_spread_rests_until_the_market_reaches_it() -> None:
    broker, _, updates = venue()
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.BUY, 1, limit=2.10))
    assert fills(updates) == []
    broker.on_quote(q(2.00, 2.15, at=60))  # ask still above the limit
    assert fills(updates) == []
    broker.on_quote(q(1.95, 2.10, at=120))  # ask reaches the limit
    assert fills(updates) == [(1, 2.10)]


def test_resting_limit_fills_at_its_price_when_a_trade_prints_through_it() -> None:
    broker, _, updates = venue()
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.BUY, 5, limit=2.05))
    broker.on_trade(Trade(SYM, T0 + timedelta(seconds=30), 2.06, 4))  # above: no fill
    assert fills(updates) == []
    broker.on_trade(Trade(SYM, T0 + timedelta(seconds=40), 2.04, 3))
    assert fills(updates) == [(3, 2.05)]
    assert updates[-1].status is OrderStatus.PARTIALLY_FILLED


def test_quantity_beyond_displayed_size_fills_over_later_quotes() -> None:
    broker, _, updates = venue()
    broker.on_quote(q(2.00, 2.20, asz=4))
    broker.submit(order("a", Side.BUY, 10, kind=OrderType.MARKET))
    assert fills(updates) == [(4, 2.20)]
    broker.on_quote(q(2.05, 2.25, asz=3, at=60))
    broker.on_quote(q(2.05, 2.30, asz=50, at=120))
    assert fills(updates) == [(4, 2.20), (3, 2.25), (3, 2.30)]
    assert updates[-1].status is OrderStatus.FILLED


def test_commission_and_fees_per_contract_are_charged_on_every_fill() -> None:
    broker, _, updates = venue(commission_per_contract=0.65, fees_per_contract=0.05)
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.BUY, 3, kind=OrderType.MARKET))
    fill = updates[-1].fill
    assert fill is not None and fill.commission == pytest.approx(3 * 0.70)
    # cash: 100,000 - 3 * 2.20 * 100 - 2.10
    assert broker.cash == pytest.approx(100_000 - 660 - 2.10)


def test_slippage_moves_marketable_fills_against_us() -> None:
    broker, _, updates = venue(slippage=0.02)
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.BUY, 1, kind=OrderType.MARKET))
    broker.submit(order("b", Side.SELL, 1, kind=OrderType.MARKET))
    assert fills(updates) == [(1, 2.22), (1, 1.98)]


def test_latency_delays_the_fill_to_the_first_quote_after_it() -> None:
    broker, _clock, updates = venue(latency=timedelta(seconds=1))
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.BUY, 1, kind=OrderType.MARKET))
    assert fills(updates) == []
    broker.on_quote(q(2.10, 2.30, at=0))  # still inside the latency window
    assert fills(updates) == []
    broker.on_quote(q(2.10, 2.40, at=2))
    assert fills(updates) == [(1, 2.40)]


@pytest.mark.parametrize("quotes", [[], [q(2.30, 2.20)]], ids=["no quote", "crossed"])
def test_rejects_orders_without_a_usable_quote(quotes: list[Quote]) -> None:
    broker, _, updates = venue()
    for quote in quotes:
        broker.on_quote(quote)
    broker.submit(order("a", Side.BUY, 1, kind=OrderType.MARKET))
    assert updates[-1].status is OrderStatus.REJECTED
    assert "no quote" in updates[-1].reason


def test_duplicate_client_order_id_is_refused_not_executed_twice() -> None:
    broker, _, updates = venue()
    broker.on_quote(q(2.00, 2.20))
    broker.submit(order("a", Side.BUY, 1, kind=OrderType.MARKET))
    broker.submit(order("a", Side.BUY, 1, kind=OrderType.MARKET))
    assert len(fills(updates)) == 1
    assert updates[-1].status is OrderStatus.REJECTED


@pytest.mark.parametrize(("und", "expected_price"), [(103.5, 3.5), (98.0, 0.0)],
                         ids=["ITM exercised", "OTM worthless"])
def test_expiring_options_settle_at_intrinsic_at_the_close(und: float,
                                                          expected_price: float) -> None:
    sym = "XYZ251201C00100000"  # expires on the session day
    clock = SimClock(T0)
    broker = PaperBroker(clock, PaperConfig())
    updates: list[OrderUpdate] = []
    broker.set_listener(updates.append)
    broker.on_quote(Quote(sym, T0, 1.0, 1.1, 5, 5, "XYZ"))
    broker.submit(Order(OrderRequest("a", sym, Side.BUY, 2, OrderType.MARKET), T0))
    clock.advance_to(datetime.combine(date(2025, 12, 1), datetime.min.time(), UTC)
                     + timedelta(hours=21))
    broker.expire_session({"XYZ": und})
    settle = updates[-1].fill
    assert settle is not None and settle.side is Side.SELL and settle.quantity == 2
    assert settle.price == expected_price
    assert asyncio.run(broker.fetch_positions()) == []
    assert broker.cash == pytest.approx(100_000 - 2 * 110 - 1.30 + 2 * 100 * expected_price)


def test_ledger_survives_a_restart_and_keeps_working_orders(tmp_path: Path) -> None:
    path = str(tmp_path / "ledger.db")
    clock = SimClock(T0)
    first = PaperBroker(clock, PaperConfig(ledger_path=path))
    first.on_quote(q(2.00, 2.20))
    first.submit(order("a", Side.BUY, 1, kind=OrderType.MARKET))
    first.submit(order("b", Side.BUY, 1, limit=1.50))  # rests
    second = PaperBroker(clock, PaperConfig(ledger_path=path))
    updates: list[OrderUpdate] = []
    second.set_listener(updates.append)
    assert [o.client_order_id for o in asyncio.run(second.fetch_open_orders())] == ["b"]
    assert len(asyncio.run(second.fetch_fills())) == 1
    second.on_quote(q(1.40, 1.50, at=60))
    assert fills(updates) == [(1, 1.50)]
    pos = asyncio.run(second.fetch_positions())
    assert [(p.symbol, p.quantity, round(p.average_price, 4)) for p in pos] == [(SYM, 2, 1.85)]
