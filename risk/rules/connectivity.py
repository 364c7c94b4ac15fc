"""Entries need a live market-data feed and a broker that is up.

A stale feed means the quotes every other rule (and the strategy) decided on may be old: a
new position opened on them is a guess. During a broker's planned downtime (IBKR's nightly
restart), or while it is unreachable or its order stream is down, an entry could not be
managed if it filled. Exits stay allowed in both cases: the
rule is `entry_only`, so getting out is never blocked by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from brokers.orders import OrderRequest
from risk.context import RiskContext
from risk.decision import APPROVE, Decision, Reject


@dataclass(frozen=True)
class ConnectivityGate:
    """Rejects entries while the live feed is stale or the broker is down (planned or not)."""

    entry_only: ClassVar[bool] = True
    name: str = "connectivity"

    def check(self, request: OrderRequest, ctx: RiskContext) -> Decision:
        if ctx.feed_stale:
            return Reject(self.name, f"market data feed is stale: no entry in {request.symbol} "
                                     "until it is live again (exits allowed)")
        if ctx.broker_downtime:
            return Reject(self.name, f"broker is in its planned downtime window: no entry in "
                                     f"{request.symbol} (exits allowed)")
        if ctx.broker_disconnected:
            return Reject(self.name, f"broker is disconnected: no entry in {request.symbol} "
                                     "until it is back, fills could go unseen (exits allowed)")
        return APPROVE
