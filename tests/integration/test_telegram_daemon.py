"""End to end: the daemon trades the recorded GOOG day on paper while people talk to it over
the real python-telegram-bot and a fake Bot API. After each command the store and the paper
venue's own ledger are checked, not just the replies."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.daemon import Daemon
from bot.logging_setup import configure_logging
from bot.telegram import TelegramService
from bot.telegram.format import short_symbol
from bot.wiring import Bot
from brokers.orders import Intent, OrderRequest, OrderStatus, Side
from market.data import Quote
from market.instruments import is_option_symbol
from risk.state import TradingState
from tests.conftest import make_settings
from tests.integration.fakes.telegram import FakeBotAPI
from tests.integration.test_telegram import (
    ADMIN,
    STRANGER,
    TOKEN,
    TRADER,
    VIEWER,
    ask,
    fake,  # noqa: F401 - the fixture
    telegram_config,
)

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

# Brackets far away, so the positions the strategy opens stay open until someone flattens.
HOLDING_SCALPER = {"scalping": {"target_pct": 5.0, "stop_pct": 0.9, "time_stop": "PT3H"}}
# Recorded quotes are released at the minute's end: the test's own entry skips the freshness and
# liquidity screens (the state gate and the sizing limits stay on).
# How far the 600x replay has got when the test enters varies from run to run (the cause of an
# intermittent failure): the entry may come in the session's first five minutes, or when the
# strategy already holds three positions. Neither window nor count is what this test is about.
QUIET_RISK = {"disabled_rules": ["volume", "open_interest", "duplicate_order", "spread",
                                 "zero_dte_cutoff", "stale_quote", "session_window"],
              "max_concurrent_trades": 20}


def liquid_quote(bot: Bot) -> Quote | None:
    return next((q for q in bot.market.quotes.values() if is_option_symbol(q.symbol)
                 and 1.0 <= q.bid < q.ask <= min(q.bid + 0.5, 20.0) and q.ask_size >= 2), None)


def entry(bot: Bot, symbol: str, ask: float) -> OrderRequest:
    return bot.orders.new_request(symbol, Side.BUY, 2, intent=Intent.OPEN, limit_price=ask,
                                  underlying="GOOG", reason="e2e entry")


async def eventually(check: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"condition not met within {within} s")


def telegram_of(daemon: Daemon) -> TelegramService:
    return next(s for s in daemon.services if isinstance(s, TelegramService))


async def test_a_scripted_conversation_steers_the_trading_daemon(
        fake: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    settings = make_settings(tmp_path, replay={"speed": 600}, strategies=HOLDING_SCALPER,
                             risk=QUIET_RISK, telegram=telegram_config(fake))
    daemon = Daemon(settings)
    bot = daemon.bot
    run = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(telegram_of(daemon).ready.wait(), 10)
        await fake.wait_sent(lambda m: "TradeFly started" in m.get("text", ""))

        # A stranger tries to kill: nothing changes, nothing is shown, it is audited.
        reply = await ask(fake, "/kill", STRANGER)
        assert reply["text"] == "🚫 Not authorized."
        assert bot.store.get_state("state", "active") == "active"
        # A viewer may look but not pause.
        assert "needs the trader role" in (await ask(fake, "/pause", VIEWER))["text"]
        assert not bot.store.get_state("paused", False)
        assert "<b>ACTIVE</b>" in (await ask(fake, "/status", VIEWER))["text"]

        # A position opens on a recorded quote, through risk, the store and the paper venue
        # (sent by the test, so it does not hang on when the strategy's entries fill).
        quote = await eventually(lambda: liquid_quote(bot))
        mine = bot.orders.submit(entry(bot, quote.symbol, quote.ask))
        assert mine.status is not OrderStatus.DENIED, mine.status_reason
        await eventually(lambda: bot.portfolio.quantity(quote.symbol) > 0)
        held = bot.portfolio.open_positions()
        ledger = {p.symbol: p.quantity for p in await bot.broker.fetch_positions()}
        assert ledger == {p.symbol: p.quantity for p in held}
        assert short_symbol(quote.symbol) in (await ask(fake, "/positions", VIEWER))["text"]

        # A trader pauses: entries are denied, and the store says why.
        assert "Entries paused" in (await ask(fake, "/pause", TRADER))["text"]
        assert bot.store.get_state("paused") is True
        denied = bot.orders.submit(entry(bot, quote.symbol, quote.ask))
        assert denied.status is OrderStatus.DENIED
        stored = next(o for o in bot.store.load_orders()
                      if o.client_order_id == denied.client_order_id)
        assert stored.status is OrderStatus.DENIED and "entries are paused" in stored.status_reason

        # The trader flattens, confirming with the button; the paper ledger goes flat.
        prompt = await ask(fake, "/flatten", TRADER)
        confirm = prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        mark = len(fake.sent)
        fake.press(confirm, STRANGER, prompt["message"])  # not theirs to press
        await fake.wait_sent(lambda m: m["kind"] == "answer", start=mark)
        assert bot.portfolio.open_positions()
        fake.press(confirm, TRADER, prompt["message"])
        done = await fake.wait_sent(lambda m: m["kind"] == "edit", start=mark)
        assert "Flatten sent" in done["text"]
        await eventually(lambda: not bot.portfolio.open_positions())
        assert all(p.quantity == 0 for p in await bot.broker.fetch_positions())

        # An admin kills; the state is HALTED in the store; a trader may not resume.
        prompt = await ask(fake, "/kill", ADMIN)
        mark = len(fake.sent)
        fake.press(prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"], ADMIN,
                   prompt["message"])
        assert "HALTED" in (await fake.wait_sent(lambda m: m["kind"] == "edit",
                                                 start=mark))["text"]
        assert bot.store.get_state("state") == TradingState.HALTED.value
        assert "needs the admin role" in (await ask(fake, "/resume", TRADER))["text"]
        assert bot.store.get_state("state") == "halted"
    finally:
        daemon.request_stop("test over")
        assert await asyncio.wait_for(run, 30) == 0
    await fake.wait_sent(lambda m: "TradeFly stopping (test over)" in m.get("text", ""))

    audit = _audit(tmp_path)
    strangers = [r for r in audit if r["actor"].startswith(f"telegram:{STRANGER}")]
    assert [r["command"] for r in strangers] == ["/kill", "confirm"]
    assert not any(r["allowed"] for r in strangers)
    assert ("/kill (confirmed)", True) in [(r["command"], r["allowed"]) for r in audit]


def _audit(tmp_path: Path) -> list[dict[str, Any]]:
    from bot.store.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}", "paper-1")
    try:
        return list(reversed(store.load_audit(500)))
    finally:
        store.close()


async def test_daemon_trades_without_telegram_when_the_token_is_refused(
        fake: FakeBotAPI, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    fake.refuse_token = True
    settings = make_settings(tmp_path, telegram=telegram_config(fake))
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO", json_logs=False)
    logging.getLogger("httpx").setLevel(logging.INFO)  # it logs every URL, token included
    try:
        daemon = Daemon(settings)
        assert await daemon.run() == 0
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert daemon.summary is not None and daemon.summary["signals"] > 0  # it traded the day
    assert telegram_of(daemon).status.startswith("off: the Bot API refused the token")
    err = capfd.readouterr().err
    assert "Telegram is off: the Bot API refused the token (401 Unauthorized)" in err
    assert "getMe" in err  # httpx did log the request …
    assert TOKEN not in err and TOKEN.split(":")[1] not in err  # … with the token redacted


async def test_the_day_ends_with_its_summary_and_a_goodbye(
        fake: FakeBotAPI, tmp_path: Path) -> None:  # noqa: F811
    settings = make_settings(tmp_path, replay={"speed": 3000}, telegram=telegram_config(fake))
    daemon = Daemon(settings)
    assert await asyncio.wait_for(daemon.run(), 60) == 0
    summary = daemon.summary
    assert summary is not None
    texts = [m["text"] for m in fake.sent if m["kind"] == "message"]
    closing = next(t for t in texts if "Session closed" in t)
    assert f"net {summary['net_pnl']:+,.2f} after costs" in closing
    assert f"{summary['fills']} fills" in closing
    assert any(t.startswith("🔴") and "TradeFly stopping: 0 open positions" in t
               for t in texts)  # the replay ended by itself: no stop reason
