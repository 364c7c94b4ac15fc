"""Interactive Brokers ⇄ TradeFly translation: statuses, error codes, contracts, orders, fills.

Pure functions over ib_async objects (no socket), so each table row is unit-tested. Our client
order id travels in IB's `orderRef`, which IB keeps on the order and on every execution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from ib_async import (
    AccountValue,
    ComboLeg,
    Contract,
    LimitOrder,
    MarketOrder,
    Option,
    Position,
    Trade,
)
from ib_async import Fill as IbFill
from ib_async import Order as IbOrder

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
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from market.instruments import OptionRight, OptionSymbol, is_option_symbol

S = OrderStatus
#: IB order status → ours; None = nothing changes for us (still on its way, or a warning on a
#: live order). Cancelled may really be a rejection: see `status_of`.
ORDER_STATUS: dict[str, OrderStatus | None] = {
    "PendingSubmit": None,
    "ApiPending": None,
    "ApiUpdate": None,
    "ValidationError": None,  # a warning: IB keeps the order live
    "PendingCancel": None,
    "PreSubmitted": S.ACCEPTED,
    "Submitted": S.ACCEPTED,
    "Filled": S.FILLED,
    "ApiCancelled": S.CANCELLED,
    "Cancelled": S.CANCELLED,
    "Inactive": S.REJECTED,
}
del S

#: IB error codes that are information, not failures (data farms, connectivity restored).
INFO_CODES = frozenset({1101, 1102, 2103, 2104, 2105, 2106, 2107, 2108, 2119, 2158, 10167})
#: The connection to IB's servers is lost (TWS itself still answers).
CONNECTIVITY_LOST = frozenset({1100, 2110})
#: Codes that need a person: another program holds our client id, no API permission.
FATAL_CODES = frozenset({326, 502, 10141})
_PACING = frozenset({100, 420})
_BUYING_POWER_WORDS = ("buying power", "margin", "equity with loan", "insufficient funds")
_TIF = {TimeInForce.DAY: "DAY", TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC"}


def status_of(trade: Trade) -> tuple[OrderStatus | None, str]:
    """Our status for an IB trade, and why when it was refused or cancelled by IB."""
    raw = trade.orderStatus.status
    status = ORDER_STATUS.get(raw)
    if status is OrderStatus.ACCEPTED and trade.orderStatus.filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    last = trade.log[-1] if trade.log else None
    code = getattr(last, "errorCode", 0) if last is not None else 0
    if status is OrderStatus.CANCELLED and code and code != 202:
        # ib_async marks an order IB refused as Cancelled; the error code tells them apart.
        return OrderStatus.REJECTED, f"ibkr {code}: {_reason(last.message if last else '')}"
    if status is OrderStatus.REJECTED:
        return status, f"ibkr: order inactive{': ' + last.message if last else ''}"
    return status, ""


def _reason(message: str) -> str:
    text = message.split(": ", 1)[-1] if message.startswith(("Error", "Warning")) else message
    if any(word in text.lower() for word in _BUYING_POWER_WORDS):
        return f"insufficient buying power: {text}"
    return text


def error_for(code: int, text: str) -> BrokerError | None:
    """An IB error code → our error class; None for information messages."""
    if code in INFO_CODES or (2100 <= code < 2200 and code not in CONNECTIVITY_LOST):
        return None
    message = f"ibkr {code}: {text}"
    if code in FATAL_CODES:
        return FatalBrokerError(message)
    if code in _PACING:
        return RateLimited(message)
    if code in CONNECTIVITY_LOST or code in (504, 1300):
        return TransientBrokerError(message)
    if code == 201 and any(word in text.lower() for word in _BUYING_POWER_WORDS):
        return InsufficientBuyingPower(message)
    return OrderRejected(message)


# -- contracts ----------------------------------------------------------------------------
def option_contract(symbol: str) -> Option:
    spec = OptionSymbol.parse(symbol)
    return Option(spec.root, f"{spec.expiration:%Y%m%d}", spec.strike, spec.right.value,
                  "SMART", multiplier="100", currency="USD")


def contract_for(symbol: str) -> Contract:
    if is_option_symbol(symbol):
        return option_contract(symbol)
    return Contract(symbol=symbol, secType="STK", exchange="SMART", currency="USD")


def symbol_of(contract: Contract) -> str:
    """Our symbol for an IB contract: OCC for options, the ticker otherwise."""
    if contract.secType in ("OPT", "FOP") and contract.lastTradeDateOrContractMonth:
        ymd = contract.lastTradeDateOrContractMonth[:8]
        expiry = date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:8]))
        return OptionSymbol(contract.symbol, expiry, OptionRight(contract.right[:1]),
                            float(contract.strike)).occ
    if contract.secType == "BAG" and contract.comboLegs:
        return "|".join(str(leg.conId) for leg in contract.comboLegs)
    return contract.symbol


def multiplier_of(contract: Contract) -> float:
    try:
        return float(contract.multiplier or 1)
    except ValueError:
        return 1.0


# -- orders -------------------------------------------------------------------------------
def ib_order(req: OrderRequest, account: str = "") -> IbOrder:
    action = "BUY" if req.side is Side.BUY else "SELL"
    order: IbOrder
    if req.order_type is OrderType.MARKET:
        order = MarketOrder(action, req.quantity)
    else:
        if req.limit_price is None or req.limit_price <= 0:
            raise OrderRejected(f"{req.client_order_id}: a limit order needs a positive "
                                "limit price")
        order = LimitOrder(action, req.quantity, round(req.limit_price, 2))
    order.orderRef = req.client_order_id
    order.tif = _TIF[req.time_in_force]
    order.account = account
    return order


def combo(order: MultiLegOrder, con_ids: list[int], account: str = "") -> tuple[Contract,
                                                                                 IbOrder]:
    """A BAG contract and its order: IB fills all legs together or none."""
    legs = [ComboLeg(conId=con_id, ratio=leg.ratio,
                     action="BUY" if leg.side is Side.BUY else "SELL", exchange="SMART")
            for leg, con_id in zip(order.legs, con_ids, strict=True)]
    bag = Contract(symbol=order.underlying, secType="BAG", exchange="SMART", currency="USD",
                   comboLegs=legs)
    ib: IbOrder = (MarketOrder("BUY", order.quantity) if order.order_type is OrderType.MARKET
                   else LimitOrder("BUY", order.quantity, round(order.limit_price or 0.0, 2)))
    ib.orderRef, ib.tif, ib.account = order.client_order_id, _TIF[order.time_in_force], account
    return bag, ib


def client_id_of(trade: Trade) -> str:
    """Our client order id, or a stable stand-in for an order placed outside the bot."""
    return trade.order.orderRef or f"ib-{trade.order.permId or trade.order.orderId}"


def broker_order(trade: Trade) -> BrokerOrder:
    order, status = trade.order, trade.orderStatus
    ours, _ = status_of(trade)
    limit = float(order.lmtPrice or 0.0) if order.orderType == "LMT" else None
    return BrokerOrder(
        client_order_id=client_id_of(trade),
        broker_order_id=str(order.permId or status.permId or order.orderId),
        symbol=symbol_of(trade.contract), side=Side.BUY if order.action == "BUY" else Side.SELL,
        quantity=int(order.totalQuantity), filled_quantity=int(status.filled),
        status=ours or OrderStatus.ACCEPTED, limit_price=limit,
        average_fill_price=float(status.avgFillPrice or 0.0))


def fill(ib: IbFill, client_order_id: str) -> Fill:
    ex = ib.execution
    commission = ib.commissionReport.commission if ib.commissionReport else 0.0
    when = ex.time if isinstance(ex.time, datetime) else ib.time  # the venue's time first
    ts = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return Fill(ex.execId, client_order_id, symbol_of(ib.contract),
                Side.BUY if ex.side in ("BOT", "BUY") else Side.SELL, int(ex.shares),
                float(ex.price), ts, float(commission or 0.0))


def position(p: Position) -> BrokerPosition:
    # IB reports the average cost per contract including the multiplier.
    return BrokerPosition(symbol_of(p.contract), int(p.position),
                          float(p.avgCost) / multiplier_of(p.contract))


def account(values: list[AccountValue]) -> Account:
    wanted = {v.tag: float(v.value) for v in values
              if v.currency in ("USD", "BASE", "") and _is_number(v.value)}
    extra: dict[str, float] = {
        k: wanted[k] for k in ("AvailableFunds", "ExcessLiquidity", "InitMarginReq",
                               "MaintMarginReq", "GrossPositionValue") if k in wanted}
    return Account(equity=wanted.get("NetLiquidation", 0.0),
                   cash=wanted.get("TotalCashValue", 0.0),
                   buying_power=wanted.get("BuyingPower", 0.0), extra=extra)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ModelGreeks:
    """IB's model Greeks for one option (per share; None where IB sent none)."""

    implied_volatility: float | None
    delta: float | None
    gamma: float | None
    vega: float | None
    theta: float | None
    underlying_price: float | None
