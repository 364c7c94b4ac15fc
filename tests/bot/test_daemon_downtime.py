"""A broker in its planned downtime (IBKR's nightly restart): entries refused, exits pass."""

from __future__ import annotations

from bot.daemon import Daemon
from brokers.orders import Intent, OrderRequest, OrderType, Side
from tests.conftest import make_settings

CALL = "GOOG151224C00750000"


def test_planned_downtime_refuses_entries_until_it_ends() -> None:
    daemon = Daemon(make_settings())
    try:
        window = [True]
        daemon.bot.broker.in_planned_downtime = lambda: window[0]  # type: ignore[attr-defined]
        ctx = daemon.bot.orders.ctx
        assert ctx is not None
        request = OrderRequest("t-1", CALL, Side.BUY, 1, OrderType.LIMIT, 2.0, Intent.OPEN,
                               underlying="GOOG")

        daemon._check_broker_downtime()
        rejection = daemon.bot.risk.check(request, ctx).rejection
        assert rejection is not None and rejection.rule == "connectivity"
        assert "planned downtime" in rejection.reason
        assert daemon.health()["broker_downtime"] is True

        window[0] = False
        daemon._check_broker_downtime()
        rejection = daemon.bot.risk.check(request, ctx).rejection
        assert rejection is None or rejection.rule != "connectivity"
        assert daemon.health()["broker_downtime"] is False
    finally:
        daemon.bot.close()
