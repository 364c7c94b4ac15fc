"""The risk view keeps its sums (open positions, working orders, exposure, open trades,
equity) across checks and rebuilds them only when the portfolio or the order book moves, or a
held contract is quoted (decision 0355). These tests drive the real bot through random
sequences of entries, exits, quotes, cancels and restores, and after every step compare each
kept figure with the same figure recomputed from scratch: a change that forgot to move a
version would show up here as a stale figure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.account_view import AccountView
from bot.reconcile import restore
from bot.wiring import Bot, build_bot
from brokers.orders import Fill, Intent, Side
from market.clock import SimClock
from market.data import Quote
from market.state import MarketState
from risk.exposure import Exposure
from risk.members import OPEN
from tests.conftest import make_settings
from tests.risk.scenario import CALL, PUT, START, liven, quote

OTHER = "GOOG160115C00760000"
UNIVERSE = [CALL, PUT, OTHER]
LOOSE: dict[str, Any] = {
    "max_concurrent_trades": 50,
    "max_position_pct": 1.0,
    "max_daily_loss_pct": 0.9,
    "account": {
        "duplicate_window_seconds": None,
        "max_orders_per_second": None,
        "max_orders_per_minute": None,
        "pdt_equity_threshold": None,
        "losing_streak": None,
    },
}

symbol = st.integers(0, len(UNIVERSE) - 1)
step = st.one_of(
    # (kind, symbol, quantity, price offset): an offset of 0 crosses the spread, below rests.
    st.tuples(st.just("buy"), symbol, st.integers(1, 4), st.sampled_from([0.0, -0.5, -2.0])),
    st.tuples(st.just("market_buy"), symbol, st.integers(1, 3), st.just(0.0)),
    st.tuples(st.just("sell"), symbol, st.integers(1, 4), st.sampled_from([0.0, 0.5])),
    st.tuples(st.just("quote"), symbol, st.just(0), st.floats(-3.0, 3.0)),
    st.tuples(st.just("cancel"), st.integers(0, 5), st.just(0), st.just(0.0)),
    st.tuples(st.just("restore"), st.just(0), st.just(0), st.just(0.0)),
)


def view_of(bot: Bot) -> AccountView:
    assert isinstance(bot.orders.ctx, AccountView)
    return bot.orders.ctx


def assert_same_exposure(kept: Exposure, scratch: Exposure) -> None:
    """Equal figures; money sums to the last bits only, as the kept book may add the same
    positions in another order (the portfolio's index of held positions)."""
    assert dict(kept.held) == dict(scratch.held)
    assert kept.contracts_by_underlying == scratch.contracts_by_underlying
    assert kept.signed_by_symbol == scratch.signed_by_symbol
    assert kept.entry_cost == pytest.approx(scratch.entry_cost, rel=1e-12, abs=1e-9)
    for name in ("cost_by_symbol", "cost_by_expiry"):
        a, b = getattr(kept, name), getattr(scratch, name)
        assert a.keys() == b.keys() and all(
            a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-9) for k in a
        ), name


def assert_matches_scratch(bot: Bot, view: AccountView) -> None:
    """Every kept figure equals its recomputation from the portfolio, the order book and the
    quotes, read inside a check (as the rules do) and outside one."""
    held = {s: p for s, p in bot.portfolio.positions.items() if p.quantity}
    working = bot.orders.open_orders()
    equity = bot.portfolio.cash + bot.portfolio.market_value(bot.market.quotes, True)
    pending = {
        o.request.parent_id or o.request.symbol
        for o in working
        if o.request.intent is OPEN and o.request.symbol not in held
    }
    spreads = bot.orders.combos.spreads_held(held)
    trades = len(held) - sum(len(c.spec.legs) - 1 for c in spreads) + len(pending)
    for inside in (True, False):
        if inside:
            view.begin_check()
        try:
            assert dict(view.positions()) == held
            assert list(view.working_orders()) == working
            assert_same_exposure(view.exposure(), Exposure.over(held, working, view))
            assert view.open_trade_count() == trades
            assert view.equity == pytest.approx(equity, rel=1e-12, abs=1e-9)
        finally:
            if inside:
                view.end_check()


