"""Multi-leg orders at the paper venue: all legs together or none, never legged.

Fill rule (as conservative as the single-leg one): a combo fills only when its net natural
price — every buy leg at its ask, every sell leg at its bid — is at or through the combo's net
limit (a market combo takes the natural price). Every leg then fills in the same ledger
transaction at its own natural price, so the net paid is the natural price, never better than
what was quoted; the quantity is what every leg's displayed size allows (size // ratio), the
rest waits for later quotes. A combo with a leg lacking a two-sided quote rests; a new combo
with no quote at all on a leg is rejected, like a single order. No trade print fills a
combo: a print in one leg says nothing about the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from brokers.multileg import Leg, MultiLegOrder, net_quote
from brokers.orders import (
    BrokerOrder,
    Fill,
    Intent,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
)
from market.data import Quote
from market.instruments import CONTRACT_MULTIPLIER

if TYPE_CHECKING:
    from brokers.paper import PaperBroker

SCHEMA = """
CREATE TABLE IF NOT EXISTS combo_orders (
  client_order_id TEXT PRIMARY KEY, broker_order_id TEXT NOT NULL, legs TEXT NOT NULL,
  quantity INTEGER NOT NULL, order_type TEXT NOT NULL, limit_price REAL, status TEXT NOT NULL,
  filled_quantity INTEGER NOT NULL DEFAULT 0, average_fill_price REAL NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);
