"""What the bot currently knows about the market: latest quotes, prints, bars, open interest.

Updated by the engine from feed events, read by strategies and risk. Only data stamped at or
before the clock's now ever lands here, because the feed releases events in time order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from market.data import Bar, Quote, Trade


@dataclass(slots=True)
class SymbolActivity:
    """Running totals of one instrument's session."""

    volume: int = 0
    last_price: float = float("nan")
    trades: int = 0


@dataclass
class MarketState:
    bar_history: int = 500
    quotes: dict[str, Quote] = field(default_factory=dict)
    activity: dict[str, SymbolActivity] = field(default_factory=dict)
    bars: dict[str, deque[Bar]] = field(default_factory=dict)
    open_interest: dict[str, int] = field(default_factory=dict)
    underlying_of: dict[str, str] = field(default_factory=dict)

    def on_quote(self, quote: Quote) -> None:
        self.quotes[quote.symbol] = quote
        if quote.underlying and quote.symbol not in self.underlying_of:
            self.underlying_of[quote.symbol] = quote.underlying

    def on_trade(self, trade: Trade) -> None:
        act = self.activity.get(trade.symbol)
        if act is None:
            act = self.activity[trade.symbol] = SymbolActivity()
        act.volume += trade.size
        act.last_price = trade.price
        act.trades += 1

    def on_bar(self, bar: Bar) -> None:
        series = self.bars.get(bar.symbol)
        if series is None:
            series = self.bars[bar.symbol] = deque(maxlen=self.bar_history)
        series.append(bar)

    def quote(self, symbol: str) -> Quote | None:
        return self.quotes.get(symbol)

    def volume(self, symbol: str) -> int:
        act = self.activity.get(symbol)
        return 0 if act is None else act.volume

    def last_bar(self, symbol: str) -> Bar | None:
        series = self.bars.get(symbol)
        return series[-1] if series else None

    def reset_session(self) -> None:
        """Forget session totals at a new session; quotes and bars stay for continuity."""
        self.activity.clear()
