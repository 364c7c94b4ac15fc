"""The pace of orders: a throttle per second and per minute, and a duplicate-order guard.

Both remember only orders the manager approved (`on_approved`). At start-up the manager
replays the stored orders of the last `memory` into them (`RiskManager.remember`, decision
0167), so a restart does not reopen either window. Exits are counted but never refused: a
throttled stop-loss would be a loss, not a safeguard.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject
from risk.members import BUY
from risk.rules.common import is_entry

SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
PRUNE_EVERY = 32


@dataclass
class OrderRateThrottle:
    per_second: int | None
    per_minute: int | None
    name: str = "order_rate"
    _sent: deque[datetime] = field(default_factory=deque, repr=False)  # the last minute
    _second: deque[datetime] = field(default_factory=deque, repr=False)  # the last second

    @property
    def memory(self) -> timedelta:
        """How far back approvals matter (what a restart must replay)."""
        return MINUTE

    def _prune(self, now: datetime) -> None:
        """Drop what left each window. Approvals arrive in time order, so both windows are
        counted by their length instead of a scan (decision 0166)."""
        horizon = now - MINUTE
        sent = self._sent
        while sent and sent[0] <= horizon:
            sent.popleft()
        horizon = now - SECOND
        second = self._second
        while second and second[0] <= horizon:
            second.popleft()

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if not self._sent or not is_entry(request, ctx):
            return APPROVE
        per_minute, per_second = self.per_minute, self.per_second
        if (per_minute is None or len(self._sent) < per_minute) and (
            per_second is None or len(self._second) < per_second
        ):
            return APPROVE  # under both limits before pruning: pruning only lowers the counts
        self._prune(ctx.now())
        if self.per_minute is not None and len(self._sent) >= self.per_minute:
            return Reject(
                self.name, f"{len(self._sent)} orders in the last minute, max {self.per_minute}"
            )
        if self.per_second is not None and len(self._second) >= self.per_second:
            return Reject(
                self.name,
                f"{len(self._second)} orders in the last second, max {self.per_second}",
            )
        return APPROVE

    def on_approved(self, request: OrderRequest, now: datetime) -> None:
        """Record an approval. The windows are pruned every `PRUNE_EVERY` approvals, not on
        each (an approval pays two datetime sums less): `check` prunes before it ever refuses,
        so counts near a limit stay exact, and the queues hold at most a window plus
        `PRUNE_EVERY` entries (decision 0355)."""
        sent = self._sent
        if len(sent) % PRUNE_EVERY == 0:
            self._prune(now)
        sent.append(now)
        self._second.append(now)


@dataclass
class DuplicateOrderGuard:
    """Refuses an entry for the same contract and side as one approved within `window`. A step
    of smart limit pricing (`replaces` set) is the same order re-priced, not a duplicate."""

    window: timedelta
    entry_only: ClassVar[bool] = True
    name: str = "duplicate_order"
    _last: dict[tuple[str, bool], datetime] = field(default_factory=dict, repr=False)

    @property
    def memory(self) -> timedelta:
        """How far back approvals matter (what a restart must replay)."""
        return self.window

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if request.replaces is not None:
            return APPROVE  # a smart-pricing step replacing its cancelled predecessor
        last = self._last.get((request.symbol, request.side is BUY))
        if last is None:
            return APPROVE
        age = ctx.now() - last
        if age >= self.window:
            return APPROVE
        return Reject(
            self.name,
            f"{request.side} {request.symbol} already sent "
            f"{age.total_seconds():.1f}s ago (window "
            f"{self.window.total_seconds():g}s)",
        )

    def on_approved(self, request: OrderRequest, now: datetime) -> None:
        if len(self._last) > 4096:  # forget expired keys now and then
            self._last = {k: t for k, t in self._last.items() if now - t < self.window}
        self._last[(request.symbol, request.side is BUY)] = now  # an enum hashes slowly
