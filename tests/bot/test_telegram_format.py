"""What a phone shows: short, correct numbers, and nothing Telegram's HTML parser chokes on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.control import Actor, ControlAPI, Role
from bot.telegram.format import format_outcome
from bot.wiring import Bot, build_bot
from brokers.orders import Intent, Side
from market.clock import SimClock
from market.data import Quote
from tests.conftest import make_settings

CALL = "GOOG151224C00750000"
TRADER = Actor("t", "2", "tom", Role.TRADER)
QUIET_RISK = {"disabled_rules": ["volume", "open_interest", "duplicate_order", "spread",
                                 "zero_dte_cutoff"]}


@pytest.fixture
def clock() -> SimClock:
    return SimClock(datetime(2015, 12, 24, 15, 0, tzinfo=UTC))


@pytest.fixture
def bot(clock: SimClock) -> Iterator[Bot]:
    the_bot = build_bot(make_settings(risk=QUIET_RISK), clock, run_tag="fmt")
    yield the_bot
    the_bot.close()


def show(api: ControlAPI, command: str) -> str:
    return format_outcome(api.execute(TRADER, command))


def test_positions_pnl_and_status_read_like_a_trader_expects(bot: Bot, clock: SimClock) -> None:
    api = ControlAPI(bot)
    clock.advance_to(clock.now() + timedelta(seconds=1))
    bot.engine.on_event(Quote(CALL, clock.now(), 1.9, 2.0, 50, 50, "GOOG"))
    bot.orders.submit(bot.orders.new_request(CALL, Side.BUY, 3, intent=Intent.OPEN,
                                             limit_price=2.0))
    clock.advance_to(clock.now() + timedelta(seconds=1))
    bot.engine.on_event(Quote(CALL, clock.now(), 1.5, 1.6, 50, 50, "GOOG"))
    positions = show(api, "positions")
    assert "GOOG 12/24 750C    +3   2.00   1.50" in positions
    assert "uPnL -150.00" in positions  # (1.50 − 2.00) × 3 × 100
    pnl = show(api, "pnl")
    # Fees 3 × 0.65 = 1.95; net = −150 − 1.95 = −151.95 = −0.15 % of 100,000.
    assert "Net -151.95 (-0.15%)" in pnl
    assert "Realized -1.95 (after fees 1.95)" in pnl
    assert "Daily-loss limit 3.0%: 5% used" in pnl
    # Bought at 2.00 with the market 1.90 x 2.00 when decided: the natural price, $0 saved.
    assert "<b>Vs crossing the spread</b>\n(manual): 3 ct +0.00 (+0.00/ct, 0% of spread), " \
        "1m n/a/ct" in pnl
    status = show(api, "status")
    assert "<b>ACTIVE</b>" in status and "Positions 1 · working orders 0" in status


def test_signals_show_what_became_of_them(bot: Bot, clock: SimClock) -> None:
    api = ControlAPI(bot)
    api.execute(TRADER, "pause")
    clock.advance_to(clock.now() + timedelta(seconds=1))
    bot.engine.on_event(Quote(CALL, clock.now(), 1.9, 2.0, 50, 50, "GOOG"))
    order = bot.orders.submit(bot.orders.new_request(CALL, Side.BUY, 1, intent=Intent.OPEN,
                                                     limit_price=2.0))
    bot.store.add_signal(clock.now(), "scalping", CALL, "buy_to_open", 0.8, 2.0, None, None,
                         "mid up 4% in 3 min <fast>", order.client_order_id)
    text = show(api, "signals")
    assert "scalping buy_to_open GOOG 12/24 750C @2.00 conf 0.80" in text
    assert "→ denied by trading_state" in text
    assert "&lt;fast&gt;" in text  # escaped for Telegram's HTML parser


def test_help_and_refusals(bot: Bot) -> None:
    api = ControlAPI(bot)
    helptext = show(api, "help")
    assert "/flatten [SYMBOL] — close every position, one contract, or every contract of an " \
           "underlying (asks to confirm)" in helptext
    assert "/kill" not in helptext
    assert show(api, "kill").startswith("🚫 /kill needs the admin role; you are trader.")


def test_admins_read_the_audit_log(bot: Bot) -> None:
    api = ControlAPI(bot)
    admin = Actor("t", "1", "ann", Role.ADMIN)
    api.execute(TRADER, "pause")
    api.execute(Actor("t", "9", "eve", None), "kill")
    assert format_outcome(api.execute(TRADER, "audit")).startswith("🚫 /audit needs the admin")
    text = format_outcome(api.execute(admin, "audit"))
    lines = text.splitlines()
    assert lines[0] == "<b>Latest commands</b> (newest first)"
    assert "✘" in lines[1] and "t:2 (tom): /audit → denied: /audit needs the admin" in lines[1]
    assert "✘" in lines[2] and "t:9 (eve): /kill → denied: Not authorized." in lines[2]
    assert "✔" in lines[3] and "t:2 (tom): /pause → done: Entries paused." in lines[3]
