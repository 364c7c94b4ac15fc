"""The risk manager: the one gate every order passes before it can reach a broker.

An ordered list of small rules; the first rejection wins, resizes shrink the order for the
rules after them, and the verdict records every rule that spoke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.decision import Approve, Decision, Reject, Resize


class RiskRule(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision: ...


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

    def check(self, request: OrderRequest, ctx: RiskContext) -> Verdict:
        resizes: list[Resize] = []
        for rule in self.rules:
            decision = rule.check(request, ctx)
            if isinstance(decision, Approve):
                continue
            if isinstance(decision, Reject):
                return Verdict(request, decision, tuple(resizes))
            if decision.quantity <= 0:
                return Verdict(request, Reject(decision.rule, decision.reason), tuple(resizes))
            if decision.quantity < request.quantity:
                request = request.with_quantity(decision.quantity)
                resizes.append(decision)
        return Verdict(request, None, tuple(resizes))
