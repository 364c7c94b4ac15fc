"""Prometheus metrics, one registry per engine (so tests and backtests never share counts)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.quotes_dropped = Counter("tradefly_quotes_dropped", "Bad quotes dropped",
                                      ["reason"], registry=r)
        self.signals = Counter("tradefly_signals", "Signals emitted", ["strategy"], registry=r)
        self.orders = Counter("tradefly_orders", "Orders by final or current status",
                              ["status"], registry=r)
        self.risk_denials = Counter("tradefly_risk_denials", "Orders denied by risk",
                                    ["rule"], registry=r)
        self.fills = Counter("tradefly_fills", "Fills recorded", registry=r)
        self.store_errors = Counter("tradefly_store_errors", "Failed store writes", registry=r)
        self.illegal_transitions = Counter("tradefly_illegal_transitions",
                                           "Refused order status transitions", registry=r)
        self.strategy_errors = Counter("tradefly_strategy_errors", "Strategy exceptions",
                                       ["strategy"], registry=r)
        self.equity = Gauge("tradefly_equity", "Equity marked at the liquidation side",
                            registry=r)
        self.trading_state = Gauge("tradefly_trading_state",
                                   "0 active, 1 reducing, 2 halted", registry=r)
        self.feed_stale = Gauge("tradefly_feed_stale",
                                "1 while the live feed is stale (entries refused)", registry=r)
        self.feed_dropped = Gauge("tradefly_feed_dropped",
                                  "Live feed events dropped since start (bad data, full queue)",
                                  ["reason"], registry=r)
        self.feed_reconnects = Gauge("tradefly_feed_reconnects",
                                     "Live feed socket restarts since start", ["market"],
                                     registry=r)
        self.feed_subscribed = Gauge("tradefly_feed_option_contracts",
                                     "Option contracts the live feed streams", registry=r)

    def dropped(self, reason: str) -> float:
        return float(self.quotes_dropped.labels(reason)._value.get())
