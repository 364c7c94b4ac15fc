"""The bot's RiskContext over the real portfolio, order book, calendar and store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.account_view import AccountView
from bot.wiring import build_bot
from brokers.orders import Fill, Intent, OrderStatus, Side
from market.clock import SimClock
from tests.conftest import make_settings
from tests.risk.scenario import CALL, PUT, START, liven, quote


def view_of(bot) -> AccountView:
    assert isinstance(bot.orders.ctx, AccountView)
    return bot.orders.ctx


def test_working_orders_follow_the_book_as_orders_rest_fill_and_cancel(tmp_path):
    clock = SimClock(START)
    bot = build_bot(make_settings(tmp_path, strategies={}), clock, run_tag="v")
    view = view_of(bot)
    liven(bot, clock, CALL, PUT)
    resting = bot.orders.submit(bot.orders.new_request(CALL, Side.BUY, 1, intent=Intent.OPEN,
                                                       limit_price=9.00))
    filled = bot.orders.submit(bot.orders.new_request(PUT, Side.BUY, 1, intent=Intent.OPEN,
                                                      limit_price=10.00))
    assert filled.status is OrderStatus.FILLED
    view.begin_check()
    assert [o.client_order_id for o in view.working_orders()] == [resting.client_order_id]
    assert view.open_trade_count() == 2  # PUT held, CALL working
    bot.orders.cancel(resting.client_order_id)
    view.begin_check()
    assert view.working_orders() == []
    assert view.open_trade_count() == 1
    bot.close()


def test_session_premium_and_buying_power(tmp_path):
    clock = SimClock(START)
    bot = build_bot(make_settings(tmp_path, strategies={}), clock, run_tag="v")
    view = view_of(bot)
    session = view.session()
    assert session is not None and session.close == datetime(2015, 12, 24, 18, 0, tzinfo=UTC)
    liven(bot, clock, CALL)
    bot.orders.submit(bot.orders.new_request(CALL, Side.BUY, 2, intent=Intent.OPEN,
                                             limit_price=10.00))
    assert view.premium_opened_today() == 2_000.0
    assert view.buying_power == bot.portfolio.cash == 100_000.0 - 2_000.0 - 1.30
    view.reported_buying_power = 50_000.0
    assert view.buying_power == 50_000.0
    clock.advance_to(datetime(2015, 12, 25, 15, 0, tzinfo=UTC))  # Christmas: no session
    assert view.session() is None
    bot.close()


def test_pdt_window_counts_sessions_not_calendar_days(tmp_path):
    clock = SimClock(datetime(2015, 12, 31, 16, 0, tzinfo=UTC))
    bot = build_bot(make_settings(tmp_path, strategies={}), clock, run_tag="v")
    view = view_of(bot)
    # Sessions up to 2015-12-31: 24, 28, 29, 30, 31 (the 25th is a holiday).
    for i, day in enumerate([date(2015, 12, 23), date(2015, 12, 24), date(2015, 12, 28)]):
        ts = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=16)
        view.journal.record(Fill(f"b{i}", f"ob{i}", CALL, Side.BUY, 1, 1.0, ts))
        view.journal.record(Fill(f"s{i}", f"os{i}", CALL, Side.SELL, 1, 1.1, ts))
    assert view.day_trades_in_window(5) == 2  # the 23rd is six sessions back
    assert view.day_trades_in_window(6) == 3
    bot.close()


def test_journal_is_rebuilt_from_stored_fills_after_a_restart(tmp_path):
    settings = make_settings(tmp_path, strategies={})
    clock = SimClock(START)
    bot = build_bot(settings, clock, run_tag="one")
    liven(bot, clock, CALL)
    for minute in range(3):  # three losing round trips
        quote(bot, clock, CALL, 9.90, 10.00, at=START + timedelta(minutes=minute))
        bot.orders.submit(bot.orders.new_request(CALL, Side.BUY, 1, intent=Intent.OPEN,
                                                 limit_price=10.00))
        bot.orders.submit(bot.orders.new_request(CALL, Side.SELL, 1, intent=Intent.CLOSE,
                                                 limit_price=9.90))
    assert view_of(bot).losing_streak().losses == 3
    bot.close()
    again = build_bot(settings, SimClock(START + timedelta(minutes=5)), run_tag="two")
    streak = view_of(again).losing_streak()
    assert streak.losses == 3 and streak.last_loss_at == START + timedelta(minutes=2)
    assert view_of(again).premium_opened_today() == 3_000.0
    again.close()


def test_greeks_limit_works_in_the_bot_with_greeks_from_quotes(tmp_path):
    from market.data import Quote

    settings = make_settings(tmp_path, strategies={},
                             risk={"greeks": {"max_abs_delta_dollars": 150_000}})
    clock = SimClock(START)
    bot = build_bot(settings, clock, run_tag="g")
    bot.engine.on_event(Quote("GOOG", clock.now(), 749.9, 750.1, 100, 100))
    liven(bot, clock, CALL)  # 750 strike, a week out, 9.95 mid: delta about 0.5
    order = bot.orders.submit(bot.orders.new_request(CALL, Side.BUY, 5, intent=Intent.OPEN,
                                                     limit_price=10.00))
    # Each contract adds about 0.5 x 100 x 750 = 37,500 delta dollars: 3 fit under 150,000.
    assert order.status is OrderStatus.FILLED and order.request.quantity in (3, 4)
    decisions = bot.store.load_risk_decisions(5)
    assert any(d["rule"] == "greeks" and d["decision"] == "resize" for d in decisions)
    bot.close()
