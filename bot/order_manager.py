"""The order manager: the one path from an order request to a broker.

Every request goes through the risk manager (invariant 1). An approved order is written to the
store with its client order id *before* it is sent (invariant 3); a denial is stored as an
order in status DENIED with the rule and the reason. Broker updates move orders along the
state machine in `brokers.orders`; an illegal move is refused and logged. A fill, its order's
new state and the resulting position are stored in one transaction, keyed by the broker's fill
id, so a fill is never counted twice and never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.brackets import Bracket
from bot.combo_orders import ComboOrder, ComboOrders
from bot.events import EventBus, Notice
from bot.ids import ClientIdGenerator
from bot.metrics import Metrics
from bot.portfolio import Portfolio
from bot.store.store import Store, StoreError
from brokers.base import Broker, BrokerError, OrderRejected, SubmitOutcomeUnknown
from brokers.multileg import MultiLegOrder
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
from market.clock import Clock
from risk.context import RiskContext
from risk.manager import RiskManager

log = logging.getLogger(__name__)

FillListener = Callable[[Fill, Order | None], None]
StatusListener = Callable[[Order], None]


@dataclass
class OrderManager:
    store: Store
    broker: Broker
    risk: RiskManager
    portfolio: Portfolio
    clock: Clock
    ids: ClientIdGenerator
    bus: EventBus
    metrics: Metrics
    ctx: RiskContext | None = None
    orders: dict[str, Order] = field(default_factory=dict)
    fill_listeners: list[FillListener] = field(default_factory=list)
    status_listeners: list[StatusListener] = field(default_factory=list)
    store_healthy: bool = True
    unrecorded_fills: list[Fill] = field(default_factory=list)
    _open: dict[str, Order] = field(default_factory=dict)  # index: working orders only
    #: Moves whenever an order is tracked or its status or filled quantity changes: the risk
    #: view rebuilds its sums over working orders only when it moved (decision 0355).
    version: int = 0
    combos: ComboOrders = field(init=False)  # multi-leg orders (bot/combo_orders.py)

    def __post_init__(self) -> None:
        self.broker.set_listener(self.on_update)
        self.combos = ComboOrders(self)

    # -- outbound -------------------------------------------------------------------------
    def new_request(self, symbol: str, side: Side, quantity: int, *, intent: Intent,
                    order_type: OrderType = OrderType.LIMIT, limit_price: float | None = None,
                    underlying: str = "", strategy: str = "", reason: str = "",
                    parent_id: str | None = None) -> OrderRequest:
        return OrderRequest(self.ids.next(), symbol, side, quantity, order_type, limit_price,
                            intent, underlying=underlying, strategy=strategy, reason=reason,
                            parent_id=parent_id)

    def submit(self, request: OrderRequest, bracket: Bracket | None = None) -> Order:
        """Risk-check, record, then send. Returns the order in its resulting status. An
        entry's `bracket` is recorded with the order, before it is sent."""
        assert self.ctx is not None, "OrderManager.ctx must be wired before trading"
        now = self.clock.now()
        if not self.store_healthy and request.intent is Intent.OPEN:
            return self._deny(request, "store", "the store is failing: no new entries", now)
        verdict = self.risk.check(request, self.ctx)
        if verdict.rejection is not None:
            rej = verdict.rejection
            return self._deny(request, rej.rule, rej.reason, now)
        request = verdict.request
        order = Order(request, now, updated_at=now)
        quote = self.ctx.quote(request.symbol)
        if quote is not None:  # the market the order met: the base of execution quality
            order.nbbo_bid, order.nbbo_ask = quote.bid, quote.ask
        try:
            self.store.insert_order(order, bracket=bracket)
            for resize in verdict.resizes:
                self.store.add_risk_decision(now, request.client_order_id, request.symbol,
                                             "resize", resize.rule, resize.reason)
        except StoreError as exc:
            self._store_failed(exc)
            return order  # never sent: nothing to reconcile
        self.track(order)
        self._send(order)
        return order

    def submit_combo(self, spec: MultiLegOrder, bracket: Bracket | None = None) -> ComboOrder:
        """The same path for a multi-leg order: risk-check the whole combo, record it, its
        legs and its `bracket`, then send it as one venue order (refused where the venue
        cannot)."""
        return self.combos.submit(spec, bracket)

    def _send(self, order: Order) -> None:
        try:
            self.broker.submit(order)
        except OrderRejected as exc:
            self._apply_status(order, OrderStatus.REJECTED, str(exc), self.clock.now())
        except (SubmitOutcomeUnknown, BrokerError) as exc:
            # We cannot know whether the broker has it: find it by client id later, never resend.
            self._apply_status(order, OrderStatus.PENDING_RECONCILIATION, str(exc),
                               self.clock.now())

    def cancel(self, client_order_id: str) -> None:
        if self.combos.cancel(client_order_id):
            return  # a combo, or one of its legs: the venue holds one order
        order = self.orders.get(client_order_id)
        if order is None or order.status.is_terminal:
            return
        try:
            self.broker.cancel(client_order_id)
        except BrokerError as exc:
            log.warning("cancel of %s failed: %s", client_order_id, exc)

    def _deny(self, request: OrderRequest, rule: str, reason: str, now: datetime) -> Order:
        order = Order(request, now, OrderStatus.DENIED, updated_at=now,
                      status_reason=f"{rule}: {reason}")
        self.metrics.risk_denials.labels(rule).inc()
        self.metrics.orders.labels(OrderStatus.DENIED.value).inc()
        try:
            self.store.add_risk_decision(now, request.client_order_id, request.symbol, "reject",
                                         rule, reason)
            self.store.insert_order(order, risk_rule=rule)
        except StoreError as exc:
            self._store_failed(exc)
        self.bus.publish(Notice("order_denied", now,
                                f"Denied {request.side} {request.quantity} {request.symbol}: "
                                f"{reason} [{rule}]",
                                data={"client_order_id": request.client_order_id,
                                      "rule": rule, "reason": reason}))
        return order

    # -- inbound --------------------------------------------------------------------------
    def on_update(self, update: OrderUpdate) -> None:
        """Apply a broker update. Safe to call twice with the same update."""
        if self.combos.combos and self.combos.combo_id(update.client_order_id) is not None:
            self.combos.on_update(update)
            return
        order = self.orders.get(update.client_order_id)
        if update.fill is not None:
            self._apply_fill(update, order)
            return
        if order is None:
            log.info("update for unknown order %s (%s): left to reconciliation",
                     update.client_order_id, update.status)
            return
        if update.broker_order_id and not order.broker_order_id:
            order.broker_order_id = update.broker_order_id
        self._apply_status(order, update.status, update.reason, update.ts)

    def _apply_status(self, order: Order, status: OrderStatus, reason: str,
                      ts: datetime) -> None:
        if status is order.status:
            if order.broker_order_id:
                self._persist(order)
            return
        if not can_transition(order.status, status):
            self.metrics.illegal_transitions.inc()
            log.warning("refused illegal transition %s -> %s for %s", order.status.value,
                        status.value, order.client_order_id)
            return
        order.status, order.status_reason, order.updated_at = status, reason, ts
        self._reindex(order)
        self.metrics.orders.labels(status.value).inc()
        self._persist(order)
        for listener in self.status_listeners:
            listener(order)
        if status in (OrderStatus.REJECTED, OrderStatus.PENDING_RECONCILIATION):
            self.bus.publish(Notice(f"order_{status.value}", ts,
                                    f"Order {order.client_order_id} {order.request.symbol} "
                                    f"{status.value}: {reason}", priority=2))

    def _apply_fill(self, update: OrderUpdate, order: Order | None) -> None:
        fill = update.fill
        assert fill is not None
        if not fill.underlying and order is not None:
            fill = Fill(fill.fill_id, fill.client_order_id, fill.symbol, fill.side,
                        fill.quantity, fill.price, fill.ts, fill.commission,
                        order.request.underlying)
        after: Order | None = None
        if order is not None:
            # Work on a copy: the in-memory order changes only once the fill is stored.
            total = order.filled_quantity + fill.quantity
            status = update.status
            if status not in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
                status = (OrderStatus.FILLED if total >= order.request.quantity
                          else OrderStatus.PARTIALLY_FILLED)
            if not can_transition(order.status, status):
                status = order.status
            avg = (order.average_fill_price * order.filled_quantity
                   + fill.price * fill.quantity) / total
            after = replace(order, status=status, filled_quantity=total,
                            average_fill_price=avg, updated_at=fill.ts,
                            broker_order_id=update.broker_order_id or order.broker_order_id)
        position = self.portfolio.preview(fill)
        quote = self.ctx.quote(fill.symbol) if self.ctx is not None else None
        nbbo = None if quote is None else (quote.bid, quote.ask)
        try:
            recorded = self.store.record_fill(fill, after, position.stored(), nbbo)
        except StoreError as exc:
            # The venue has it; keep it and retry, and reconciliation would find it anyway.
            self.unrecorded_fills.append(fill)
            self._store_failed(exc)
            return
        if not recorded:
            return
        if order is not None and after is not None:
            order.status, order.filled_quantity = after.status, after.filled_quantity
            order.average_fill_price, order.updated_at = after.average_fill_price, fill.ts
            order.broker_order_id = after.broker_order_id
            self._reindex(order)
        self.portfolio.commit(fill, position)
        self.metrics.fills.inc()
        self.bus.publish(Notice("fill", fill.ts,
                                f"Filled {fill.side} {fill.quantity} {fill.symbol} @ "
                                f"{fill.price:.2f} (fees {fill.commission:.2f})",
                                data={"client_order_id": fill.client_order_id,
                                      "symbol": fill.symbol, "side": fill.side.value,
                                      "quantity": fill.quantity, "price": fill.price}))
        for listener in self.fill_listeners:
            listener(fill, order)
        if order is not None:
            for status_listener in self.status_listeners:
                status_listener(order)

    def _persist(self, order: Order) -> None:
        try:
            self.store.update_order(order)
        except StoreError as exc:
            self._store_failed(exc)

    def _store_failed(self, exc: Exception) -> None:
        self.metrics.store_errors.inc()
        if self.store_healthy:
            self.store_healthy = False
            log.error("store write failed, new entries stopped: %s", exc)
            self.bus.publish(Notice("store_failed", self.clock.now(),
                                    f"Store failing, entries stopped: {exc}", priority=2))

    def retry_store(self) -> None:
        """Retry fills that could not be written; entries resume once everything is stored."""
        pending, self.unrecorded_fills = self.unrecorded_fills, []
        for fill in pending:
            self._apply_fill(OrderUpdate(fill.client_order_id, OrderStatus.PARTIALLY_FILLED,
                                         fill.ts, fill=fill),
                             self.orders.get(fill.client_order_id))
        if not self.unrecorded_fills:
            try:
                self.store.flush()
                self.store_healthy = True
            except StoreError:
                pass

    # -- queries --------------------------------------------------------------------------
    def track(self, order: Order) -> None:
        """Register an order (new, restored or adopted) with the manager."""
        self.orders[order.client_order_id] = order
        self._reindex(order)

    def _reindex(self, order: Order) -> None:
        self.version += 1
        if order.status.is_open:
            self._open[order.client_order_id] = order
        else:
            self._open.pop(order.client_order_id, None)

    def open_orders(self) -> list[Order]:
        return list(self._open.values())

    def working_entries(self) -> int:
        return sum(1 for o in self._open.values()
                   if o.request.intent is Intent.OPEN
                   and self.portfolio.quantity(o.request.symbol) == 0)
