"""When entries may open: inside the regular session, not in its first or last minutes, and
not in a contract expiring today once the 0DTE cutoff has passed (or in an expired one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar

from brokers.orders import OrderRequest
from market.calendar import NEW_YORK
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject
from risk.rules.common import option_of


@dataclass(frozen=True)
class SessionWindow:
    after_open: timedelta
    before_close: timedelta
    require_session: bool = True
    entry_only: ClassVar[bool] = True
    name: str = "session_window"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        now = ctx.now()
        session = ctx.session()
        if session is None or not session.contains(now):
            if self.require_session:
                return Reject(self.name, f"no entries outside the regular session "
                                         f"({now.astimezone(NEW_YORK):%Y-%m-%d %H:%M} New York)")
            return APPROVE
        if now < session.open + self.after_open:
            return Reject(self.name, f"no entries in the first {_minutes(self.after_open)} of "
                                     "the session")
        if now >= session.close - self.before_close:
            return Reject(self.name, f"no entries in the last {_minutes(self.before_close)} "
                                     f"before the {session.close.astimezone(NEW_YORK):%H:%M} "
                                     "close")
        return APPROVE


@dataclass(frozen=True)
class ZeroDteCutoff:
    """No entries in contracts expiring today within `before_close` of the close; never in a
    contract already expired."""

    before_close: timedelta
    entry_only: ClassVar[bool] = True
    name: str = "zero_dte_cutoff"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        option = option_of(request.symbol)
        if option is None:
            return APPROVE
        now = ctx.now()
        today = now.astimezone(NEW_YORK).date()
        if option.expiration < today:
            return Reject(self.name, f"{request.symbol} expired on {option.expiration}")
        if option.expiration > today:
            return APPROVE
        session = ctx.session()
        if session is None:
            return Reject(self.name, f"{request.symbol} expires today and there is no session")
        cutoff = session.close - self.before_close
        if now >= cutoff:
            return Reject(self.name, f"{request.symbol} expires today: no entries after the 0DTE "
                                     f"cutoff {cutoff.astimezone(NEW_YORK):%H:%M} New York")
        return APPROVE


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"
