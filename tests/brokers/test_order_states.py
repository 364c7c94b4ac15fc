"""The order state machine: legal moves allowed, everything else refused."""

from __future__ import annotations

import pytest

from brokers.orders import TRANSITIONS, OrderStatus, can_transition

S = OrderStatus


@pytest.mark.parametrize("terminal", [S.FILLED, S.CANCELLED, S.REJECTED, S.EXPIRED, S.DENIED])
def test_terminal_states_never_move(terminal: OrderStatus) -> None:
    assert terminal.is_terminal
    assert all(not can_transition(terminal, other) for other in OrderStatus)


@pytest.mark.parametrize(("old", "new"), [
    (S.NEW, S.ACCEPTED), (S.NEW, S.FILLED), (S.ACCEPTED, S.PARTIALLY_FILLED),
    (S.PARTIALLY_FILLED, S.FILLED), (S.NEW, S.PENDING_RECONCILIATION),
    (S.PENDING_RECONCILIATION, S.FILLED), (S.PENDING_RECONCILIATION, S.CANCELLED),
])
def test_legal_moves(old: OrderStatus, new: OrderStatus) -> None:
    assert can_transition(old, new)


@pytest.mark.parametrize(("old", "new"), [
    (S.PARTIALLY_FILLED, S.ACCEPTED), (S.ACCEPTED, S.NEW), (S.PARTIALLY_FILLED, S.REJECTED),
    (S.NEW, S.DENIED), (S.PENDING_RECONCILIATION, S.NEW),
])
def test_illegal_moves(old: OrderStatus, new: OrderStatus) -> None:
    assert not can_transition(old, new)


def test_every_status_has_a_row() -> None:
    assert set(TRANSITIONS) == set(OrderStatus)
