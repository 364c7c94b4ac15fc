"""`OrderRequest.with_quantity` copies the request field by field (for speed on the risk
gate): it must carry every field but the quantity."""

from __future__ import annotations

from dataclasses import fields, replace

from brokers.orders import Intent, OrderRequest, OrderType, Side, TimeInForce


def test_with_quantity_keeps_every_other_field():
    # A field added to OrderRequest must be added to with_quantity too: this list says which.
    assert [f.name for f in fields(OrderRequest)] == [
        "client_order_id", "symbol", "side", "quantity", "order_type", "limit_price", "intent",
        "time_in_force", "underlying", "strategy", "reason", "parent_id", "replaces",
    ]  # fmt: skip
    request = OrderRequest(
        "c-1", "GOOG151231C00750000", Side.SELL, 9, OrderType.MARKET, 1.25, Intent.CLOSE,
        TimeInForce.IOC, "GOOG", "orb", "stop hit", "p-1", "c-0",
    )  # fmt: skip
    smaller = request.with_quantity(4)
    assert smaller == replace(request, quantity=4)
    assert smaller.quantity == 4 and request.quantity == 9
