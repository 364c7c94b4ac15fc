"""Alpaca → TradeFly translation, row by row (no network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderStatus as VStatus
from alpaca.trading.enums import TradeEvent
from alpaca.trading.models import Order as VOrder
from alpaca.trading.models import Position, TradeAccount, TradeUpdate

from brokers import alpaca_map as amap
from brokers.base import (
    FatalBrokerError,
    InsufficientBuyingPower,
    OrderRejected,
    RateLimited,
    TransientBrokerError,
)
from brokers.multileg import Leg, MultiLegOrder
from brokers.orders import Intent, OrderRequest, OrderStatus, OrderType, Side, TimeInForce
from brokers.retry import RequestNotSent

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "alpaca"
S = OrderStatus

EXPECTED_STATUS = {
    "new": S.ACCEPTED, "pending_new": S.ACCEPTED, "accepted": S.ACCEPTED,
    "accepted_for_bidding": S.ACCEPTED, "pending_review": S.ACCEPTED, "held": S.ACCEPTED,
    "calculated": S.ACCEPTED, "stopped": S.ACCEPTED, "suspended": S.ACCEPTED,
    "pending_cancel": S.ACCEPTED, "pending_replace": S.ACCEPTED, "replaced": S.ACCEPTED,
    "done_for_day": S.ACCEPTED, "partially_filled": S.PARTIALLY_FILLED, "filled": S.FILLED,
    "canceled": S.CANCELLED, "expired": S.EXPIRED, "rejected": S.REJECTED,
}

EXPECTED_EVENT = {
    "new": S.ACCEPTED, "pending_new": S.ACCEPTED, "accepted": S.ACCEPTED,
    "partial_fill": S.PARTIALLY_FILLED, "fill": S.FILLED, "canceled": S.CANCELLED,
    "expired": S.EXPIRED, "rejected": S.REJECTED, "pending_cancel": None,
    "pending_replace": None, "replaced": None, "restated": None, "done_for_day": None,
    "calculated": None, "suspended": None, "order_replace_rejected": None,
    "order_cancel_rejected": None,
}


def fixture(name: str):
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_every_alpaca_status_has_a_row() -> None:
    assert set(amap.ORDER_STATUS) == set(VStatus)
    assert {e.value for e in TradeEvent} <= set(amap.TRADE_EVENT)


@pytest.mark.parametrize(("vendor", "ours"), sorted(EXPECTED_STATUS.items()))
def test_order_status_row(vendor: str, ours: OrderStatus) -> None:
    assert amap.order_status(vendor) is ours


@pytest.mark.parametrize("vendor", ["new", "accepted", "pending_cancel", "done_for_day"])
def test_working_order_with_a_fill_is_partially_filled(vendor: str) -> None:
    assert amap.order_status(vendor, filled_qty=1) is S.PARTIALLY_FILLED


@pytest.mark.parametrize(("event", "ours"), sorted(EXPECTED_EVENT.items()))
def test_trade_event_row(event: str, ours: OrderStatus | None) -> None:
    assert amap.TRADE_EVENT[event] is ours


def test_fill_event_becomes_an_update_with_its_execution() -> None:
    fill_event = fixture("WS_stream_trade_updates")["events"][1]["data"]
    update = amap.order_update(TradeUpdate(**fill_event))
    assert update is not None and update.fill is not None
    assert update.status is S.FILLED
    assert update.client_order_id == "58cd43a7-029e-457e-b77f-cd4f61f00f2a"
    assert (update.fill.fill_id, update.fill.quantity, update.fill.price) == (
        "7922ab44-2b8b-4d3c-9b1f-1ac1a0b7c6d1", 2, 9.95)
    assert update.fill.side is Side.BUY and update.fill.symbol == "AAPL250620C00100000"


def test_multileg_fill_event_reports_status_without_a_combo_fill() -> None:
    data = fixture("WS_stream_trade_updates")["events"][1]["data"]
    mleg = fixture("POST_v2_orders_mleg")
    update = amap.order_update(TradeUpdate(**{**data, "order": mleg}))
    assert update is not None and update.status is S.FILLED
    assert update.fill is None  # never a fill on the empty combo symbol
    assert update.client_order_id == mleg["client_order_id"]


def test_events_that_change_nothing_give_no_update() -> None:
    data = fixture("WS_stream_trade_updates")["events"][0]["data"]
    assert amap.order_update(TradeUpdate(**{**data, "event": "pending_cancel"})) is None


def test_replacement_ids_map_back_to_ours() -> None:
    assert amap.base_client_id("tf-1~r2") == "tf-1"
    assert amap.base_client_id("tf-1") == "tf-1"


def test_activity_fill_uses_the_stream_execution_id() -> None:
    activity = {"id": "20231212213550100::7922ab44-2b8b-4d3c-9b1f-1ac1a0b7c6d1",
                "transaction_time": "2023-12-12T21:35:50.1Z", "symbol": "AAPL250620C00100000",
                "side": "buy", "qty": "2", "price": "9.95", "order_id": "x"}
    fill = amap.fill_from_activity(activity, "tf-1~r1")
    assert fill.fill_id == "7922ab44-2b8b-4d3c-9b1f-1ac1a0b7c6d1"
    assert (fill.client_order_id, fill.quantity, fill.price) == ("tf-1", 2, 9.95)
    assert fill.ts == datetime(2023, 12, 12, 21, 35, 50, 100000, tzinfo=UTC)


def test_order_and_position_and_account_shapes() -> None:
    order = amap.broker_order(VOrder(**fixture("POST_v2_orders_option")))
    assert (order.symbol, order.quantity, order.limit_price, order.status) == (
        "AAPL250620C00100000", 2, 10.0, S.ACCEPTED)
    short = {**fixture("GET_v2_positions")[0], "side": "short", "qty": "3"}
    assert amap.broker_position(Position(**short)).quantity == -3
    account = amap.account(TradeAccount(**fixture("GET_v2_account")))
    raw = fixture("GET_v2_account")
    assert account.buying_power == float(raw["options_buying_power"])
    assert account.equity == float(raw["equity"]) and account.cash == float(raw["cash"])


def _request(side: Side, intent: Intent, **kw) -> OrderRequest:
    return OrderRequest("tf-9", "AAPL250620C00100000", side, 3, intent=intent, **kw)


@pytest.mark.parametrize(("side", "intent", "expected"), [
    (Side.BUY, Intent.OPEN, "buy_to_open"), (Side.BUY, Intent.CLOSE, "buy_to_close"),
    (Side.SELL, Intent.OPEN, "sell_to_open"), (Side.SELL, Intent.CLOSE, "sell_to_close")])
def test_option_orders_carry_the_position_intent(side, intent, expected) -> None:
    vendor = amap.order_request(_request(side, intent, limit_price=1.234))
    body = vendor.to_request_fields()
    assert body["position_intent"] == expected
    assert body["limit_price"] == 1.23 and body["client_order_id"] == "tf-9"


def test_market_gtc_order_and_missing_limit() -> None:
    body = amap.order_request(_request(Side.BUY, Intent.OPEN, order_type=OrderType.MARKET,
                                       time_in_force=TimeInForce.GTC)).to_request_fields()
    assert (body["type"], body["time_in_force"]) == ("market", "gtc")
    with pytest.raises(OrderRejected, match="limit price"):
        amap.order_request(_request(Side.BUY, Intent.OPEN, limit_price=None))


def test_multileg_request_shape_and_leg_limits() -> None:
    legs = (Leg("AAPL250620C00100000", Side.BUY), Leg("AAPL250620C00110000", Side.SELL, 2))
    body = amap.multileg_request(MultiLegOrder("tf-m", legs, 1, limit_price=0.5)
                                 ).to_request_fields()
    assert body["order_class"] == "mleg" and "symbol" not in body
    assert [(leg["symbol"], leg["ratio_qty"], leg["side"]) for leg in body["legs"]] == [
        ("AAPL250620C00100000", 1, "buy"), ("AAPL250620C00110000", 2, "sell")]
    with pytest.raises(ValueError, match="2-4 legs"):
        MultiLegOrder("tf-m", legs[:1], 1, limit_price=0.5)
    with pytest.raises(ValueError, match="repeats"):
        MultiLegOrder("tf-m", (legs[0], legs[0]), 1, limit_price=0.5)


def _api_error(status: int, body: dict, headers: dict | None = None) -> APIError:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    return APIError(json.dumps(body), requests.HTTPError(response=response))


@pytest.mark.parametrize(("status", "message", "cls"), [
    (429, "too many requests", RateLimited),
    (500, "internal", TransientBrokerError),
    (503, "unavailable", TransientBrokerError),
    (401, "unauthorized", FatalBrokerError),
    (403, "insufficient options buying power", InsufficientBuyingPower),
    (403, "account is not allowed to short", OrderRejected),
    (422, "client_order_id must be unique", OrderRejected),
    (404, "order not found", OrderRejected),
])
def test_api_error_row(status: int, message: str, cls: type) -> None:
    error = amap.translate_error(_api_error(status, {"code": 40310000, "message": message}))
    assert type(error) is cls
    assert message in str(error)


def test_rate_limit_reads_retry_after() -> None:
    error = amap.translate_error(_api_error(429, {"code": 1, "message": "slow"},
                                            {"Retry-After": "2.5"}))
    assert isinstance(error, RateLimited) and error.retry_after == 2.5


def test_transport_errors_tell_not_sent_from_unknown() -> None:
    assert type(amap.translate_error(requests.exceptions.ConnectTimeout())) is RequestNotSent
    refused = requests.exceptions.ConnectionError("NewConnectionError: Connection refused")
    assert type(amap.translate_error(refused)) is RequestNotSent
    lost = amap.translate_error(requests.exceptions.ReadTimeout(), submit=True)
    assert type(lost) is TransientBrokerError and "no answer" in str(lost)
