"""ControlAPI: roles, confirmations, audit, and that every action goes through the real books."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.control import (
    AccessList,
    Actor,
    ControlAPI,
    Outcome,
    Role,
    Status,
    restore_strategy_switches,
)
from bot.control_report import ReportView, render_equity_png, round_trips
from bot.control_views import PnlView, PositionsView, StatusView
from bot.wiring import Bot, build_bot
from brokers.orders import Fill, Intent, OrderStatus, Side
from market.clock import SimClock
from market.data import Quote
from risk.state import TradingState
from tests.conftest import make_settings

CALL = "GOOG151224C00750000"
PUT = "GOOG151224P00740000"
ADMIN = Actor("test", "1", "ann", Role.ADMIN)
TRADER = Actor("test", "2", "tom", Role.TRADER)
VIEWER = Actor("test", "3", "vic", Role.VIEWER)
STRANGER = Actor("test", "666", "eve", None)
# Market-quality rules need a traded, liquid contract; these tests are about control, so the
# hand-made quotes skip them. The state gate and the sizing limits stay on.
QUIET_RISK = {"disabled_rules": ["volume", "open_interest", "duplicate_order", "spread",
                                 "zero_dte_cutoff"]}


class Ticker:
    """A monotonic clock the test moves by hand (confirmation deadlines)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def sim_clock() -> SimClock:
    # Mid-session: clear of the opening minutes in which risk refuses entries.
    return SimClock(datetime(2015, 12, 24, 15, 0, tzinfo=UTC))


@pytest.fixture
def mem_bot(sim_clock: SimClock) -> Iterator[Bot]:
    bot = build_bot(make_settings(risk=QUIET_RISK), sim_clock, run_tag="test")
    yield bot
    bot.close()


@pytest.fixture
def api(mem_bot: Bot, ticker: Ticker) -> ControlAPI:
    return ControlAPI(mem_bot, confirm_seconds=30, monotonic=ticker)


def quote(bot: Bot, clock: SimClock, symbol: str, bid: float, ask: float) -> None:
    clock.advance_to(clock.now() + timedelta(seconds=1))
    bot.engine.on_event(Quote(symbol, clock.now(), bid, ask, 50, 50, "GOOG"))


def open_position(bot: Bot, clock: SimClock, symbol: str, qty: int, ask: float) -> None:
    quote(bot, clock, symbol, ask - 0.1, ask)
    req = bot.orders.new_request(symbol, Side.BUY, qty, intent=Intent.OPEN, limit_price=ask,
                                 underlying="GOOG", reason="test entry")
    order = bot.orders.submit(req)
    assert order.status is OrderStatus.FILLED, order
    assert bot.portfolio.quantity(symbol) == qty


def token_of(outcome: Outcome) -> str:
    assert outcome.status is Status.CONFIRM and outcome.token, outcome
    return outcome.token


def audit(bot: Bot) -> list[dict]:
    return list(reversed(bot.store.load_audit()))


def test_access_list_gives_each_user_one_role() -> None:
    access = AccessList(admins=[1], traders=[2], viewers=["3"])
    assert access.role_of(1) is Role.ADMIN
    assert access.role_of("2") is Role.TRADER
    assert access.role_of(3) is Role.VIEWER
    assert access.role_of(4) is None
    assert Role.VIEWER < Role.TRADER < Role.ADMIN


def test_stranger_changes_nothing_gets_nothing_and_is_audited(api: ControlAPI,
                                                              mem_bot: Bot) -> None:
    for command in ("kill", "pause", "status", "positions", "nonsense"):
        out = api.execute(STRANGER, command)
        assert out.status is Status.DENIED
        assert out.view is None and out.token is None
    assert mem_bot.control.state is TradingState.ACTIVE and not mem_bot.control.paused
    rows = audit(mem_bot)
    assert [r["command"] for r in rows] == ["/kill", "/pause", "/status", "/positions",
                                           "/nonsense"]
    assert all(not r["allowed"] and r["actor"] == "test:666 (eve)" for r in rows)


