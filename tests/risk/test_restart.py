"""Invariant 4: the daily-loss breaker survives a restart. Breach the daily loss with a
file-backed store, rebuild the bot from the same files as the daemon does, and an entry is
still denied while an exit goes through."""

from __future__ import annotations

from datetime import timedelta

from bot.events import Notice
from bot.reconcile import reconcile, restore
from bot.wiring import build_bot
from brokers.orders import Intent, OrderStatus, Side
from market.clock import SimClock
from risk.state import TradingState
from tests.conftest import make_settings
from tests.risk.scenario import CALL, PUT, START, liven, quote


async def test_breaker_latch_survives_a_restart_entries_denied_exits_allowed(tmp_path):
    settings = make_settings(tmp_path, strategies={})
    clock = SimClock(START)
    bot = build_bot(settings, clock, run_tag="one")
    notices: list[Notice] = []
    bot.bus.subscribe(notices.append)
    liven(bot, clock, CALL, PUT)
    assert bot.control.start_of_day_equity == 100_000.0
    entry = bot.orders.submit(
        bot.orders.new_request(CALL, Side.BUY, 5, intent=Intent.OPEN, limit_price=10.00)
    )
    assert entry.status is OrderStatus.FILLED
    # The call collapses: 5 x (10.00 - 3.00) x 100 = 3,500 plus fees, more than 3% of 100k.
    quote(bot, clock, CALL, 3.00, 3.10, at=START + timedelta(minutes=5))
    assert bot.control.state is TradingState.REDUCING
    assert any(n.kind == "state_changed" and n.priority == 2 for n in notices)
    await bot.broker.close()
    bot.close()

    clock = SimClock(START + timedelta(minutes=30))
    again = build_bot(settings, clock, run_tag="two")
    told: list[Notice] = []
    again.bus.subscribe(told.append)
    restore(again.store, again.orders, again.portfolio)
    report = await reconcile(again.store, again.broker, again.orders, again.portfolio)
    assert report.clean, report.lines()
    assert again.control.state is TradingState.REDUCING
    assert again.portfolio.quantity(CALL) == 5
    liven(again, clock, PUT)
    quote(again, clock, CALL, 3.00, 3.10)
    assert again.control.state is TradingState.REDUCING  # same session: still latched

    denied = again.orders.submit(
        again.orders.new_request(PUT, Side.BUY, 1, intent=Intent.OPEN, limit_price=10.00)
    )
    assert denied.status is OrderStatus.DENIED
    assert denied.status_reason.startswith("trading_state:")
    stored = again.store.load_risk_decisions(5)
    assert stored[0]["rule"] == "trading_state" and stored[0]["decision"] == "reject"
    denials = again.metrics.risk_denials.labels("trading_state")._value.get()
    assert denials == 1  # counted
    assert any(n.kind == "order_denied" and "[trading_state]" in n.text for n in told)  # told

    exit_order = again.orders.submit(
        again.orders.new_request(CALL, Side.SELL, 5, intent=Intent.CLOSE, limit_price=3.00)
    )
    assert exit_order.status is OrderStatus.FILLED
    assert again.portfolio.quantity(CALL) == 0
    await again.broker.close()
    again.close()


async def test_next_session_releases_the_breaker(tmp_path):
    settings = make_settings(tmp_path, strategies={})
    clock = SimClock(START)
    bot = build_bot(settings, clock, run_tag="one")
    liven(bot, clock, CALL)
    bot.control.set_state(TradingState.REDUCING, "daily loss", clock.now(), by_breaker=True)
    await bot.broker.close()
    bot.close()

    monday = SimClock(START + timedelta(days=4))  # 2015-12-28, the next session
    again = build_bot(settings, monday, run_tag="two")
    assert again.control.state is TradingState.REDUCING
    liven(again, monday, CALL)
    assert again.control.state is TradingState.ACTIVE
    assert again.control.session_day == "2015-12-28"
    await again.broker.close()
    again.close()


async def test_order_rate_and_duplicate_windows_survive_a_restart(tmp_path):
    """The throttle and the duplicate guard are rebuilt from the stored orders at start-up: a
    restart inside their windows does not let a duplicate or an extra order through."""
    other = "GOOG151231C00760000"
    settings = make_settings(
        tmp_path,
        strategies={},
        risk={
            "liquidity": {"max_quote_age_seconds": 120},
            "account": {
                "max_orders_per_second": None,
                "max_orders_per_minute": 2,
                "duplicate_window_seconds": 30,
            },
        },
    )
    clock = SimClock(START)
    bot = build_bot(settings, clock, run_tag="one")
    liven(bot, clock, CALL, PUT)
    for symbol in (CALL, PUT):
        sent = bot.orders.submit(
            bot.orders.new_request(symbol, Side.BUY, 1, intent=Intent.OPEN, limit_price=10.00)
        )
        assert sent.status is OrderStatus.FILLED
    await bot.broker.close()
    bot.close()

    clock = SimClock(START + timedelta(seconds=10))
    again = build_bot(settings, clock, run_tag="two")
    restore(again.store, again.orders, again.portfolio)
    liven(again, clock, CALL, other)

    duplicate = again.orders.submit(
        again.orders.new_request(CALL, Side.BUY, 1, intent=Intent.OPEN, limit_price=10.00)
    )
    assert duplicate.status is OrderStatus.DENIED
    assert duplicate.status_reason.startswith("duplicate_order:")
    third = again.orders.submit(
        again.orders.new_request(other, Side.BUY, 1, intent=Intent.OPEN, limit_price=10.00)
    )
    assert third.status is OrderStatus.DENIED
    assert third.status_reason.startswith("order_rate: 2 orders in the last minute")

    quote(again, clock, other, 9.90, 10.00, at=START + timedelta(seconds=61))  # window passed
    later = again.orders.submit(
        again.orders.new_request(other, Side.BUY, 1, intent=Intent.OPEN, limit_price=10.00)
    )
    assert later.status is OrderStatus.FILLED
    await again.broker.close()
    again.close()
