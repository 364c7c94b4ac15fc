"""Alpaca ⇄ TradeFly translation: statuses, errors, orders, fills, positions, account.

Pure functions over alpaca-py models (no network), so every row of every table is unit-tested.
Nothing outside the Alpaca adapter ever sees an alpaca-py type.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderClass, PositionIntent, PositionSide, TradeEvent
from alpaca.trading.enums import OrderSide as VSide
from alpaca.trading.enums import OrderStatus as VStatus
from alpaca.trading.enums import TimeInForce as VTif
from alpaca.trading.models import Order as VOrder
from alpaca.trading.models import Position as VPosition
from alpaca.trading.models import TradeAccount, TradeUpdate
from alpaca.trading.requests import (
    LimitOrderRequest,
    MarketOrderRequest,
    OptionLegRequest,
)
from alpaca.trading.requests import OrderRequest as VOrderRequest

from brokers.base import (
    BrokerError,
    FatalBrokerError,
    InsufficientBuyingPower,
    OrderRejected,
    RateLimited,
    TransientBrokerError,
)
from brokers.multileg import MultiLegOrder
from brokers.orders import (
    Account,
    BrokerOrder,
    BrokerPosition,
    Fill,
    Intent,
    OrderRequest,
    OrderStatus,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
)
from brokers.retry import RequestNotSent

S = OrderStatus
#: Alpaca order status → ours. Working states that are not fills count as ACCEPTED (and as
#: PARTIALLY_FILLED once something has filled, see `order_status`). `replaced` is not terminal
#: for us: the replacement carries the order on (see `base_client_id`).
ORDER_STATUS: dict[VStatus, OrderStatus] = {
    VStatus.NEW: S.ACCEPTED,
    VStatus.PENDING_NEW: S.ACCEPTED,
    VStatus.ACCEPTED: S.ACCEPTED,
    VStatus.ACCEPTED_FOR_BIDDING: S.ACCEPTED,
    VStatus.PENDING_REVIEW: S.ACCEPTED,
    VStatus.HELD: S.ACCEPTED,
    VStatus.CALCULATED: S.ACCEPTED,
    VStatus.STOPPED: S.ACCEPTED,
    VStatus.SUSPENDED: S.ACCEPTED,
    VStatus.PENDING_CANCEL: S.ACCEPTED,
    VStatus.PENDING_REPLACE: S.ACCEPTED,
    VStatus.REPLACED: S.ACCEPTED,
    VStatus.DONE_FOR_DAY: S.ACCEPTED,
    VStatus.PARTIALLY_FILLED: S.PARTIALLY_FILLED,
    VStatus.FILLED: S.FILLED,
    VStatus.CANCELED: S.CANCELLED,
    VStatus.EXPIRED: S.EXPIRED,
    VStatus.REJECTED: S.REJECTED,
}

#: Trade-updates event → ours; None = no change of status for us (the order's own status is
#: refreshed by reconciliation).
TRADE_EVENT: dict[str, OrderStatus | None] = {
    TradeEvent.NEW.value: S.ACCEPTED,
    TradeEvent.PENDING_NEW.value: S.ACCEPTED,
    TradeEvent.ACCEPTED.value: S.ACCEPTED,
    TradeEvent.PARTIAL_FILL.value: S.PARTIALLY_FILLED,
    TradeEvent.FILL.value: S.FILLED,
    TradeEvent.CANCELED.value: S.CANCELLED,
    TradeEvent.EXPIRED.value: S.EXPIRED,
    TradeEvent.REJECTED.value: S.REJECTED,
    TradeEvent.PENDING_CANCEL.value: None,
    TradeEvent.PENDING_REPLACE.value: None,
    TradeEvent.REPLACED.value: None,
    TradeEvent.RESTATED.value: None,
    "done_for_day": None,
    "calculated": None,
    "suspended": None,
    "order_replace_rejected": None,
    "order_cancel_rejected": None,
}
del S

_TIF = {TimeInForce.DAY: VTif.DAY, TimeInForce.GTC: VTif.GTC, TimeInForce.IOC: VTif.IOC}
_INTENT = {
    (Side.BUY, Intent.OPEN): PositionIntent.BUY_TO_OPEN,
    (Side.BUY, Intent.CLOSE): PositionIntent.BUY_TO_CLOSE,
    (Side.SELL, Intent.OPEN): PositionIntent.SELL_TO_OPEN,
    (Side.SELL, Intent.CLOSE): PositionIntent.SELL_TO_CLOSE,
}

#: Replacements get `<client id>~r<n>` so every fill of a replaced order maps back to ours.
REPLACE_MARK = "~r"


def base_client_id(client_order_id: str) -> str:
    return client_order_id.split(REPLACE_MARK, 1)[0]


def order_status(vendor: VStatus | str, filled_qty: float = 0.0) -> OrderStatus:
    status = ORDER_STATUS.get(VStatus(vendor), OrderStatus.ACCEPTED)
    if status is OrderStatus.ACCEPTED and filled_qty > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


# -- outbound -----------------------------------------------------------------------------
def order_request(req: OrderRequest, *, options: bool = True) -> VOrderRequest:
    """Our request → alpaca-py's. Options orders carry an explicit position intent."""
    common: dict[str, Any] = {
        "symbol": req.symbol, "qty": req.quantity, "side": VSide(req.side.value),
        "time_in_force": _TIF[req.time_in_force], "client_order_id": req.client_order_id,
    }
    if options:
        common["position_intent"] = _INTENT[(req.side, req.intent)]
    if req.order_type is OrderType.MARKET:
        return MarketOrderRequest(**common)
    if req.limit_price is None or req.limit_price <= 0:
        raise OrderRejected(f"{req.client_order_id}: a limit order needs a positive limit price")
    return LimitOrderRequest(limit_price=round(req.limit_price, 2), **common)