def test_viewer_reads_but_may_not_act(api: ControlAPI, mem_bot: Bot) -> None:
    status = api.execute(VIEWER, "status")
    assert status.ok and isinstance(status.view, StatusView)
    assert status.view.state == "active" and status.view.equity == 100_000.0
    for command, args in (("pause", ()), ("flatten", ()), ("strategy", ("scalping", "off")),
                          ("kill", ())):
        out = api.execute(VIEWER, command, args)
        assert out.status is Status.DENIED, command
        assert "needs the" in out.message
    assert not mem_bot.control.paused
    assert mem_bot.engine.strategies[0].enabled
    assert [r["allowed"] for r in audit(mem_bot)] == [True, False, False, False, False]


def test_help_lists_only_what_the_actor_may_use(api: ControlAPI) -> None:
    viewer = {c.name for c in api.execute(VIEWER, "help").view}
    admin = {c.name for c in api.execute(ADMIN, "help").view}
    assert "status" in viewer and "pause" not in viewer and "kill" not in viewer
    assert {"pause", "flatten", "kill", "strategy", "report"} <= admin


def test_pause_denies_entries_in_the_store_and_resume_allows_them(
        api: ControlAPI, mem_bot: Bot, sim_clock: SimClock) -> None:
    assert api.execute(TRADER, "pause").ok
    assert mem_bot.store.get_state("paused") is True
    quote(mem_bot, sim_clock, CALL, 1.9, 2.0)
    req = mem_bot.orders.new_request(CALL, Side.BUY, 1, intent=Intent.OPEN, limit_price=2.0)
    assert mem_bot.orders.submit(req).status is OrderStatus.DENIED
    denial = mem_bot.store.load_risk_decisions(1)[0]
    assert denial["rule"] == "trading_state" and "paused" in denial["reason"]
    assert api.execute(TRADER, "resume").ok
    assert mem_bot.store.get_state("paused") is False
    req = mem_bot.orders.new_request(CALL, Side.BUY, 1, intent=Intent.OPEN, limit_price=2.0)
    assert mem_bot.orders.submit(req).status is OrderStatus.FILLED


def test_flatten_asks_first_then_closes_through_risk_and_the_order_manager(
        api: ControlAPI, mem_bot: Bot, sim_clock: SimClock) -> None:
    open_position(mem_bot, sim_clock, CALL, 2, 2.0)
    open_position(mem_bot, sim_clock, PUT, 1, 3.0)
    ask = api.execute(TRADER, "flatten", ["o:goog151224c00750000"])
    assert ask.status is Status.CONFIRM and ask.token
    assert CALL in ask.message and PUT not in ask.message
    assert mem_bot.portfolio.quantity(CALL) == 2  # nothing happened yet
    done = api.confirm(TRADER, token_of(ask))
    assert done.ok, done.message
    assert mem_bot.portfolio.quantity(CALL) == 0 and mem_bot.portfolio.quantity(PUT) == 1
    exit_order = mem_bot.store.load_orders()[-1]
    assert exit_order.request.intent is Intent.CLOSE and exit_order.request.side is Side.SELL
    assert "flatten by test:2 (tom)" in exit_order.request.reason
    # A used token is spent.
    assert api.confirm(TRADER, token_of(ask)).status is Status.FAILED


def test_flatten_with_nothing_open_needs_no_confirmation(api: ControlAPI) -> None:
    out = api.execute(TRADER, "flatten")
    assert out.ok and out.message == "Nothing to flatten."


def test_only_the_requester_can_confirm_and_confirmations_expire(
        api: ControlAPI, mem_bot: Bot, sim_clock: SimClock, ticker: Ticker) -> None:
    open_position(mem_bot, sim_clock, CALL, 1, 2.0)
    ask = api.execute(TRADER, "flatten")
    other = api.confirm(ADMIN, token_of(ask))
    assert other.status is Status.DENIED and "Only the person" in other.message
    assert mem_bot.portfolio.quantity(CALL) == 1
    ticker.now += 31
    late = api.confirm(TRADER, token_of(ask))
    assert late.status is Status.FAILED and "expired" in late.message
    assert mem_bot.portfolio.quantity(CALL) == 1
    cancelled = api.execute(TRADER, "flatten")
    assert api.cancel(TRADER, token_of(cancelled)).ok
    assert api.confirm(TRADER, token_of(cancelled)).status is Status.FAILED
    assert mem_bot.portfolio.quantity(CALL) == 1


