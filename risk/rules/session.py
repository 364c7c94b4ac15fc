"""When entries may open: inside the regular session, not in its first or last minutes, and
not in a contract expiring today once the 0DTE cutoff has passed (or in an expired one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
        if session is None or not session.open <= now < session.close:
            if self.require_session:
                return Reject(
                    self.name,
                    f"no entries outside the regular session "
                    f"({now.astimezone(NEW_YORK):%Y-%m-%d %H:%M} New York)",
                )
            return APPROVE
        first, last = self._bounds.of(session, self.after_open, self.before_close)
        if first <= now < last:
            return APPROVE
        if now < first:
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
        cutoff = self._bounds.of(session, _ZERO, self.before_close)[1]
        if ctx.now() >= cutoff:
            return Reject(
                self.name,
                f"{request.symbol} expires today: no entries after the 0DTE "
                f"cutoff {cutoff.astimezone(NEW_YORK):%H:%M} New York",
            )
        return APPROVE


_ZERO = timedelta(0)


class _PerSession:
    """A rule's window inside the last session it saw (open + after, close - before): the
    datetime sums are made once per session, not once per order."""

    __slots__ = ("after", "before", "bounds", "session")

    def __init__(self) -> None:
        self.session: Session | None = None
        self.after = self.before = _ZERO
        self.bounds: tuple[datetime, datetime] | None = None

    def of(
        self, session: Session, after: timedelta, before: timedelta
    ) -> tuple[datetime, datetime]:
        bounds = self.bounds
        if (
            bounds is None
            or session is not self.session
            or after != self.after
            or before != self.before
        ):
            bounds = self.bounds = (session.open + after, session.close - before)
            self.session, self.after, self.before = session, after, before
        return bounds


def _minutes(span: timedelta) -> str:
    minutes = span.total_seconds() / 60
    return f"{minutes:g} minute{'s' if minutes != 1 else ''}"
