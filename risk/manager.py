"""The risk manager: the one gate every order passes before it can reach a broker.

An ordered list of small rules; the first rejection wins, resizes shrink the order for the
rules after them, and the verdict records every rule that spoke. The manager decides once per
order whether it is an exit (it only shrinks a held position); rules marked `entry_only` are
skipped for exits, so no entry limit can ever block a stop-loss or a flatten. Rules that keep
a memory of what went out (the order-rate throttle, the duplicate guard) are told about each
approved order through `on_approved`, so a denied order never counts against a later one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol, runtime_checkable

from brokers.orders import Order, OrderRequest
from risk.context import RiskContext
from risk.decision import APPROVE, Approve, Decision, Reject, Resize
from risk.members import DENIED
from risk.reducing import checking, reduces_position

Check = Callable[[OrderRequest, RiskContext], Decision]

#: How far back `RiskManager.remember` replays for a stateful rule that does not say.
MAX_MEMORY = timedelta(minutes=1)


class RiskRule(Protocol):
    """A rule. Set a class attribute `entry_only = True` when it only limits entries: the
    manager then never asks it about an exit, and the rule need not check for one."""

    @property
    def name(self) -> str: ...

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision: ...


@runtime_checkable
class StatefulRule(Protocol):
    """A rule that remembers approved orders (rates, duplicates)."""

    def on_approved(self, request: OrderRequest, now: datetime) -> None: ...


@runtime_checkable
class WarmingRule(Protocol):
    """A rule that keeps sums over the account (the Greeks limit): `warm` lets it rebuild them
    when the books change, in that event's handler, instead of in the next order's check."""

    def warm(self, ctx: RiskContext) -> None: ...


class Verdict(NamedTuple):
    """The outcome for one order: the request to send (possibly resized) or the rejection.
    A named tuple: immutable like a frozen dataclass, and about three times cheaper to build
    on the hot path (one per order)."""

    request: OrderRequest
    rejection: Reject | None = None
    resizes: tuple[Resize, ...] = ()

    @property
    def approved(self) -> bool:
        return self.rejection is None


class RiskManager:
    def __init__(self, rules: Sequence[RiskRule]) -> None:
        self.rules = list(rules)
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate risk rule names in {names}")
        self._plan()

    def _plan(self) -> None:
        """The rule list per order kind, as bound `check` methods: an entry asks every rule,
        an exit only those not marked `entry_only` (decision 0166)."""
        rules = self.rules
        self._entry_checks: tuple[Check, ...] = tuple(r.check for r in rules)
        self._exit_checks: tuple[Check, ...] = tuple(
            r.check for r in rules if not getattr(r, "entry_only", False)
        )
        self._on_approved = tuple(r.on_approved for r in rules if isinstance(r, StatefulRule))
        self._warm = tuple(r.warm for r in rules if isinstance(r, WarmingRule))

    def warm(self, ctx: RiskContext) -> None:
        """Let the rules that keep sums over the account rebuild them now (called by the
        bot's view after a fill or an order's status change, outside any check)."""
        for warm in self._warm:
            warm(ctx)

    def check(self, request: OrderRequest, ctx: RiskContext) -> Verdict:
        resizes: list[Resize] | None = None
        ctx.begin_check()
        try:
            exit_order = reduces_position(request, ctx)
            checking(request, ctx, exit_order)
            for check in self._exit_checks if exit_order else self._entry_checks:
                decision = check(request, ctx)
                if decision is APPROVE or isinstance(decision, Approve):
                    continue
                if isinstance(decision, Reject):
                    return Verdict(request, decision, () if resizes is None else tuple(resizes))
                if decision.quantity <= 0:
                    return Verdict(
                        request,
                        Reject(decision.rule, decision.reason),
                        () if resizes is None else tuple(resizes),
                    )
                if decision.quantity < request.quantity:
                    request = request.with_quantity(decision.quantity)
                    if resizes is None:
                        resizes = []
                    resizes.append(decision)
            if self._on_approved:
                now = ctx.now()
                for on_approved in self._on_approved:
                    on_approved(request, now)
            return Verdict(request, None, () if resizes is None else tuple(resizes))
        finally:
            checking(None, None, False)
            ctx.end_check()

    @property
    def memory(self) -> timedelta | None:
        """How far back the rules that remember approvals look (the longest of their windows),
        None when no rule remembers anything."""
        spans = [
            getattr(r, "memory", MAX_MEMORY) for r in self.rules if isinstance(r, StatefulRule)
        ]
        return max(spans, default=None)

    def remember(self, orders: Iterable[Order], now: datetime) -> int:
        """Replay orders this gate approved before a restart into the rules that remember
        approvals (the order-rate throttle, the duplicate guard), oldest first, so their
        windows survive the restart (decision 0167). Denied orders and orders older than
        `memory` are skipped; returns how many were replayed."""
        horizon = self.memory
        if horizon is None:
            return 0
        since = now - horizon
        recent = sorted(
            (o for o in orders if o.status is not DENIED and o.created_at >= since),
            key=lambda o: o.created_at,
        )
        for order in recent:
            for on_approved in self._on_approved:
                on_approved(order.request, order.created_at)
        return len(recent)

    def add_rule(self, rule: RiskRule) -> None:
        """Append a rule built after the manager (one that needs the bot's own books)."""
        if any(r.name == rule.name for r in self.rules):
            raise ValueError(f"duplicate risk rule name {rule.name}")
        self.rules.append(rule)
        self._plan()

    def rule(self, name: str) -> RiskRule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)
