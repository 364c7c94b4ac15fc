"""When entries may open: inside the regular session, not in its first or last minutes, and
not in a contract expiring today once the 0DTE cutoff has passed (or in an expired one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from brokers.orders import OrderRequest
from market.calendar import NEW_YORK, Session
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
    _bounds: _PerSession = field(
        init=False, repr=False, compare=False, default_factory=lambda: _PerSession()
    )

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        now = ctx.now()
        session = ctx.session()
        bounds = self._bounds
        if session is not bounds.session:
            bounds.of(session, self.after_open, self.before_close)
        if bounds.first <= now < bounds.last:
            return APPROVE  # inside the window: two comparisons with instants made per session
        if session is None or not session.open <= now < session.close:
            if self.require_session:
                return Reject(
                    self.name,
                    f"no entries outside the regular session "
                    f"({now.astimezone(NEW_YORK):%Y-%m-%d %H:%M} New York)",
                )
            return APPROVE
        if now < bounds.first:
            return Reject(
                self.name, f"no entries in the first {_minutes(self.after_open)} of the session"
            )
        return Reject(
            self.name,
            f"no entries in the last {_minutes(self.before_close)} "
            f"before the {session.close.astimezone(NEW_YORK):%H:%M} close",
        )


@dataclass(frozen=True)
class ZeroDteCutoff:
    """No entries in contracts expiring today within `before_close` of the close; never in a
    contract already expired."""

    before_close: timedelta
    entry_only: ClassVar[bool] = True
    name: str = "zero_dte_cutoff"
    _bounds: _PerSession = field(
        init=False, repr=False, compare=False, default_factory=lambda: _PerSession()
    )

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        option = option_of(request.symbol)
        if option is None:
            return APPROVE
        today = ctx.today()
        if option.expiration > today:
            return APPROVE
        if option.expiration < today:
            return Reject(self.name, f"{request.symbol} expired on {option.expiration}")
        session = ctx.session()
        if session is None:
            return Reject(self.name, f"{request.symbol} expires today and there is no session")
        bounds = self._bounds
        if session is not bounds.session:
            bounds.of(session, _ZERO, self.before_close)
        if ctx.now() >= bounds.last:
            return Reject(
                self.name,
                f"{request.symbol} expires today: no entries after the 0DTE "
                f"cutoff {bounds.last.astimezone(NEW_YORK):%H:%M} New York",
            )
        return APPROVE


_ZERO = timedelta(0)
_NEVER = datetime.max.replace(tzinfo=UTC)


class _PerSession:
    """A rule's window inside the last session it saw, as UTC instants (open + after,
    close - before), made once per session: a check compares, it does no datetime sums. With
    no session the window is empty."""

    __slots__ = ("first", "last", "session")

    def __init__(self) -> None:
        self.session: Session | None = None
        self.first = self.last = _NEVER

    def of(self, session: Session | None, after: timedelta, before: timedelta) -> None:
        self.session = session
        if session is None:
            self.first = self.last = _NEVER
        else:
            self.first, self.last = session.open + after, session.close - before


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"