def multileg_request(order: MultiLegOrder) -> VOrderRequest:
    """A 2–4 leg options order, atomic at Alpaca (order class `mleg`)."""
    legs = [OptionLegRequest(symbol=leg.symbol, ratio_qty=leg.ratio, side=VSide(leg.side.value),
                             position_intent=_INTENT[(leg.side, leg.intent)])
            for leg in order.legs]
    common: dict[str, Any] = {
        "qty": order.quantity, "order_class": OrderClass.MLEG, "legs": legs,
        "time_in_force": _TIF[order.time_in_force], "client_order_id": order.client_order_id,
    }
    if order.order_type is OrderType.MARKET:
        return MarketOrderRequest(**common)
    assert order.limit_price is not None  # MultiLegOrder validates this
    return LimitOrderRequest(limit_price=round(order.limit_price, 2), **common)


# -- inbound ------------------------------------------------------------------------------
def _num(value: Any, default: float = 0.0) -> float:
    if value is None or value == "":
        return default
    return float(value)


def broker_order(v: VOrder) -> BrokerOrder:
    filled = _num(v.filled_qty)
    side = Side(v.side.value if v.side is not None else "buy")
    return BrokerOrder(
        client_order_id=base_client_id(v.client_order_id), broker_order_id=str(v.id),
        symbol=v.symbol or "", side=side, quantity=int(_num(v.qty)), filled_quantity=int(filled),
        status=order_status(v.status, filled),
        limit_price=_num(v.limit_price) if v.limit_price is not None else None,
        average_fill_price=_num(v.filled_avg_price))


def order_update(update: TradeUpdate, underlying: str = "") -> OrderUpdate | None:
    """A trade-updates event → our update (with its fill), or None when it changes nothing."""
    event = update.event.value if isinstance(update.event, TradeEvent) else str(update.event)
    status = TRADE_EVENT.get(event)
    if status is None:
        return None
    order = update.order
    cid = base_client_id(order.client_order_id)
    fill = None
    if status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
        if order.legs or not order.symbol:
            # A multi-leg fill is per leg, not per combo: the legs' FILL activities are
            # adopted by reconciliation. Only the status is news here.
            return OrderUpdate(cid, status, update.timestamp, str(order.id))
        if update.execution_id is None or update.qty is None or update.price is None:
            return None  # a fill we cannot identify is left to reconciliation
        fill = Fill(str(update.execution_id), cid, order.symbol or "",
                    Side(order.side.value if order.side else "buy"), int(update.qty),
                    float(update.price), update.timestamp, underlying=underlying)
    reason = f"alpaca: {event}" if status is OrderStatus.REJECTED else ""
    return OrderUpdate(cid, status, update.timestamp, str(order.id), fill, reason)