"""


@dataclass(slots=True)
class _Combo:
    client_order_id: str
    broker_order_id: str
    legs: tuple[Leg, ...]
    quantity: int
    order_type: OrderType
    limit_price: float | None
    status: OrderStatus = OrderStatus.ACCEPTED
    filled: int = 0
    average: float = 0.0

    @property
    def symbols(self) -> str:
        return "|".join(leg.symbol for leg in self.legs)

    def broker_order(self) -> BrokerOrder:
        return BrokerOrder(
            self.client_order_id,
            self.broker_order_id,
            self.symbols,
            Side.BUY,
            self.quantity,
            self.filled,
            self.status,
            self.limit_price,
            self.average,
        )


class PaperCombos:
    """The paper venue's combo book; it shares the venue's ledger, quotes and listener."""

    def __init__(self, venue: PaperBroker) -> None:
        self.venue = venue
        venue._db.executescript(SCHEMA)
        self.working: dict[str, _Combo] = {}
        rows = venue._db.execute(
            "SELECT client_order_id, broker_order_id, legs, quantity, order_type, limit_price,"
            " status, filled_quantity, average_fill_price FROM combo_orders"
            " WHERE status IN ('accepted', 'partially_filled')"
        ).fetchall()
        for r in rows:
            self.working[r[0]] = _Combo(
                r[0], r[1], _legs(r[2]), r[3], OrderType(r[4]), r[5], OrderStatus(r[6]), r[7], r[8]
            )

    def exists(self, client_order_id: str) -> bool:
        return (
            self.venue._db.execute(
                "SELECT 1 FROM combo_orders WHERE client_order_id=?", (client_order_id,)
            ).fetchone()
            is not None
        )

    def submit(self, order: MultiLegOrder) -> None:
        venue, cid = self.venue, order.client_order_id
        now = venue._clock.now()
        if venue._exists(cid) or self.exists(cid):
            venue._emit(
                OrderUpdate(cid, OrderStatus.REJECTED, now, reason="duplicate client order id")
            )
            return
        combo = _Combo(
            cid,
            f"PC{next(venue._order_seq):08d}",
            order.legs,
            order.quantity,
            order.order_type,
            order.limit_price,
        )
        missing = [leg.symbol for leg in order.legs if leg.symbol not in venue._quotes]
        status = OrderStatus.REJECTED if missing else OrderStatus.ACCEPTED
        combo.status = status
        venue._db.execute(
            "INSERT INTO combo_orders VALUES (?,?,?,?,?,?,?,0,0,?)",
            (
                cid,
                combo.broker_order_id,
                _legs_json(order.legs),
                order.quantity,
                order.order_type.value,
                order.limit_price,
                status.value,
                now.isoformat(),
            ),
        )
        if missing:
            venue._emit(
                OrderUpdate(
                    cid,
                    status,
                    now,
                    combo.broker_order_id,
                    reason=f"no quote for {', '.join(missing)}",
                )
            )
            return
        self.working[cid] = combo
        venue._emit(OrderUpdate(cid, status, now, combo.broker_order_id))
        self._work(combo, now)

    def cancel(self, client_order_id: str) -> bool:
        combo = self.working.get(client_order_id)
        if combo is None:
            return self.exists(client_order_id)
        self._finish(combo, OrderStatus.CANCELLED, "cancelled by request")
        return True

    def on_quote(self, quote: Quote) -> None:
        for combo in [
            c for c in self.working.values() if any(leg.symbol == quote.symbol for leg in c.legs)
        ]:
            self._work(combo, quote.ts)

    def expire(self) -> None:
        for combo in list(self.working.values()):
            self._finish(combo, OrderStatus.EXPIRED, "day order expired at the close")

    def open_orders(self) -> list[BrokerOrder]:
        return [c.broker_order() for c in self.working.values()]

    def fetch(self, client_order_id: str) -> BrokerOrder | None:
        r = self.venue._db.execute(
            "SELECT client_order_id, broker_order_id, legs, quantity, order_type, limit_price,"
            " status, filled_quantity, average_fill_price FROM combo_orders"
            " WHERE client_order_id=?",
            (client_order_id,),
        ).fetchone()
        if r is None:
            return None
        return _Combo(
            r[0], r[1], _legs(r[2]), r[3], OrderType(r[4]), r[5], OrderStatus(r[6]), r[7], r[8]
        ).broker_order()

    # -- fills ----------------------------------------------------------------------------
    def _work(self, combo: _Combo, ts: datetime) -> None:
        venue = self.venue
        market = net_quote(combo.legs, venue._quotes.get)
        if market is None:
            return  # a leg without a two-sided market: rest
        if (
            combo.order_type is OrderType.LIMIT
            and combo.limit_price is not None
            and (market.ask > combo.limit_price + 1e-9)
        ):
            return  # not marketable: rest until the net natural price reaches the limit
        qty = min(combo.quantity - combo.filled, market.size)
        if qty > 0:
            self._fill(combo, qty, ts)

    def _fill(self, combo: _Combo, qty: int, ts: datetime) -> None:
        venue, cfg = self.venue, self.venue.config
        fills: list[Fill] = []
        net = 0.0
        with venue._db:  # one transaction: every leg or none
            venue._db.execute("BEGIN")
            for leg in combo.legs:
                quote = venue._quotes[leg.symbol]
                price = quote.ask if leg.side is Side.BUY else quote.bid
                price = round(price + cfg.slippage * leg.side.sign, 4)
                contracts = qty * leg.ratio
                fees = round((cfg.commission_per_contract + cfg.fees_per_contract) * contracts, 4)
                fill = Fill(
                    f"{combo.broker_order_id}-F{next(venue._fill_seq)}",
                    combo.client_order_id,
                    leg.symbol,
                    leg.side,
                    contracts,
                    price,
                    ts,
                    fees,
                )
                venue._db.execute(
                    "INSERT INTO fills VALUES (?,?,?,?,?,?,?,?)",
                    (
                        fill.fill_id,
                        fill.client_order_id,
                        fill.symbol,
                        fill.side.value,
                        contracts,
                        price,
                        fees,
                        ts.isoformat(),
                    ),
                )
                venue._apply_position(leg.symbol, leg.side.sign * contracts, price)
                venue._db.execute(
                    "UPDATE account SET cash = cash + ? WHERE id=1",
                    (-leg.side.sign * price * contracts * CONTRACT_MULTIPLIER - fees,),
                )
                net += leg.side.sign * leg.ratio * price
                fills.append(fill)
            filled = combo.filled + qty
            combo.average = (combo.average * combo.filled + net * qty) / filled
            combo.filled = filled
            combo.status = (
                OrderStatus.FILLED if filled >= combo.quantity else OrderStatus.PARTIALLY_FILLED
            )
            venue._db.execute(
                "UPDATE combo_orders SET status=?, filled_quantity=?, average_fill_price=?"
                " WHERE client_order_id=?",
                (combo.status.value, filled, combo.average, combo.client_order_id),
            )
        if combo.status is OrderStatus.FILLED:
            self.working.pop(combo.client_order_id, None)
        for fill in fills:  # per leg, under the combo's id: the bot books each on its leg
            venue._emit(
                OrderUpdate(
                    combo.client_order_id,
                    OrderStatus.PARTIALLY_FILLED,
                    ts,
                    combo.broker_order_id,
                    fill,
                )
            )

    def _finish(self, combo: _Combo, status: OrderStatus, reason: str) -> None:
        venue = self.venue
        combo.status = status
        venue._db.execute(
            "UPDATE combo_orders SET status=? WHERE client_order_id=?",
            (status.value, combo.client_order_id),
        )
        self.working.pop(combo.client_order_id, None)
        venue._emit(
            OrderUpdate(
                combo.client_order_id,
                status,
                venue._clock.now(),
                combo.broker_order_id,
                reason=reason,
            )
        )


def _legs_json(legs: tuple[Leg, ...]) -> str:
    return json.dumps([[leg.symbol, leg.side.value, leg.ratio, leg.intent.value] for leg in legs])


def _legs(text: str) -> tuple[Leg, ...]:
    return tuple(
        Leg(s, Side(side), ratio, Intent(intent)) for s, side, ratio, intent in json.loads(text)
    )
