"""Startup and periodic reconciliation: our books against the broker's, by client order id.

- A fill the broker has and we do not is adopted (recorded through the normal fill path).
- An order we recorded but never heard back about is looked up; if the broker does not have it,
  it was never received: it is closed as cancelled with that reason and *never resent*.
- An order the broker has that we never recorded is adopted as external and reported.
- Positions are compared at the end; any difference is reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.brackets import Bracket, BracketBook
from bot.combo_brackets import SpreadBracket, SpreadBracketBook
from bot.events import Notice
from bot.order_manager import OrderManager
from bot.portfolio import Portfolio, multiplier
from bot.spread_exits import held_combos
from bot.store.store import Store
from brokers.base import Broker, BrokerError
from brokers.fill_match import twin_of
from brokers.orders import Fill, Intent, Order, OrderRequest, OrderStatus, OrderUpdate, Side

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    adopted_fills: list[str] = field(default_factory=list)
    updated_orders: list[str] = field(default_factory=list)
    never_received: list[str] = field(default_factory=list)
    still_unknown: list[str] = field(default_factory=list)
    external_orders: list[str] = field(default_factory=list)
    position_differences: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not any((self.adopted_fills, self.updated_orders, self.never_received,
                        self.still_unknown, self.external_orders, self.position_differences))

    def lines(self) -> list[str]:
        out = []
        for label, items in (("adopted fills", self.adopted_fills),
                             ("orders updated from broker", self.updated_orders),
                             ("orders the broker never received (not resent)",
                              self.never_received),
                             ("orders still unknown (pending reconciliation)", self.still_unknown),
                             ("external orders adopted", self.external_orders),
                             ("position differences", self.position_differences)):
            if items:
                out.append(f"{label}: {', '.join(items)}")
        return out


def restore(store: Store, orders: OrderManager, portfolio: Portfolio) -> None:
    """Load our own books (open orders, positions, cash) into memory. A combo's parent row is
    handed to the combo book (its legs are tracked like any order). After reconciliation,
    `Engine.resume` picks up the brackets and the working orders' deadlines."""
    loaded = store.load_orders()
    parents = orders.combos.restore(loaded)
    for order in loaded:
        if order.client_order_id not in parents:
            orders.track(order)
    fills = store.load_fills()
    cash = portfolio.starting_cash
    for f in fills:
        cash -= f.side.sign * f.price * f.quantity * multiplier(f.symbol) + f.commission
    portfolio.restore(store.load_positions(), cash)
    portfolio.fills_seen = len(fills)


def resume_brackets(store: Store, orders: OrderManager, portfolio: Portfolio,
                    brackets: BracketBook, spreads: SpreadBracketBook) -> None:
    """After a restart, watch again the stored brackets of positions still held or entries
    still working; a bracket whose entry ended without a position is closed, so it can never
    fire on a later position in the same contract. A bracket whose entry is a combo goes back
    on the spread with that combo's legs."""
    entering = {o.request.symbol for o in orders.open_orders()
                if o.request.intent is Intent.OPEN}
    for row in store.active_brackets():
        entry_id, symbol = row["entry_id"], row["symbol"]
        bracket = Bracket(entry_id, symbol, row["target"], row["stop"], row["time_stop_at"])
        combo = orders.combos.combos.get(entry_id)
        if combo is not None:
            legs = combo.spec.legs
            if combo.status.is_open or held_combos(portfolio, legs) > 0:
                spreads.add(SpreadBracket(bracket, legs))
                continue
        elif portfolio.quantity(symbol) != 0 or symbol in entering:
            brackets.add(bracket)
            continue
        store.close_bracket(entry_id, None)



async def reconcile(store: Store, broker: Broker, orders: OrderManager,
                    portfolio: Portfolio) -> ReconcileReport:
    report = ReconcileReport()
    theirs = await broker.fetch_fills()
    # Read after the await: an adapter's own catch-up may have recorded some meanwhile.
    known_fills = store.fill_ids()
    unknown = [f for f in theirs if f.fill_id not in known_fills]
    # A fill we recorded under another id (Alpaca's stream vs its activities, decision 0251):
    # recognised by order, side, size, price and time, one to one, so it is never counted twice.
    their_ids = {f.fill_id for f in theirs}
    unclaimed = ([] if not unknown else
                 [f for f in store.load_fills() if f.fill_id not in their_ids])
    for fill in unknown:
        twin = twin_of(fill, unclaimed)
        if twin is not None:
            unclaimed.remove(twin)
            log.info("fill %s is %s already recorded under another id", fill.fill_id,
                     twin.fill_id)
            continue
        order = orders.orders.get(fill.client_order_id)
        status = OrderStatus.PARTIALLY_FILLED
        orders.on_update(OrderUpdate(fill.client_order_id, status, fill.ts, fill=fill))
        report.adopted_fills.append(f"{fill.fill_id} ({fill.side} {fill.quantity} "
                                    f"{fill.symbol} @ {fill.price:.2f})")
        if order is None and orders.combos.combo_id(fill.client_order_id) is None:
            log.warning("adopted fill %s for an order we never recorded", fill.fill_id)
    for order in list(orders.open_orders()):
        if orders.combos.combo_id(order.client_order_id) is None:  # legs: by their combo
            await _reconcile_order(order, broker, orders, report)
    for combo in orders.combos.open_combos():
        await _reconcile_order(combo.parent, broker, orders, report)
    await _adopt_external(broker, orders, report)
    await _compare_positions(broker, orders, portfolio, report)
    if not report.clean:
        text = "; ".join(report.lines())
        log.warning("reconciliation found differences: %s", text)
        orders.bus.publish(Notice("reconciliation", orders.clock.now(),
                                  f"Reconciliation: {text}", priority=2))
    store.flush()
    return report


