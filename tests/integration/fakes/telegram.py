"""A local fake of the Telegram Bot API for the real python-telegram-bot to talk to.

`POST /bot<TOKEN>/<method>` with form or multipart parameters, answered in the Bot API envelope
with the shapes of shared/fixtures/telegram/. Scripted updates are served by long polling
(filtered by offset); every call is recorded. Failure knobs: a refused token (401), another
poller (409 on getUpdates), flood control (429 with retry_after on the next N sends), HTML
Telegram cannot parse (400), and going away entirely (`stop()`, then `restart()` on the same port).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures" / "telegram"
MAX_POLL_WAIT = 0.2  # seconds a getUpdates waits for news (PTB asks for more; tests are quick)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


class FakeBotAPI:
    def __init__(self, token: str) -> None:
        self.token = token
        self.me = fixture("getMe.json")["result"]
        self.calls: list[tuple[float, str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []  # sendMessage / sendPhoto / edits, in order
        self.updates: list[dict[str, Any]] = []
        self.next_update_id = 100_000_001
        self.next_message_id = 2
        self._news = asyncio.Event()
        self._sent_event = asyncio.Event()
        self.refuse_token = False
        self.conflict = False
        self.flood_sends = 0
        self.flood_retry_after = 1
        self.refuse_html = 0  # the next N HTML messages get 400 "can't parse entities"
        self.port = 0
        self._runner: web.AppRunner | None = None

    # -- server ---------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def restart(self) -> None:
        await self.start()  # same port: the bot's base URL stays valid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # -- scripting ------------------------------------------------------------------------
    def user(self, user_id: int, username: str | None = None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if username:
            user["username"] = username
        return user

    def command(self, text: str, user_id: int, *, chat_id: int | None = None,
                chat_type: str = "private", username: str | None = None) -> int:
        chat_id = user_id if chat_id is None else chat_id
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "trading desk"
        head = text.split()[0]
        message = {"message_id": self._message_id(), "from": self.user(user_id, username),
                   "chat": chat, "date": int(time.time()), "text": text}
        if head.startswith("/"):
            message["entities"] = [{"offset": 0, "length": len(head), "type": "bot_command"}]
        return self._push({"message": message})

    def press(self, data: str, user_id: int, message: dict[str, Any]) -> int:
        return self._push({"callback_query": {
            "id": f"cq{self.next_update_id}", "from": self.user(user_id),
            "chat_instance": "42", "data": data, "message": message}})

    def _push(self, body: dict[str, Any]) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        self.updates.append({"update_id": update_id, **body})
        self._news.set()
        return update_id

    def _message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id

    async def wait_sent(self, predicate: Callable[[dict[str, Any]], bool],
                        within: float = 10.0, start: int = 0) -> dict[str, Any]:
        """The first recorded outgoing message from index `start` matching `predicate`."""
        deadline = time.monotonic() + within
        while True:
            for item in self.sent[start:]:
                if predicate(item):
                    return item
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message; sent: {self.sent[start:]}")
            self._sent_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sent_event.wait(), left)

    def methods(self) -> list[str]:
        return [m for _, m, _ in self.calls]

    # -- API ------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((time.monotonic(), method, params))
        if request.match_info["token"] != self.token or self.refuse_token:
            return web.json_response(fixture("error_401_Unauthorized.json"), status=401)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404,
                                      "description": "Not Found"}, status=404)
        return await handler(params)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        out: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            out[key] = value.file.read() if isinstance(value, web.FileField) else value
        if isinstance(out.get("reply_markup"), str):
            out["reply_markup"] = json.loads(out["reply_markup"])
        return out

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, _p: dict[str, Any]) -> web.Response:
        return self._ok(self.me)

    async def _api_deleteWebhook(self, p: dict[str, Any]) -> web.Response:
        if p.get("drop_pending_updates") in ("true", "True", True):
            self.updates.clear()
        return web.json_response(fixture("deleteWebhook.json"))

    async def _api_setMyCommands(self, p: dict[str, Any]) -> web.Response:
        return self._ok(True)

    async def _api_getUpdates(self, p: dict[str, Any]) -> web.Response:
        if self.conflict:
            return web.json_response(fixture("error_409_Conflict_getUpdates.json"), status=409)
        offset = int(p.get("offset", 0) or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and float(p.get("timeout", 0) or 0) > 0:
            self._news.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), MAX_POLL_WAIT)
        return self._ok(list(self.updates))

    async def _record(self, kind: str, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(p.get("chat_id", 0) or 0)
        message: dict[str, Any] = {
            "message_id": int(p.get("message_id") or self._message_id()),
            "from": {"id": self.me["id"], "is_bot": True, "first_name": self.me["first_name"],
                     "username": self.me["username"]},
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(time.time())}
        if "text" in p:
            message["text"] = p["text"]
        if "reply_markup" in p:
            message["reply_markup"] = p["reply_markup"]
        self.sent.append({"kind": kind, **p, "message": message})
        self._sent_event.set()
        return message

    async def _api_sendMessage(self, p: dict[str, Any]) -> web.Response:
        if self.refuse_html and p.get("parse_mode") == "HTML":
            self.refuse_html -= 1
            return web.json_response({
                "ok": False, "error_code": 400, "description": "Bad Request: can't parse "
                "entities: unsupported start tag \"x\" at byte offset 3"}, status=400)
        if self.flood_sends > 0:
            self.flood_sends -= 1
            body = fixture("error_429_TooManyRequests.json")
            body["parameters"]["retry_after"] = self.flood_retry_after
            body["description"] = f"Too Many Requests: retry after {self.flood_retry_after}"
            return web.json_response(body, status=429)
        return self._ok(await self._record("message", p))

    async def _api_sendPhoto(self, p: dict[str, Any]) -> web.Response:
        message = await self._record("photo", p)
        message["photo"] = [{"file_id": "ph1", "file_unique_id": "u1", "width": 800,
                             "height": 360}]
        return self._ok(message)

    async def _api_editMessageText(self, p: dict[str, Any]) -> web.Response:
        return self._ok(await self._record("edit", p))

    async def _api_answerCallbackQuery(self, p: dict[str, Any]) -> web.Response:
        self.sent.append({"kind": "answer", **p})
        self._sent_event.set()
        return self._ok(True)
