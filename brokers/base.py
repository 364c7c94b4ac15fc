"""The broker protocol every adapter implements, and the errors adapters translate into.

Submission is a non-blocking call: the paper broker handles it in place, real adapters queue it
for an I/O task. News comes back through the listener as `OrderUpdate`s. Queries used by
reconciliation are async because they cross the network.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from brokers.connection import ConnectionListener
from brokers.orders import Account, BrokerOrder, BrokerPosition, Fill, Order, OrderUpdate
from market.data import Quote

UpdateListener = Callable[[OrderUpdate], None]


class BrokerError(Exception):
    """Base of every error an adapter raises; vendor exceptions never escape an adapter."""


class TransientBrokerError(BrokerError):
    """A network blip or 5xx: safe to retry reads; a submit must be reconciled, not resent."""


class RateLimited(TransientBrokerError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OrderRejected(BrokerError):
    """The broker refused the order (the reason says why)."""


class InsufficientBuyingPower(OrderRejected):
    pass


class FatalBrokerError(BrokerError):
    """Bad credentials, account blocked: needs a person."""


class SubmitOutcomeUnknown(TransientBrokerError):
    """The submit was sent but no answer came back: the order may or may not exist."""


class Broker(Protocol):
    """What the order manager needs from a venue."""

    name: str

    @property
    def connected(self) -> bool:
        """Do orders reach the venue and their news come back? (paper: always; 0250)"""

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        """Be told each time `connected` changes (once per change, never per retry)."""

    def set_listener(self, listener: UpdateListener) -> None: ...

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    def submit(self, order: Order) -> None:
        """Send an order that is already recorded in the store. Never blocks."""

    def cancel(self, client_order_id: str) -> None: ...

    async def fetch_open_orders(self) -> list[BrokerOrder]: ...

    async def fetch_order(self, client_order_id: str) -> BrokerOrder | None: ...

    async def fetch_fills(self, since: datetime | None = None) -> list[Fill]: ...

    async def fetch_positions(self) -> list[BrokerPosition]: ...

    async def fetch_account(self) -> Account: ...


@runtime_checkable
class MarketAware(Protocol):
    """A venue that needs to see the market to work orders (the paper simulator)."""

    def on_quote(self, quote: Quote) -> None: ...