async def _compare_positions(broker: Broker, orders: OrderManager, portfolio: Portfolio,
                             report: ReconcileReport) -> None:
    """Our positions against the broker's, after every known fill is in.

    A position the broker holds less of (closed in the broker's app, assigned, exercised) is
    corrected down to the broker's figure with an adjustment at the current mark, so the bot
    never tries to exit what is gone. A position the bot never took is reported, never adopted:
    it is not ours to manage or to count against our limits.
    """
    theirs = {bp.symbol: bp.quantity for bp in await broker.fetch_positions()}
    for symbol in sorted(set(theirs) | {p.symbol for p in portfolio.open_positions()}):
        ours, broker_qty = portfolio.quantity(symbol), theirs.get(symbol, 0)
        if ours == broker_qty:
            continue
        shrank = ours != 0 and abs(broker_qty) < abs(ours) and (broker_qty == 0 or (
            broker_qty > 0) == (ours > 0))
        if not shrank:
            report.position_differences.append(
                f"{symbol}: ours {ours}, broker {broker_qty} (not ours: left alone)")
            continue
        _adjust(symbol, ours - broker_qty, orders, portfolio)
        report.position_differences.append(
            f"{symbol}: ours {ours}, broker {broker_qty} (closed outside the bot: corrected)")


def _adjust(symbol: str, excess: int, orders: OrderManager, portfolio: Portfolio) -> None:
    """Book the part of a position that left outside the bot, at the current mark."""
    now = orders.clock.now()
    quote = orders.ctx.quote(symbol) if orders.ctx is not None else None
    pos = portfolio.positions[symbol]
    price = quote.mid if quote is not None and quote.ask > 0 else pos.average_price
    side = Side.SELL if excess > 0 else Side.BUY
    fill = Fill(f"adjust-{symbol}-{now:%Y%m%dT%H%M%S%f}", "external-adjustment", symbol, side,
                abs(excess), price, now, 0.0, pos.underlying)
    orders.on_update(OrderUpdate(fill.client_order_id, OrderStatus.FILLED, now, fill=fill))


async def _reconcile_order(order: Order, broker: Broker, orders: OrderManager,
                           report: ReconcileReport) -> None:
    cid = order.client_order_id
    try:
        theirs = await broker.fetch_order(cid)
    except BrokerError as exc:
        report.still_unknown.append(cid)
        log.warning("could not look up %s: %s", cid, exc)
        return
    now = orders.clock.now()
    if theirs is None:
        # Recorded but never received: safe to close, never to resend.
        orders.on_update(OrderUpdate(cid, OrderStatus.CANCELLED, now,
                                     reason="not found at the broker after restart; not resent"))
        report.never_received.append(cid)
        return
    if theirs.status is not order.status:
        orders.on_update(OrderUpdate(cid, theirs.status, now, theirs.broker_order_id,
                                     reason="reconciled with broker"))
        report.updated_orders.append(f"{cid} → {theirs.status.value}")


async def _adopt_external(broker: Broker, orders: OrderManager, report: ReconcileReport) -> None:
    for theirs in await broker.fetch_open_orders():
        if theirs.client_order_id in orders.orders or (
                orders.combos.combo_id(theirs.client_order_id) is not None):
            continue
        req = OrderRequest(theirs.client_order_id, theirs.symbol, theirs.side, theirs.quantity,
                           limit_price=theirs.limit_price, reason="external: adopted at "
                           "reconciliation")
        order = Order(req, orders.clock.now(), theirs.status, theirs.filled_quantity,
                      theirs.average_fill_price, theirs.broker_order_id)
        orders.store.insert_order(order)
        orders.track(order)
        report.external_orders.append(f"{theirs.client_order_id} {theirs.side} "
                                      f"{theirs.quantity} {theirs.symbol}")