def fill_from_activity(activity: dict[str, Any], client_order_id: str) -> Fill:
    """A FILL account activity → our fill, keyed by the execution id the stream also uses.

    Activity ids are `<time>::<execution id>`; the part after `::` is the stream's
    `execution_id`, so a fill seen on both paths is recorded once.
    """
    raw_id = str(activity["id"])
    fill_id = raw_id.split("::", 1)[1] if "::" in raw_id else raw_id
    ts = datetime.fromisoformat(str(activity["transaction_time"]).replace("Z", "+00:00"))
    return Fill(fill_id, base_client_id(client_order_id), str(activity["symbol"]),
                Side(str(activity["side"]).split("_")[0]), int(_num(activity["qty"])),
                _num(activity["price"]), ts)


def broker_position(p: VPosition) -> BrokerPosition:
    qty = int(_num(p.qty))
    if p.side == PositionSide.SHORT and qty > 0:
        qty = -qty
    return BrokerPosition(p.symbol, qty, _num(p.avg_entry_price))


def account(a: TradeAccount) -> Account:
    extra = {k: _num(getattr(a, k)) for k in (
        "options_buying_power", "daytrading_buying_power", "regt_buying_power",
        "long_market_value", "short_market_value", "initial_margin", "maintenance_margin")
        if getattr(a, k, None) not in (None, "")}
    if a.options_trading_level is not None:
        extra["options_trading_level"] = float(a.options_trading_level)
    buying_power = extra.get("options_buying_power", _num(a.buying_power))
    return Account(equity=_num(a.equity), cash=_num(a.cash), buying_power=buying_power,
                   extra=extra)


def account_problem(a: TradeAccount) -> str | None:
    """Why this account cannot trade, if it cannot."""
    if a.account_blocked:
        return "account is blocked"
    if a.trading_blocked:
        return "trading is blocked on this account"
    return None


# -- errors -------------------------------------------------------------------------------
def translate_error(exc: BaseException, *, submit: bool = False) -> BrokerError:
    """A vendor or transport exception → our error class. The message never holds secrets."""
    if isinstance(exc, BrokerError):
        return exc
    if isinstance(exc, APIError):
        return _api_error(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout | ConnectionRefusedError):
        return RequestNotSent(f"alpaca unreachable: {type(exc).__name__}")
    if isinstance(exc, requests.exceptions.ConnectionError) and _refused(exc):
        return RequestNotSent("alpaca unreachable: connection refused")
    if isinstance(exc, requests.exceptions.RequestException | TimeoutError | OSError):
        what = "no answer" if submit else "transport error"
        return TransientBrokerError(f"alpaca {what}: {type(exc).__name__}")
    return FatalBrokerError(f"alpaca: unexpected {type(exc).__name__}: {exc}")


def _refused(exc: requests.exceptions.ConnectionError) -> bool:
    text = str(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def _api_error(exc: APIError) -> BrokerError:
    status = exc.status_code or 0
    message, code = _body(exc)
    text = f"alpaca {status}: {message}" + (f" (code {code})" if code else "")
    if status == 429:
        return RateLimited(text, _retry_after(exc))
    if status >= 500:
        return TransientBrokerError(text)
    if status == 401:
        return FatalBrokerError(text)
    if "buying power" in message.lower():
        return InsufficientBuyingPower(text)
    if status == 403 and "forbidden" in message.lower():
        return FatalBrokerError(text)
    return OrderRejected(text)


def _body(exc: APIError) -> tuple[str, Any]:
    raw = str(exc)
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:200], None
    if not isinstance(data, dict):
        return raw[:200], None
    return str(data.get("message", raw))[:200], data.get("code")


def _retry_after(exc: APIError) -> float | None:
    response = exc.response
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, APIError) and exc.status_code == 404
