"""Multi-leg orders in the order manager: one risk check, one store-before-send, one venue
order, and fills and positions per leg.

A combo lives in our books as a parent order row (symbol: a short label such as
`AAPL 2-leg combo`, price: the net price per combo, debit > 0) and one order row per leg
(`<combo id>.L<n>`, `parent_id` = the combo's id, quantity = combos x ratio). The venue only
ever hears of the combo's client order id; its per-leg fills come back under that id with the
leg's symbol and are booked on the leg's row, so positions, P&L, execution quality and the
risk exposure all see ordinary per-contract orders and fills. The leg rows are working orders
of the order manager (the exposure counts every leg); the parent is not (it would count the
contracts twice), and moves along the same state machine here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.brackets import Bracket
from bot.events import Notice
from bot.store.store import StoreError
from brokers.base import BrokerError, OrderRejected
from brokers.multileg import (
    LEG_MARK,
    ComboVenue,
    Leg,
    MultiLegOrder,
    combo_id_of,
    net_quote,
)
from brokers.orders import (
    Fill,
    Intent,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    can_transition,
)
from risk.rules.multileg import ComboGate

if TYPE_CHECKING:
    from bot.order_manager import OrderManager

log = logging.getLogger(__name__)

#: The rule name a venue refusal is recorded under.
VENUE_RULE = "venue_combos"


@dataclass
class ComboOrder:
    """One combo in our books: what was asked, its parent row, and one order per leg."""

    spec: MultiLegOrder
    parent: Order
    legs: list[Order] = field(default_factory=list)

    @property
    def client_order_id(self) -> str:
        return self.spec.client_order_id

    @property
    def status(self) -> OrderStatus:
        return self.parent.status

    @property
    def filled_quantity(self) -> int:
        """Whole combos filled: the least-filled leg decides."""
        if not self.legs:
            return 0
        return min(
            order.filled_quantity // leg.ratio
            for leg, order in zip(self.spec.legs, self.legs, strict=True)
        )

    @property
    def remaining(self) -> int:
        return self.spec.quantity - self.filled_quantity

    def leg_for(self, symbol: str) -> Order | None:
        return next((o for o in self.legs if o.request.symbol == symbol), None)


ComboListener = Callable[[ComboOrder], None]


def parent_request(spec: MultiLegOrder) -> OrderRequest:
    """The combo's own row: its label, its net price, its quantity of combos."""
    return OrderRequest(
        spec.client_order_id,
        spec.label,
        Side.BUY,
        spec.quantity,
        spec.order_type,
        spec.limit_price,
        Intent.CLOSE if spec.closes else Intent.OPEN,
        spec.time_in_force,
        underlying=spec.underlying,
        strategy=spec.strategy,
        reason=spec.reason,
        replaces=spec.replaces,
    )


def leg_requests(spec: MultiLegOrder) -> list[OrderRequest]:
    return [
        OrderRequest(
            spec.leg_id(i),
            leg.symbol,
            leg.side,
            spec.quantity * leg.ratio,
            spec.order_type,
            None,
            leg.intent,
            spec.time_in_force,
            underlying=spec.underlying,
            strategy=spec.strategy,
            reason=f"leg {i + 1} of {spec.client_order_id}",
            parent_id=spec.client_order_id,
        )
        for i, leg in enumerate(spec.legs)
    ]