def play(bot: Bot, clock: SimClock, kind: str, ix: int, qty: int, move: float) -> None:
    sym = UNIVERSE[ix % len(UNIVERSE)]
    q = bot.market.quote(sym)
    assert q is not None
    if kind == "buy":
        bot.orders.submit(
            bot.orders.new_request(
                sym, Side.BUY, qty, intent=Intent.OPEN, limit_price=round(q.ask + move, 2)
            )
        )
    elif kind == "market_buy":  # a working buy priced at the ask: its cost moves with quotes
        bot.orders.submit(
            bot.orders.new_request(sym, Side.BUY, qty, intent=Intent.OPEN, limit_price=None)
        )
    elif kind == "sell":
        held = bot.portfolio.quantity(sym)
        if held > 0:
            bot.orders.submit(
                bot.orders.new_request(
                    sym,
                    Side.SELL,
                    min(qty, held),
                    intent=Intent.CLOSE,
                    limit_price=round(q.bid + move, 2),
                )
            )
    elif kind == "quote":
        bid = max(0.5, round(q.bid + move, 2))
        quote(bot, clock, sym, bid, round(bid + 0.10, 2), at=clock.now() + timedelta(seconds=1))
    elif kind == "cancel":
        working = bot.orders.open_orders()
        if working:
            bot.orders.cancel(working[ix % len(working)].client_order_id)
    else:  # the books reloaded from the store, as at start-up
        restore(bot.store, bot.orders, bot.portfolio)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=25))
def test_kept_figures_always_equal_a_recomputation_from_scratch(steps):
    clock = SimClock(START)
    bot = build_bot(make_settings(strategies={}, risk=LOOSE), clock, run_tag="agg")
    try:
        view = view_of(bot)
        liven(bot, clock, *UNIVERSE)
        assert_matches_scratch(bot, view)
        for kind, ix, qty, move in steps:
            play(bot, clock, kind, ix, qty, move)
            assert_matches_scratch(bot, view)
    finally:
        bot.close()


def test_a_held_contract_quote_re_marks_equity_and_others_do_not():
    clock = SimClock(START)
    bot = build_bot(make_settings(strategies={}), clock, run_tag="agg")
    view = view_of(bot)
    liven(bot, clock, CALL, PUT)
    bot.orders.submit(
        bot.orders.new_request(CALL, Side.BUY, 2, intent=Intent.OPEN, limit_price=10.00)
    )
    before = view.equity
    assert bot.market.watched == frozenset({CALL})
    seen = bot.market.watched_quotes
    quote(bot, clock, PUT, 1.00, 1.10)  # not held: equity unchanged, count unmoved
    assert bot.market.watched_quotes == seen and view.equity == before
    quote(bot, clock, CALL, 8.90, 9.00)  # held: 2 x 100 x (9.90 - 8.90) less
    assert bot.market.watched_quotes == seen + 1
    assert view.equity == before - 200.0
    bot.close()


def test_portfolio_restore_and_fills_move_the_views_figures():
    clock = SimClock(START)
    bot = build_bot(make_settings(strategies={}), clock, run_tag="agg")
    view = view_of(bot)
    liven(bot, clock, CALL)
    start = view.equity
    fill = Fill("f1", "x1", CALL, Side.BUY, 1, 10.0, START, 0.0, "GOOG")
    bot.portfolio.commit(fill, bot.portfolio.preview(fill))
    assert CALL in view.positions() and view.exposure().cost_by_symbol[CALL] == 1_000.0
    assert view.equity == start - 1_000.0 + 990.0  # paid 10.00, marked at the 9.90 bid
    bot.portfolio.restore([], 50_000.0)
    assert dict(view.positions()) == {} and view.equity == 50_000.0
    bot.close()


def test_market_watch_counts_only_watched_symbols():
    market = MarketState()
    market.watch(frozenset({CALL}))
    seen = market.watched_quotes
    market.on_quote(Quote(PUT, START, 1.0, 1.1, 1, 1))
    assert market.watched_quotes == seen
    market.on_quote(Quote(CALL, START, 1.0, 1.1, 1, 1))
    assert market.watched_quotes == seen + 1
    market.watch(frozenset())  # a new set: whatever was marked over the old one is stale
    assert market.watched_quotes == seen + 2
    market.on_quote(Quote(CALL, START, 1.0, 1.1, 1, 1))
    assert market.watched_quotes == seen + 2


def test_a_fill_rebuilds_the_views_sums_in_its_handler_not_in_the_next_check():
    clock = SimClock(START)
    greeks = {"max_abs_delta_dollars": 10**9, "on_unknown": "ignore"}
    bot = build_bot(make_settings(strategies={}, risk={"greeks": greeks}), clock, run_tag="agg")
    view = view_of(bot)
    liven(bot, clock, CALL)
    bot.orders.submit(
        bot.orders.new_request(CALL, Side.BUY, 2, intent=Intent.OPEN, limit_price=10.00)
    )
    book = view._book  # rebuilt by the fill's handler, before any further check
    assert book is not None and CALL in book.held
    assert (book.portfolio_version, book.orders_version) == (
        bot.portfolio.version,
        bot.orders.version,
    )
    assert bot.risk.rule("greeks")._last.exposure is book.exposure  # summed by `warm` too
    view.begin_check()
    assert view.exposure() is book.exposure  # the check reads it as it is
    view.end_check()
    bot.close()
