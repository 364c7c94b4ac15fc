"""The risk manager: the one gate every order passes before it can reach a broker.

An ordered list of small rules; the first rejection wins, resizes shrink the order for the
rules after them, and the verdict records every rule that spoke. The manager decides once per
order whether it is an exit (it only shrinks a held position); rules marked `entry_only` are
skipped for exits, so no entry limit can ever block a stop-loss or a flatten. Rules that keep
a memory of what went out (the order-rate throttle, the duplicate guard) are told about each
approved order through `on_approved`, so a denied order never counts against a later one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.decision import Approve, Decision, Reject, Resize
from risk.reducing import reduces_position


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


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one order: the request to send (possibly resized) or the rejection."""

    request: OrderRequest
    rejection: Reject | None = None
    resizes: tuple[Resize, ...] = field(default=())

    @property
    def approved(self) -> bool:
        return self.rejection is None


class RiskManager:
    def __init__(self, rules: Sequence[RiskRule]) -> None:
        self.rules = list(rules)
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate risk rule names in {names}")
        self._stateful = [r for r in self.rules if isinstance(r, StatefulRule)]
        self._plan = [(r, bool(getattr(r, "entry_only", False))) for r in self.rules]

    def check(self, request: OrderRequest, ctx: RiskContext) -> Verdict:
        resizes: list[Resize] = []
        ctx.begin_check()
        try:
            exit_order = reduces_position(request, ctx)
            for rule, entry_only in self._plan:
                if entry_only and exit_order:
                    continue
                decision = rule.check(request, ctx)
                if isinstance(decision, Approve):
                    continue
                if isinstance(decision, Reject):
                    return Verdict(request, decision, tuple(resizes))
                if decision.quantity <= 0:
                    return Verdict(request, Reject(decision.rule, decision.reason),
                                   tuple(resizes))
                if decision.quantity < request.quantity:
                    request = request.with_quantity(decision.quantity)
                    resizes.append(decision)
            if self._stateful:
                now = ctx.now()
                for stateful in self._stateful:
                    stateful.on_approved(request, now)
            return Verdict(request, None, tuple(resizes))
        finally:
            ctx.end_check()

    def add_rule(self, rule: RiskRule) -> None:
        """Append a rule built after the manager (one that needs the bot's own books)."""
        if any(r.name == rule.name for r in self.rules):
            raise ValueError(f"duplicate risk rule name {rule.name}")
        self.rules.append(rule)
        self._plan.append((rule, bool(getattr(rule, "entry_only", False))))
        if isinstance(rule, StatefulRule):
            self._stateful.append(rule)

    def rule(self, name: str) -> RiskRule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)
