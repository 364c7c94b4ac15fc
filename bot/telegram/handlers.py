"""Telegram updates → ControlAPI calls → replies.

Every command, known or not, takes one path: the user (never only the chat) is looked up in
the access list, the ControlAPI decides and audits, and the outcome is formatted. Commands that
need a confirmation get inline Confirm/Cancel buttons that only the requester can press and
that turn into "expired" when their time is up.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from html import unescape
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.control import COMMANDS, AccessList, Actor, ControlAPI, Outcome, Status
from bot.control_report import ReportView, render_equity_png
from bot.telegram.alerts import retry_after_seconds
from bot.telegram.format import format_outcome

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_REPLY_RETRY_SECONDS = 30.0
_TAGS = re.compile(r"<[^>]+>")


class Handlers:
    def __init__(self, api: ControlAPI, access: AccessList, *, allowed_chats: list[int],
                 redact: Callable[[str], str]) -> None:
        self.api = api
        self.access = access
        self.allowed_chats = set(allowed_chats)
        self._redact = redact
        self._expiries: set[asyncio.Task[None]] = set()

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        only_messages = filters.UpdateType.MESSAGE
        app.add_handler(CommandHandler([*COMMANDS, "start"], self.on_command,
                                       filters=only_messages))
        # Anything else that looks like a command: the ControlAPI answers "unknown".
        app.add_handler(MessageHandler(filters.COMMAND & only_messages, self.on_command))
        app.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^(ok|no):"))
        app.add_error_handler(self.on_error)

    async def close(self) -> None:
        for task in list(self._expiries):
            task.cancel()
        await asyncio.gather(*self._expiries, return_exceptions=True)

    # -- who ------------------------------------------------------------------------------
    def actor(self, user: User | None, chat_id: int | None) -> Actor:
        if user is None:
            return Actor(CHANNEL, "unknown")
        role = self.access.role_of(user.id)
        if self.allowed_chats and chat_id not in self.allowed_chats:
            role = None  # a known user in a chat the config does not allow: no authority
        name = f"@{user.username}" if user.username else user.first_name
        return Actor(CHANNEL, str(user.id), name, role)

    # -- commands -------------------------------------------------------------------------
    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        head, *args = message.text.split()
        name, _, addressee = head[1:].partition("@")
        if addressee and addressee.lower() != (context.bot.username or "").lower():
            return  # a command for another bot in the same group
        chat = update.effective_chat
        actor = self.actor(update.effective_user, chat.id if chat else None)
        if name == "start":  # Telegram's first message, maybe with a deep-link payload
            name, args = "help", []
        outcome = self.api.execute(actor, name, args)
        if actor.role is None and chat is not None and chat.type != ChatType.PRIVATE:
            return  # strangers in a group get no answer at all (audited and logged anyway)
        await self.reply(message, outcome)

    async def reply(self, message: Message, outcome: Outcome) -> None:
        if outcome.status is Status.CONFIRM and outcome.token:
            await self._ask(message, outcome)
        elif outcome.ok and isinstance(outcome.view, ReportView):
            await self._report(message, outcome.view)
            await self._send(message.reply_text, format_outcome(outcome))
        else:
            await self._send(message.reply_text, format_outcome(outcome))

    async def _report(self, message: Message, view: ReportView) -> None:
        png = await asyncio.to_thread(render_equity_png, view)  # keep the loop free
        await self._send(message.reply_photo, None, photo=png,
                         caption=f"Equity {view.day} (realized, after fees)")

    async def _ask(self, message: Message, outcome: Outcome) -> None:
        token = outcome.token
        buttons = InlineKeyboardMarkup([[
            InlineKeyboardButton("✅ Confirm", callback_data=f"ok:{token}"),
            InlineKeyboardButton("✖ Cancel", callback_data=f"no:{token}"),
        ]])
        text = format_outcome(outcome) + f"\n<i>Expires in {outcome.expires_in:.0f} s.</i>"
        sent = await self._send(message.reply_text, text, reply_markup=buttons)
        if isinstance(sent, Message) and token:
            task = asyncio.create_task(self._expire(sent, token, outcome.expires_in))
            self._expiries.add(task)
            task.add_done_callback(self._expiries.discard)

    async def _expire(self, sent: Message, token: str, after: float) -> None:
        await asyncio.sleep(after)
        if self.api.is_pending(token):
            self.api.forget(token)
            await self._send(sent.edit_text, "⌛ Expired; nothing was done.")

    # -- confirm buttons ------------------------------------------------------------------
    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or not query.data:
            return
        action, _, token = query.data.partition(":")
        chat = update.effective_chat
        actor = self.actor(query.from_user, chat.id if chat else None)
        outcome = (self.api.confirm(actor, token) if action == "ok"
                   else self.api.cancel(actor, token))
        if outcome.status is Status.DENIED:
            await self._send(query.answer, None, text=outcome.message, show_alert=True)
            return  # someone else pressed: leave the buttons for the requester
        await self._send(query.answer, None)
        await self._send(query.edit_message_text, format_outcome(outcome))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        err = context.error
        log.error("Telegram handler failed: %s: %s", type(err).__name__,
                  self._redact(str(err)))

    # -- sending --------------------------------------------------------------------------
    async def _send(self, method: Callable[..., Any], html: str | None, **kwargs: Any) -> Any:
        """Call a Telegram method once more after a flood wait; HTML that Telegram refuses is
        resent as plain text. Never raises: a lost reply must not break the handler."""
        if html is not None:
            kwargs.update(text=self._redact(html), parse_mode=ParseMode.HTML)
        for attempt in range(2):
            try:
                return await method(**kwargs)
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                if attempt or wait > MAX_REPLY_RETRY_SECONDS:
                    log.warning("reply dropped: Telegram flood control asks %.0f s", wait)
                    return None
                await asyncio.sleep(wait)
            except BadRequest as exc:
                if "parse" not in exc.message.lower() or "text" not in kwargs or attempt:
                    log.warning("reply refused by Telegram: %s", exc.message)
                    return None
                kwargs.update(text=unescape(_TAGS.sub("", kwargs["text"])), parse_mode=None)
            except TelegramError as exc:
                log.warning("reply not sent: %s: %s", type(exc).__name__,
                            self._redact(str(exc)))
                return None
        return None
