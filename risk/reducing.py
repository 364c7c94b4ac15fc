"""Entry or exit: the one distinction every rule and the manager rely on.

An order is an exit only when it shrinks a held position toward zero, counting what other
working orders on the same side already close. Everything else, including a closing order
that would flip the position, is an entry. The manager decides it once per order; rules
marked `entry_only` are never asked about exits, so an exit cannot be blocked by them.
"""

from __future__ import annotations

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.members import BUY


class _Current:
    """The order the manager is checking and its answer, so the rules that ask again (the
    trading-state gate, the throttle) do not recount working orders (decision 0166)."""

    __slots__ = ("ctx", "reduces", "request")

    def __init__(self) -> None:
        self.request: OrderRequest | None = None
        self.ctx: RiskContext | None = None
        self.reduces = False


_current = _Current()


def checking(request: OrderRequest | None, ctx: RiskContext | None, reduces: bool) -> None:
    """Set (or clear, with None) the answer for the order being checked. Only the manager calls
    this, inside `begin_check`/`end_check`, when nothing can change."""
    _current.request, _current.ctx, _current.reduces = request, ctx, reduces


def reduces_position(request: OrderRequest, ctx: RiskContext) -> bool:
    """True when the order only shrinks a held position toward zero (`_reduces`); for the
    order being checked, the manager's answer."""
    cur = _current
    if request is cur.request and ctx is cur.ctx:
        return cur.reduces
    return _reduces(request, ctx)


def _reduces(request: OrderRequest, ctx: RiskContext) -> bool:
    """True when the order only shrinks an existing position toward zero, counting the
    quantity that other working orders on the same side are already closing: two exits that
    together would flip the position are not both "reducing"."""
    held = ctx.position_quantity(request.symbol)
    if held == 0 or (held > 0) == (request.side is BUY):
        return False
    closing = request.quantity
    if closing > abs(held):
        return False
    for order in ctx.working_orders():
        r = order.request
        if (
            r.symbol == request.symbol
            and r.side is request.side
            and (r.client_order_id != request.client_order_id)
        ):
            closing += order.remaining
    return closing <= abs(held)


def is_entry(request: OrderRequest, ctx: RiskContext) -> bool:
    """Anything that is not a pure reduction is an entry: entry-only rules gate it."""
    return not reduces_position(request, ctx)
