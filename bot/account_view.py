"""The bot's implementation of `RiskContext`: what risk rules see of the account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.order_manager import OrderManager
from bot.portfolio import Portfolio
from bot.trading_control import TradingControl
from market.clock import Clock
from market.data import Quote
from market.state import MarketState
from risk.state import TradingState


@dataclass
class AccountView:
    clock: Clock
    portfolio: Portfolio
    market: MarketState
    control: TradingControl
    orders: OrderManager

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def equity(self) -> float:
        return self.portfolio.equity(self.market.quotes, at_liquidation=True)

    @property
    def start_of_day_equity(self) -> float:
        return self.control.start_of_day_equity or self.equity

    @property
    def trading_state(self) -> TradingState:
        return self.control.state

    @property
    def entries_paused(self) -> bool:
        return self.control.paused

    def position_quantity(self, symbol: str) -> int:
        return self.portfolio.quantity(symbol)

    def open_trade_count(self) -> int:
        return len(self.portfolio.open_positions()) + self.orders.working_entries()

    def quote(self, symbol: str) -> Quote | None:
        return self.market.quote(symbol)
