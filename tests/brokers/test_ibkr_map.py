"""Interactive Brokers → TradeFly translation, row by row (no socket)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from ib_async import (
    AccountValue,
    CommissionReport,
    Contract,
    Execution,
    LimitOrder,
    Option,
    OrderStatus,
    Position,
    Trade,
    TradeLogEntry,
)
from ib_async import Fill as IbFill

from brokers import ibkr_map as imap
from brokers.base import (
    FatalBrokerError,
    InsufficientBuyingPower,
    OrderRejected,
    RateLimited,
    TransientBrokerError,
)
from brokers.ibkr_config import IbkrConfig
from brokers.orders import OrderRequest, OrderType, Side, TimeInForce
from brokers.orders import OrderStatus as S

OPT = Option("AAPL", "20250620", 100.0, "C", "SMART", multiplier="100", currency="USD",
             conId=7)
EXPECTED = {
    "PendingSubmit": None, "ApiPending": None, "ApiUpdate": None, "ValidationError": None,
    "PendingCancel": None, "PreSubmitted": S.ACCEPTED, "Submitted": S.ACCEPTED,
    "Filled": S.FILLED, "ApiCancelled": S.CANCELLED, "Cancelled": S.CANCELLED,
    "Inactive": S.REJECTED,
}


def trade(status: str, filled: float = 0.0, log: list[TradeLogEntry] | None = None) -> Trade:
    order = LimitOrder("BUY", 3, 1.5, orderRef="tf-1", permId=42, orderId=5)
    return Trade(OPT, order, OrderStatus(orderId=5, status=status, filled=filled,
                                         remaining=3 - filled, permId=42), [], log or [])


def test_every_ib_status_has_a_row() -> None:
    statuses = {v for k, v in vars(OrderStatus).items() if k[0].isupper() and isinstance(v, str)}
    assert statuses == set(imap.ORDER_STATUS)


@pytest.mark.parametrize(("ib", "ours"), sorted(EXPECTED.items()))
def test_status_row(ib: str, ours) -> None:
    assert imap.status_of(trade(ib))[0] is ours


def test_submitted_with_fills_is_partially_filled() -> None:
    assert imap.status_of(trade("Submitted", filled=1))[0] is S.PARTIALLY_FILLED


def test_cancel_carrying_an_error_code_is_a_rejection_with_ibs_reason() -> None:
    entry = TradeLogEntry(datetime.now(UTC), "Cancelled",
                          "Error 201, reqId 5: Order rejected - reason:insufficient margin", 201)
    status, reason = imap.status_of(trade("Cancelled", log=[entry]))
    assert status is S.REJECTED
    assert reason.startswith("ibkr 201: insufficient buying power")
    plain = TradeLogEntry(datetime.now(UTC), "Cancelled", "Order Canceled", 202)
    assert imap.status_of(trade("Cancelled", log=[plain])) == (S.CANCELLED, "")


@pytest.mark.parametrize(("code", "text", "cls"), [
    (2104, "Market data farm connection is OK:usfarm", None),
    (1102, "Connectivity restored - data maintained", None),
    (1100, "Connectivity between IB and TWS has been lost", TransientBrokerError),
    (504, "Not connected", TransientBrokerError),
    (100, "Max rate of messages per second has been exceeded", RateLimited),
    (326, "Unable connect as the client id is already in use", FatalBrokerError),
    (201, "Order rejected - reason:Insufficient margin (equity with loan)",
     InsufficientBuyingPower),
    (201, "Order rejected - reason:The contract is not available for trading", OrderRejected),
    (110, "The price does not conform to the minimum price variation", OrderRejected),
])
def test_error_code_row(code: int, text: str, cls) -> None:
    error = imap.error_for(code, text)
    if cls is None:
        assert error is None
    else:
        assert type(error) is cls and str(code) in str(error)


def test_occ_round_trip_and_contracts() -> None:
    contract = imap.option_contract("AAPL250620C00100000")
    assert (contract.symbol, contract.lastTradeDateOrContractMonth, contract.strike,
            contract.right, contract.multiplier) == ("AAPL", "20250620", 100.0, "C", "100")
    assert imap.symbol_of(OPT) == "AAPL250620C00100000"
    assert imap.symbol_of(Contract(symbol="SPY", secType="STK")) == "SPY"
    assert imap.contract_for("SPY").secType == "STK"


def test_orders_carry_our_client_id_in_order_ref() -> None:
    req = OrderRequest("tf-7", "AAPL250620C00100000", Side.SELL, 2, limit_price=1.234,
                       time_in_force=TimeInForce.GTC)
    order = imap.ib_order(req, "DU1")
    assert (order.orderRef, order.action, order.totalQuantity, order.lmtPrice, order.tif,
            order.account) == ("tf-7", "SELL", 2, 1.23, "GTC", "DU1")
    market = imap.ib_order(OrderRequest("tf-8", "SPY", Side.BUY, 1,
                                        order_type=OrderType.MARKET))
    assert market.orderType == "MKT"
    external = trade("Submitted")
    external.order.orderRef = ""
    assert imap.client_id_of(external) == "ib-42"


def test_fill_position_and_account() -> None:
    ex = Execution(execId="e.1", time=datetime(2025, 6, 2, 15, 0, 1, tzinfo=UTC), side="SLD",
                   shares=2.0, price=1.5, permId=42, cumQty=2.0, orderRef="tf-1")
    fill = imap.fill(IbFill(OPT, ex, CommissionReport(execId="e.1", commission=1.3),
                            datetime(2026, 1, 1, tzinfo=UTC)), "tf-1")
    assert (fill.fill_id, fill.side, fill.quantity, fill.price, fill.commission) == (
        "e.1", Side.SELL, 2, 1.5, 1.3)
    assert fill.ts == datetime(2025, 6, 2, 15, 0, 1, tzinfo=UTC)  # the venue's time
    pos = imap.position(Position("DU1", OPT, -2.0, 250.0))
    assert (pos.symbol, pos.quantity, pos.average_price) == ("AAPL250620C00100000", -2, 2.5)
    values = [AccountValue("DU1", "NetLiquidation", "1000.5", "USD", ""),
              AccountValue("DU1", "TotalCashValue", "900", "USD", ""),
              AccountValue("DU1", "BuyingPower", "3600", "USD", ""),
              AccountValue("DU1", "AccountType", "INDIVIDUAL", "", "")]
    account = imap.account(values)
    assert (account.equity, account.cash, account.buying_power) == (1000.5, 900.0, 3600.0)


@pytest.mark.parametrize(("utc", "inside"), [
    (datetime(2025, 6, 3, 3, 44, tzinfo=UTC), False),  # 23:44 New York (EDT)
    (datetime(2025, 6, 3, 3, 45, tzinfo=UTC), True),   # 23:45
    (datetime(2025, 6, 3, 4, 30, tzinfo=UTC), True),   # 00:30, past midnight
    (datetime(2025, 6, 3, 4, 45, tzinfo=UTC), False),  # 00:45: IB is back
    (datetime(2025, 1, 7, 4, 50, tzinfo=UTC), True),   # 23:50 EST in winter
])
def test_nightly_window_wraps_midnight_in_new_york(utc: datetime, inside: bool) -> None:
    assert IbkrConfig().in_downtime(utc) is inside


def test_a_daytime_window_and_an_empty_one() -> None:
    noon = IbkrConfig(downtime_start=time(12), downtime_end=time(13))
    assert noon.in_downtime(datetime(2025, 6, 2, 16, 30, tzinfo=UTC))
    assert not noon.in_downtime(datetime(2025, 6, 2, 17, 30, tzinfo=UTC))
    assert not IbkrConfig(downtime_start=time(1), downtime_end=time(1)).in_downtime(
        datetime(2025, 6, 2, 5, 0, tzinfo=UTC))
