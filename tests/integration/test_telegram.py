"""The real python-telegram-bot 22 against a local fake Bot API: commands, roles, buttons,
and Telegram misbehaving (429, 409, 401, gone) while the bot keeps its books straight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.events import Notice
from bot.telegram import TelegramService
from bot.wiring import Bot, build_bot
from brokers.orders import Intent, OrderStatus, Side
from market.clock import SimClock
from market.data import Quote
from risk.state import TradingState
from tests.conftest import make_settings
from tests.integration.fakes.telegram import FakeBotAPI

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TOKEN = "987654321:AAFakeTokenForTestsOnly_abcdefghij"
ADMIN, TRADER, VIEWER, STRANGER = 1001, 1002, 1003, 6666
GROUP = -1009999
CALL = "GOOG151224C00750000"
QUIET_RISK = {"disabled_rules": ["volume", "open_interest", "duplicate_order", "spread",
                                 "zero_dte_cutoff"]}


def telegram_config(fake: FakeBotAPI, **over: Any) -> dict[str, Any]:
    return {"enabled": True, "token": TOKEN, "base_url": fake.base_url, "admins": [ADMIN],
            "traders": [TRADER], "viewers": [VIEWER], "poll_timeout_seconds": 1,
            "alert_interval_seconds": 0.05, "heartbeat_minutes": 0, **over}


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    server = FakeBotAPI(TOKEN)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> SimClock:
    return SimClock(datetime(2015, 12, 24, 15, 0, tzinfo=UTC))


@pytest.fixture
def settings(fake: FakeBotAPI) -> Settings:
    return make_settings(risk=QUIET_RISK, telegram=telegram_config(fake))


@pytest.fixture
def bot(settings: Settings, clock: SimClock) -> Iterator[Bot]:
    the_bot = build_bot(settings, clock, run_tag="tg")
    yield the_bot
    the_bot.close()


@pytest.fixture
async def service(bot: Bot, settings: Settings) -> AsyncIterator[TelegramService]:
    svc = TelegramService(bot, settings.telegram)
    await svc.start()
    await asyncio.wait_for(svc.ready.wait(), 10)
    yield svc
    await svc.stop()


def is_reply(chat: int) -> Any:
    return lambda m: m["kind"] == "message" and m.get("parse_mode") == "HTML" and (
        m["chat_id"] == str(chat))


async def ask(fake: FakeBotAPI, text: str, user: int, chat: int | None = None,
              **kw: Any) -> dict[str, Any]:
    mark = len(fake.sent)
    fake.command(text, user, chat_id=chat, **kw)
    return await fake.wait_sent(is_reply(user if chat is None else chat), start=mark)


def open_position(bot: Bot, clock: SimClock, qty: int = 2) -> None:
    clock.advance_to(clock.now() + timedelta(seconds=1))
    bot.engine.on_event(Quote(CALL, clock.now(), 1.9, 2.0, 50, 50, "GOOG"))
    req = bot.orders.new_request(CALL, Side.BUY, qty, intent=Intent.OPEN, limit_price=2.0)
    assert bot.orders.submit(req).status is OrderStatus.FILLED


async def test_status_help_and_the_start_alert(fake: FakeBotAPI,
                                               service: TelegramService) -> None:
    started = await fake.wait_sent(lambda m: "TradeFly started" in m.get("text", ""))
    assert started["chat_id"] == str(ADMIN)  # alerts go to the admins by default
    status = await ask(fake, "/status", VIEWER)
    assert "<b>ACTIVE</b>" in status["text"] and "equity 100,000.00" in status["text"]
    helptext = (await ask(fake, "/help", VIEWER))["text"]
    assert "/status" in helptext and "/kill" not in helptext and "/pause" not in helptext
    assert "/kill" in (await ask(fake, "/help", ADMIN))["text"]
    assert fake.methods()[:3] == ["getMe", "deleteWebhook", "setMyCommands"]


async def test_unknown_commands_and_malformed_arguments_get_a_useful_answer(
        fake: FakeBotAPI, bot: Bot, service: TelegramService) -> None:
    assert "Unknown command /buy" in (await ask(fake, "/buy GOOG", TRADER))["text"]
    usage = (await ask(fake, "/strategy scalping maybe", TRADER))["text"]
    assert "Usage: /strategy NAME on|off" in usage
    assert bot.engine.strategies[0].enabled
    audit = bot.store.load_audit()
    assert [r["command"] for r in audit[:2]] == ["/strategy scalping maybe", "/buy GOOG"]
    assert audit[0]["actor"] == f"telegram:{TRADER} (user{TRADER})"


async def test_strangers_change_nothing_see_nothing_and_are_audited(
        fake: FakeBotAPI, bot: Bot, clock: SimClock, service: TelegramService) -> None:
    open_position(bot, clock)
    reply = await ask(fake, "/kill", STRANGER)
    assert reply["text"] == "🚫 Not authorized." and "reply_markup" not in reply
    positions = await ask(fake, "/positions", STRANGER)
    assert "GOOG" not in positions["text"]
    # In a group a stranger gets no answer at all; a trader in the same group is obeyed,
    # because authority comes from the user, not the chat.
    mark = len(fake.sent)
    fake.command("/pause", STRANGER, chat_id=GROUP, chat_type="supergroup")
    reply = await ask(fake, "/pause", TRADER, chat=GROUP, chat_type="supergroup")
    assert "Entries paused" in reply["text"]
    assert [m for m in fake.sent[mark:] if m.get("chat_id") == str(GROUP)] == [reply]
    assert bot.control.paused and bot.control.state is TradingState.ACTIVE
    assert bot.portfolio.quantity(CALL) == 2
    rows = [r for r in bot.store.load_audit() if r["actor"].startswith(f"telegram:{STRANGER}")]
    assert len(rows) == 3 and not any(r["allowed"] for r in rows)


async def test_a_command_for_another_bot_in_the_group_is_ignored(
        fake: FakeBotAPI, bot: Bot, service: TelegramService) -> None:
    mark = len(fake.sent)
    fake.command("/pause@some_other_bot", TRADER, chat_id=GROUP, chat_type="supergroup")
    reply = await ask(fake, "/status@tradefly_test_bot", TRADER, chat=GROUP,
                      chat_type="supergroup")
    assert "TradeFly" in reply["text"]
    assert not bot.control.paused
    assert len([m for m in fake.sent[mark:] if m.get("chat_id") == str(GROUP)]) == 1


async def test_flatten_buttons_only_obey_the_requester(
        fake: FakeBotAPI, bot: Bot, clock: SimClock, service: TelegramService) -> None:
    open_position(bot, clock)
    prompt = await ask(fake, "/flatten", TRADER)
    buttons = prompt["reply_markup"]["inline_keyboard"][0]
    confirm = buttons[0]["callback_data"]
    assert confirm.startswith("ok:") and "+2 GOOG151224C00750000" in prompt["text"]
    mark = len(fake.sent)
    fake.press(confirm, ADMIN, prompt["message"])  # an admin, but not the requester
    refused = await fake.wait_sent(lambda m: m["kind"] == "answer", start=mark)
    assert refused["show_alert"] == "true" and "Only the person" in refused["text"]
    assert bot.portfolio.quantity(CALL) == 2
    fake.press(confirm, TRADER, prompt["message"])
    done = await fake.wait_sent(lambda m: m["kind"] == "edit", start=mark)
    assert "Flatten sent: sell 2 GOOG151224C00750000: filled" in done["text"]
    assert "reply_markup" not in done  # the buttons are gone
    assert bot.portfolio.quantity(CALL) == 0


async def test_unanswered_confirmation_expires_and_does_nothing(
        fake: FakeBotAPI, clock: SimClock) -> None:
    settings = make_settings(telegram=telegram_config(fake, confirm_seconds=0.5))
    bot = build_bot(settings, clock, run_tag="exp")
    svc = TelegramService(bot, settings.telegram)
    await svc.start()
    await asyncio.wait_for(svc.ready.wait(), 10)
    try:
        prompt = await ask(fake, "/kill", ADMIN)
        assert "HALT" in prompt["text"]
        expired = await fake.wait_sent(lambda m: m["kind"] == "edit")
        assert "Expired" in expired["text"]
        assert expired["message_id"] == str(prompt["message"]["message_id"])
        fake.press(prompt["reply_markup"]["inline_keyboard"][0][0]["callback_data"], ADMIN,
                   prompt["message"])
        late = await fake.wait_sent(lambda m: m["kind"] == "edit" and m is not expired)
        assert "unknown or was already used" in late["text"]
        assert bot.control.state is TradingState.ACTIVE
    finally:
        await svc.stop()
        bot.close()


async def test_report_sends_the_equity_chart(fake: FakeBotAPI, bot: Bot, clock: SimClock,
                                             service: TelegramService) -> None:
    open_position(bot, clock, 1)
    text = await ask(fake, "/report", VIEWER)
    photo = next(m for m in fake.sent if m["kind"] == "photo")
    assert photo["photo"].startswith(b"\x89PNG")
    assert "Equity 2015-12-24" in photo["caption"]
    assert "1 trades" in text["text"] and "GOOG 12/24 750C" in text["text"]


async def test_flood_control_is_respected_and_alerts_arrive(
        fake: FakeBotAPI, bot: Bot, service: TelegramService) -> None:
    await fake.wait_sent(lambda m: "TradeFly started" in m.get("text", ""))
    fake.flood_sends, fake.flood_retry_after = 1, 1
    bot.bus.publish(Notice("fill", bot.clock.now(), f"Filled; url bot{TOKEN}/x", priority=1))
    alert = await fake.wait_sent(lambda m: "Filled" in m.get("text", ""))
    sends = [t for t, method, _ in fake.calls if method == "sendMessage"]
    assert sends[-1] - sends[-2] >= 0.95  # waited out retry_after
    assert TOKEN not in alert["text"] and "***" in alert["text"]


async def test_conflict_with_another_poller_alerts_backs_off_and_recovers(
        fake: FakeBotAPI, bot: Bot, service: TelegramService) -> None:
    fake.conflict = True
    alert = await fake.wait_sent(lambda m: "409 Conflict" in m.get("text", ""))
    assert alert["chat_id"] == str(ADMIN)
    await asyncio.sleep(1.0)
    polls = [m for m in fake.methods() if m == "getUpdates"]
    assert len(polls) < 10  # backing off, not hammering
    fake.conflict = False
    reply = await ask(fake, "/status", VIEWER)  # polling came back by itself
    assert "TradeFly" in reply["text"]
    assert service.status == "running"


async def test_a_refused_token_turns_telegram_off_and_says_why(
        fake: FakeBotAPI, bot: Bot, settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    fake.refuse_token = True
    svc = TelegramService(bot, settings.telegram)
    await svc.start()
    for _ in range(200):
        if svc.status.startswith("off"):
            break
        await asyncio.sleep(0.02)
    assert svc.status == "off: the Bot API refused the token (401 Unauthorized)"
    assert "refused the token" in caplog.text and TOKEN not in caplog.text
    bot.bus.publish(Notice("fill", bot.clock.now(), "x", priority=2))  # nowhere to go: dropped
    assert all(len(q) == 0 for q in svc.queues.values())
    await svc.stop()
    assert fake.methods() == ["getMe"]


async def test_telegram_gone_for_a_while_drops_oldest_low_alerts_and_says_so(
        fake: FakeBotAPI, clock: SimClock) -> None:
    settings = make_settings(telegram=telegram_config(fake, alert_queue_size=10))
    bot = build_bot(settings, clock, run_tag="down")
    svc = TelegramService(bot, settings.telegram)
    await svc.start()
    await asyncio.wait_for(svc.ready.wait(), 10)
    try:
        await fake.wait_sent(lambda m: "TradeFly started" in m.get("text", ""))
        await fake.stop()
        for i in range(30):
            bot.bus.publish(Notice("fill", clock.now(), f"fill {i}", priority=1))
        bot.bus.publish(Notice("state_changed", clock.now(), "breaker tripped", priority=2))
        await asyncio.sleep(0.3)
        await fake.restart()
        back = await fake.wait_sent(lambda m: "dropped" in m.get("text", ""), within=15)
        lines = back["text"].splitlines()
        assert lines[0].startswith("⚠️ 21 alerts dropped")
        assert "breaker tripped" in lines[1]  # high priority first
        assert [line.split()[-1] for line in lines[2:]] == [str(i) for i in range(21, 30)]
        reply = await ask(fake, "/status", VIEWER)  # commands work again too
        assert "TradeFly" in reply["text"]
    finally:
        await svc.stop()
        bot.close()


async def test_a_flood_limited_reply_is_sent_after_the_wait(
        fake: FakeBotAPI, service: TelegramService) -> None:
    await fake.wait_sent(lambda m: "TradeFly started" in m.get("text", ""))
    fake.flood_sends, fake.flood_retry_after = 1, 1
    reply = await ask(fake, "/version", VIEWER)
    assert "python-telegram-bot 22." in reply["text"]
    sends = [t for t, method, _ in fake.calls if method == "sendMessage"]
    assert sends[-1] - sends[-2] >= 0.95


async def test_allowed_chats_limit_where_even_known_users_are_obeyed(
        fake: FakeBotAPI, clock: SimClock) -> None:
    settings = make_settings(telegram=telegram_config(fake, allowed_chats=[GROUP]))
    bot = build_bot(settings, clock, run_tag="chats")
    svc = TelegramService(bot, settings.telegram)
    await svc.start()
    await asyncio.wait_for(svc.ready.wait(), 10)
    try:
        private = await ask(fake, "/pause", TRADER)  # the trader's private chat: not allowed
        assert private["text"] == "🚫 Not authorized." and not bot.control.paused
        reply = await ask(fake, "/pause", TRADER, chat=GROUP, chat_type="supergroup")
        assert "Entries paused" in reply["text"] and bot.control.paused
    finally:
        await svc.stop()
        bot.close()


async def test_telegram_unreachable_at_start_up_is_retried_until_it_answers(
        fake: FakeBotAPI, bot: Bot, settings: Settings) -> None:
    await fake.stop()
    svc = TelegramService(bot, settings.telegram)
    await svc.start()  # returns at once: the daemon goes on trading
    try:
        await asyncio.sleep(0.5)
        assert svc.status == "connecting" and not svc.ready.is_set()
        await fake.restart()
        await asyncio.wait_for(svc.ready.wait(), 15)
        assert "TradeFly" in (await ask(fake, "/status", VIEWER))["text"]
    finally:
        await svc.stop()


async def test_a_reply_telegram_cannot_parse_is_resent_as_plain_text(
        fake: FakeBotAPI, service: TelegramService) -> None:
    fake.refuse_html = 1
    mark = len(fake.sent)
    fake.command("/pnl", VIEWER)
    reply = await fake.wait_sent(lambda m: m["kind"] == "message" and m["chat_id"] == str(VIEWER),
                                 start=mark)
    assert "parse_mode" not in reply
    assert reply["text"].startswith("P&L 2015-12-24 · ACTIVE")  # tags stripped, & restored