class ComboOrders:
    """The multi-leg side of the order manager (`OrderManager.combos`)."""

    def __init__(self, manager: OrderManager) -> None:
        self.om = manager
        self.combos: dict[str, ComboOrder] = {}
        self._by_leg: dict[str, str] = {}
        self.listeners: list[ComboListener] = []

    @property
    def gate(self) -> ComboGate:
        """The combo gate over the manager's current rules (tests may swap the manager)."""
        return ComboGate(self.om.risk)

    # -- outbound -------------------------------------------------------------------------
    def submit(self, spec: MultiLegOrder, bracket: Bracket | None = None) -> ComboOrder:
        """Venue check, risk check, store parent, legs and bracket in one transaction, then
        send as one order."""
        om = self.om
        assert om.ctx is not None, "OrderManager.ctx must be wired before trading"
        now = om.clock.now()
        if not isinstance(om.broker, ComboVenue):
            return self._deny(
                spec,
                VENUE_RULE,
                f"{om.broker.name} cannot take a multi-leg "
                "order as one order; refused, never legged in",
                now,
            )
        if not om.store_healthy and not spec.closes:
            return self._deny(spec, "store", "the store is failing: no new entries", now)
        verdict = self.gate.check(spec, om.ctx)
        if verdict.rejection is not None:
            return self._deny(spec, verdict.rejection.rule, verdict.rejection.reason, now)
        spec = verdict.order
        combo = ComboOrder(
            spec,
            Order(parent_request(spec), now, updated_at=now),
            [Order(r, now, updated_at=now) for r in leg_requests(spec)],
        )
        market = net_quote(spec.legs, om.ctx.quote)
        if market is not None:  # the market the combo met, net and per leg
            combo.parent.nbbo_bid, combo.parent.nbbo_ask = market.bid, market.ask
        for order in combo.legs:
            quote = om.ctx.quote(order.request.symbol)
            if quote is not None:
                order.nbbo_bid, order.nbbo_ask = quote.bid, quote.ask
        try:
            om.store.insert_orders([combo.parent, *combo.legs], bracket)
            for resize in verdict.resizes:
                om.store.add_risk_decision(
                    now, spec.client_order_id, spec.label, "resize", resize.rule, resize.reason
                )
        except StoreError as exc:
            om._store_failed(exc)
            return combo  # never sent: nothing to reconcile
        self._register(combo)
        self._send(combo)
        return combo

    def _send(self, combo: ComboOrder) -> None:
        venue = self.om.broker
        assert isinstance(venue, ComboVenue)
        try:
            venue.submit_multileg(combo.spec)
        except OrderRejected as exc:
            self._apply(combo, OrderStatus.REJECTED, str(exc), self.om.clock.now())
        except BrokerError as exc:  # the venue may have it: find it by client id, never resend
            self._apply(combo, OrderStatus.PENDING_RECONCILIATION, str(exc), self.om.clock.now())

    def cancel(self, client_order_id: str) -> bool:
        """Cancel the combo `client_order_id` names (its own id or a leg's); False when it
        names no combo. A leg is never cancelled alone: the venue holds one order."""
        cid = self.combo_id(client_order_id)
        if cid is None:
            return False
        combo = self.combos[cid]
        if combo.status.is_terminal:
            return True
        try:
            self.om.broker.cancel(cid)
        except BrokerError as exc:
            log.warning("cancel of combo %s failed: %s", cid, exc)
        return True

    def _deny(self, spec: MultiLegOrder, rule: str, reason: str, now: datetime) -> ComboOrder:
        om = self.om
        parent = Order(
            parent_request(spec),
            now,
            OrderStatus.DENIED,
            updated_at=now,
            status_reason=f"{rule}: {reason}",
        )
        om.metrics.risk_denials.labels(rule).inc()
        om.metrics.orders.labels(OrderStatus.DENIED.value).inc()
        try:
            om.store.add_risk_decision(
                now, spec.client_order_id, spec.label, "reject", rule, reason
            )
            om.store.insert_order(parent, risk_rule=rule)
        except StoreError as exc:
            om._store_failed(exc)
        legs = ", ".join(f"{leg.side} {leg.ratio} {leg.symbol}" for leg in spec.legs)
        om.bus.publish(
            Notice(
                "order_denied",
                now,
                f"Denied {spec.quantity} x {spec.label} ({legs}): {reason} [{rule}]",
                data={
                    "client_order_id": spec.client_order_id,
                    "rule": rule,
                    "reason": reason,
                    "legs": legs,
                },
            )
        )
        return ComboOrder(spec, parent)

    # -- inbound --------------------------------------------------------------------------
    def combo_id(self, client_order_id: str) -> str | None:
        """The combo a client order id belongs to (itself or one of its legs), if any."""
        if client_order_id in self.combos:
            return client_order_id
        return self._by_leg.get(client_order_id)

    def on_update(self, update: OrderUpdate) -> None:
        """A venue's news about a combo: leg fills go to the leg's row, statuses to all."""
        cid = self.combo_id(update.client_order_id)
        if cid is None:
            return
        combo = self.combos[cid]
        if update.broker_order_id:
            combo.parent.broker_order_id = combo.parent.broker_order_id or update.broker_order_id
        if update.fill is not None:
            self._leg_fill(combo, update)
            return
        if update.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
            return  # the legs' fills carry the fill status (a venue may say it first)
        self._apply(combo, update.status, update.reason, update.ts, update.broker_order_id)

    def _apply(
        self,
        combo: ComboOrder,
        status: OrderStatus,
        reason: str,
        ts: datetime,
        broker_order_id: str | None = None,
    ) -> None:
        """A status of the whole combo: every leg moves with it, then the parent."""
        for order in combo.legs:
            if broker_order_id and not order.broker_order_id:
                order.broker_order_id = broker_order_id
            self.om._apply_status(order, status, reason, ts)
        self._set_status(combo, status, reason, ts)

    def _leg_fill(self, combo: ComboOrder, update: OrderUpdate) -> None:
        fill = update.fill
        assert fill is not None
        leg = combo.leg_for(fill.symbol)
        if leg is None:
            # IB also reports the BAG itself; our books hold legs only.
            log.info(
                "combo %s: fill %s of %s is not a leg; ignored",
                combo.client_order_id,
                fill.fill_id,
                fill.symbol,
            )
            return
        ours = Fill(
            fill.fill_id,
            leg.client_order_id,
            fill.symbol,
            fill.side,
            fill.quantity,
            fill.price,
            fill.ts,
            fill.commission,
            fill.underlying or combo.spec.underlying,
        )
        total = leg.filled_quantity + ours.quantity
        status = (
            OrderStatus.FILLED if total >= leg.request.quantity else OrderStatus.PARTIALLY_FILLED
        )
        self.om._apply_fill(
            OrderUpdate(leg.client_order_id, status, update.ts, update.broker_order_id, ours), leg
        )
        filled = combo.filled_quantity
        if filled != combo.parent.filled_quantity:
            self._book_parent_fill(combo, filled, fill.ts)
        if all(o.status is OrderStatus.FILLED for o in combo.legs):
            self._set_status(combo, OrderStatus.FILLED, "", fill.ts)
        elif any(o.filled_quantity for o in combo.legs):
            self._set_status(combo, OrderStatus.PARTIALLY_FILLED, "", fill.ts)

    def _book_parent_fill(self, combo: ComboOrder, filled: int, ts: datetime) -> None:
        """The parent's filled combos and net average price, from its legs."""
        net = 0.0
        for leg, order in zip(combo.spec.legs, combo.legs, strict=True):
            net += leg.side.sign * leg.ratio * order.average_fill_price
        combo.parent.filled_quantity, combo.parent.average_fill_price = filled, round(net, 6)
        combo.parent.updated_at = ts
        self._persist(combo.parent)

    def _set_status(
        self, combo: ComboOrder, status: OrderStatus, reason: str, ts: datetime
    ) -> None:
        parent = combo.parent
        if status is parent.status:
            if parent.broker_order_id:
                self._persist(parent)  # the venue's id, learnt with a repeated status
            return
        if not can_transition(parent.status, status):
            self.om.metrics.illegal_transitions.inc()
            log.warning(
                "refused illegal transition %s -> %s for combo %s",
                parent.status.value,
                status.value,
                combo.client_order_id,
            )
            return
        parent.status, parent.status_reason, parent.updated_at = status, reason, ts
        self.om.metrics.orders.labels(status.value).inc()
        self._persist(parent)
        if status in (OrderStatus.REJECTED, OrderStatus.PENDING_RECONCILIATION):
            self.om.bus.publish(
                Notice(
                    f"order_{status.value}",
                    ts,
                    f"Combo {combo.client_order_id} {combo.spec.label} {status.value}: {reason}",
                    priority=2,
                )
            )
        for listener in self.listeners:
            listener(combo)

    def _persist(self, order: Order) -> None:
        try:
            self.om.store.update_order(order)
        except StoreError as exc:
            self.om._store_failed(exc)

    # -- books ----------------------------------------------------------------------------
    def _register(self, combo: ComboOrder) -> None:
        self.combos[combo.client_order_id] = combo
        for order in combo.legs:
            self._by_leg[order.client_order_id] = combo.client_order_id
            self.om.track(order)

    def open_combos(self) -> list[ComboOrder]:
        return [c for c in self.combos.values() if c.status.is_open]

    def spreads_held(self, held: Container[str]) -> list[ComboOrder]:
        """The opened spreads whose legs are all still held (each leg in one spread only):
        the limits that count trades or positions count each of them once."""
        out: list[ComboOrder] = []
        grouped: set[str] = set()
        for combo in self.combos.values():
            legs = {leg.symbol for leg in combo.spec.legs}
            if (combo.spec.intent is not Intent.OPEN or not combo.filled_quantity
                    or len(legs) < 2 or not legs.isdisjoint(grouped)
                    or not all(symbol in held for symbol in legs)):
                continue
            grouped |= legs
            out.append(combo)
        return out

    def restore(self, stored: Iterable[Order]) -> set[str]:
        """Rebuild combos from stored rows (after a restart); returns the parents' ids, which
        the caller must not track as single orders (their legs are tracked here)."""
        rows = {o.client_order_id: o for o in stored}
        legs: dict[str, list[Order]] = {}
        for order in rows.values():
            owner = combo_id_of(order.client_order_id)
            if owner is not None and order.request.parent_id == owner and owner in rows:
                legs.setdefault(owner, []).append(order)
        for cid, leg_rows in legs.items():
            parent = rows[cid]
            leg_rows.sort(key=lambda o: int(o.client_order_id.rsplit(LEG_MARK, 1)[1]))
            qty = parent.request.quantity
            spec = MultiLegOrder(
                cid,
                tuple(
                    Leg(
                        o.request.symbol,
                        o.request.side,
                        o.request.quantity // qty,
                        o.request.intent,
                    )
                    for o in leg_rows
                ),
                qty,
                parent.request.order_type,
                parent.request.limit_price,
                parent.request.time_in_force,
                parent.request.strategy,
                parent.request.reason,
                parent.request.replaces,
            )
            self.combos[cid] = ComboOrder(spec, parent, leg_rows)
            for order in leg_rows:
                self._by_leg[order.client_order_id] = cid
        return set(legs)


def reprice(
    spec: MultiLegOrder, client_order_id: str, quantity: int, limit_price: float
) -> MultiLegOrder:
    """The next step of a combo worked in steps: a new id, what is left, a new net price."""
    return replace(
        spec,
        client_order_id=client_order_id,
        quantity=quantity,
        order_type=OrderType.LIMIT,
        limit_price=limit_price,
        replaces=spec.client_order_id,
    )