def test_kill_halts_flattens_and_only_an_admin_resumes_with_confirmation(
        api: ControlAPI, mem_bot: Bot, sim_clock: SimClock) -> None:
    open_position(mem_bot, sim_clock, CALL, 2, 2.0)
    assert api.execute(TRADER, "kill").status is Status.DENIED
    ask = api.execute(ADMIN, "kill")
    assert ask.status is Status.CONFIRM
    assert api.confirm(ADMIN, token_of(ask)).ok
    assert mem_bot.control.state is TradingState.HALTED
    assert mem_bot.store.get_state("state") == "halted"
    assert mem_bot.portfolio.quantity(CALL) == 0
    quote(mem_bot, sim_clock, PUT, 2.9, 3.0)
    req = mem_bot.orders.new_request(PUT, Side.BUY, 1, intent=Intent.OPEN, limit_price=3.0)
    assert mem_bot.orders.submit(req).status is OrderStatus.DENIED
    # Resuming after a kill: traders may not, admins must confirm.
    refused = api.execute(TRADER, "resume")
    assert refused.status is Status.DENIED and "while trading is halted" in refused.message
    resume = api.execute(ADMIN, "resume")
    assert resume.status is Status.CONFIRM and "halted" in resume.message
    assert mem_bot.control.state is TradingState.HALTED
    assert api.confirm(ADMIN, token_of(resume)).ok
    assert mem_bot.control.state is TradingState.ACTIVE


def test_bad_arguments_and_unknown_commands_are_explained_and_audited(
        api: ControlAPI, mem_bot: Bot) -> None:
    bad = api.execute(TRADER, "strategy", ["scalping"])
    assert bad.status is Status.INVALID and "Usage: /strategy NAME on|off" in bad.message
    missing = api.execute(TRADER, "strategy", ["nosuch", "on"])
    assert missing.status is Status.INVALID and "scalping" in missing.message
    assert api.execute(VIEWER, "status", ["extra"]).status is Status.INVALID
    assert api.execute(VIEWER, "buy").status is Status.UNKNOWN
    results = [r["result"] for r in audit(mem_bot)]
    assert results[0].startswith("invalid:") and results[-1].startswith("unknown:")


def test_strategy_switch_is_kept_across_a_restart(tmp_path, sim_clock: SimClock) -> None:
    settings = make_settings(tmp_path, risk=QUIET_RISK)
    bot = build_bot(settings, sim_clock, run_tag="a")
    api = ControlAPI(bot)
    assert api.execute(TRADER, "strategy", ["scalping", "off"]).ok
    assert not bot.engine.strategies[0].enabled
    bot.close()
    again = build_bot(settings, sim_clock, run_tag="b")
    assert again.engine.strategies[0].enabled  # the config says on …
    assert restore_strategy_switches(again) == ["scalping off"]  # … the trader said off
    assert not again.engine.strategies[0].enabled
    again.close()


def test_audit_uses_the_wall_clock_and_never_fails_the_command(mem_bot: Bot) -> None:
    wall = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    api = ControlAPI(mem_bot, wall=lambda: wall)
    mem_bot.store.audit = _broken  # type: ignore[method-assign]
    assert api.execute(TRADER, "pause").ok  # the audit write failed; pausing did not
    assert mem_bot.control.paused
    del mem_bot.store.audit
    api.execute(VIEWER, "status")
    assert audit(mem_bot)[-1]["ts"] == wall


def _broken(*_a: object, **_k: object) -> None:
    from bot.store.store import StoreError

    raise StoreError("disk full")


