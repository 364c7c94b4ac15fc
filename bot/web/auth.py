"""Who may see and steer the dashboard.

Without a token (TRADEFLY__HTTP__TOKEN unset) only loopback clients are served: the bot binds
to 127.0.0.1 by default and anything that reaches it from elsewhere (a proxy, a changed bind
address) is refused. With a token every client must present it — as a Bearer header (scripts)
or through the login page, which trades it for an HttpOnly session cookie (browsers, the
WebSocket). Tokens are compared in constant time and never echoed.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Mapping

from pydantic import SecretStr

from bot.control import Actor, Role

SESSION_COOKIE = "tradefly_session"
WEB_ROLE = Role.TRADER  # see docs/decisions/0281-dashboard-auth.md: admin stays on Telegram/CLI


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class WebAuth:
    def __init__(self, token: SecretStr | None) -> None:
        self._token = token.get_secret_value() if token is not None else None
        self._sessions: set[str] = set()

    @property
    def token_required(self) -> bool:
        return self._token is not None

    def check_token(self, supplied: str) -> bool:
        return self._token is not None and secrets.compare_digest(
            supplied.encode(), self._token.encode())

    def new_session(self) -> str:
        session = secrets.token_urlsafe(32)
        self._sessions.add(session)
        return session

    def allowed(self, client_host: str | None, headers: Mapping[str, str],
                cookies: Mapping[str, str]) -> bool:
        if self._token is None:
            return is_loopback(client_host)
        bearer = headers.get("authorization", "")
        if bearer.lower().startswith("bearer ") and self.check_token(bearer[7:].strip()):
            return True
        session = cookies.get(SESSION_COOKIE)
        return session is not None and any(secrets.compare_digest(session, s)
                                           for s in self._sessions)

    @staticmethod
    def actor(client_host: str | None) -> Actor:
        return Actor("web", client_host or "unknown", "dashboard", WEB_ROLE)
