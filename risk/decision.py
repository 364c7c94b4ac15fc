"""What a risk rule can say about an order: approve, reject with a reason, or resize."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Approve:
    pass


@dataclass(frozen=True, slots=True)
class Reject:
    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Resize:
    quantity: int
    rule: str
    reason: str


Decision = Approve | Reject | Resize

APPROVE = Approve()