def test_reads_return_typed_views_with_the_books_numbers(
        api: ControlAPI, mem_bot: Bot, sim_clock: SimClock) -> None:
    open_position(mem_bot, sim_clock, CALL, 2, 2.0)  # bought 2 @ 2.00, fees 2 × 0.65
    quote(mem_bot, sim_clock, CALL, 2.5, 2.6)
    positions = api.execute(VIEWER, "positions").view
    assert isinstance(positions, PositionsView)
    row = positions.rows[0]
    assert (row.symbol, row.quantity, row.average_price, row.mark) == (CALL, 2, 2.0, 2.5)
    assert row.unrealized == pytest.approx(100.0)  # (2.50 − 2.00) × 2 × 100
    pnl = api.execute(VIEWER, "pnl").view
    assert isinstance(pnl, PnlView)
    assert pnl.fees == pytest.approx(1.30)
    assert pnl.realized == pytest.approx(-1.30)
    assert pnl.net == pytest.approx(100.0 - 1.30)


def _fill(fid: str, symbol: str, side: Side, qty: int, price: float, minute: int) -> Fill:
    ts = datetime(2015, 12, 24, 15, minute, tzinfo=UTC)
    return Fill(fid, f"c{fid}", symbol, side, qty, price, ts, 0.65 * qty, "GOOG")


def test_round_trips_and_equity_curve_match_a_hand_computation() -> None:
    fills = [
        _fill("1", CALL, Side.BUY, 2, 2.00, 1),
        _fill("2", PUT, Side.BUY, 1, 3.00, 2),
        _fill("3", CALL, Side.SELL, 1, 2.50, 3),
        _fill("4", CALL, Side.SELL, 1, 3.00, 4),
        _fill("5", PUT, Side.SELL, 1, 2.00, 5),
    ]
    trades, curve = round_trips(fills, 1000.0)
    # CALL: +0.50×100 + 1.00×100 = 150, fees 4 × 0.65 = 2.60 → 147.40; exit avg 2.75.
    # PUT: −1.00×100 = −100, fees 2 × 0.65 = 1.30 → −101.30.
    call, put = trades
    assert (call.symbol, call.quantity, call.entry_price, call.exit_price) == (CALL, 2, 2.0,
                                                                                2.75)
    assert call.pnl == pytest.approx(147.40)
    assert put.pnl == pytest.approx(-101.30)
    assert [v for _, v in curve] == pytest.approx(
        [1000 - 1.30, 1000 - 1.30 - 0.65, 1000 - 1.95 + 50 - 0.65, 1000 - 2.60 + 150 - 0.65,
         1000 + 147.40 - 101.30])


def test_report_renders_a_png_chart(api: ControlAPI, mem_bot: Bot,
                                    sim_clock: SimClock) -> None:
    open_position(mem_bot, sim_clock, CALL, 1, 2.0)
    report = api.execute(VIEWER, "report").view
    assert isinstance(report, ReportView)
    assert len(report.trades) == 1 and report.trades[0].exit_price is None
    png = render_equity_png(report)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


def test_flatten_an_underlying_closes_each_of_its_contracts_only(
        api: ControlAPI, mem_bot: Bot, sim_clock: SimClock) -> None:
    other = "AAPL151224C00110000"
    open_position(mem_bot, sim_clock, CALL, 1, 2.0)
    open_position(mem_bot, sim_clock, PUT, 2, 3.0)
    quote(mem_bot, sim_clock, other, 0.9, 1.0)
    req = mem_bot.orders.new_request(other, Side.BUY, 1, intent=Intent.OPEN, limit_price=1.0,
                                     underlying="AAPL")
    mem_bot.orders.submit(req)
    assert mem_bot.portfolio.quantity(other) == 1
    ask = api.execute(TRADER, "flatten", ["goog"])
    assert CALL in ask.message and PUT in ask.message and other not in ask.message
    done = api.confirm(TRADER, token_of(ask))
    assert done.ok and done.message.count("filled") == 2
    assert mem_bot.portfolio.quantity(CALL) == mem_bot.portfolio.quantity(PUT) == 0
    assert mem_bot.portfolio.quantity(other) == 1
