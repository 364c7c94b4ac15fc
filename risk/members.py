"""Enum members the hot path compares against, bound to module names once.

On Python 3.11 `Side.BUY` goes through the enum metaclass on every access (~0.3 µs on a busy
core, six times a plain global), and one risk check makes dozens of such comparisons
(decision 0166). Compare with `request.side is BUY` instead.
"""

from __future__ import annotations

from brokers.orders import Intent, OrderStatus, OrderType, Side
from risk.state import TradingState

BUY, SELL = Side.BUY, Side.SELL
OPEN, CLOSE = Intent.OPEN, Intent.CLOSE
LIMIT = OrderType.LIMIT
DENIED = OrderStatus.DENIED
ACTIVE = TradingState.ACTIVE
