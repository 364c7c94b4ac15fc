"""What the bot currently knows about the market: latest quotes, prints, bars, open interest.

Updated by the engine from feed events, read by strategies and risk. Only data stamped at or
before the clock's now ever lands here, because the feed releases events in time order.

Optional analytics ride along: an indicator registry fed the underlyings' closed 1-minute bars
(and building 5m/15m/1h/1d itself), and a flow tracker fed option prints with the contract's
NBBO. Quotes, the hot path, pay for neither. `daily` is the stored daily history (IV windows,
30-day volumes, `market.daily_history`) loaded at start-up and extended at each close.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from market.calendar import ExchangeCalendar
from market.data import Bar, Quote, Trade
from market.flow.tracker import FlowTracker
from market.indicators.registry import IndicatorRegistry

if TYPE_CHECKING:
    from market.daily_history import DailyBook


@dataclass(slots=True)
class SymbolActivity:
    """Running totals of one instrument's session."""

    volume: int = 0
    last_price: float = float("nan")
    trades: int = 0
    underlying: str = ""  # from the first print (an option may trade without being quoted)


@dataclass
class MarketState:
    bar_history: int = 500
    quotes: dict[str, Quote] = field(default_factory=dict)
    activity: dict[str, SymbolActivity] = field(default_factory=dict)
    bars: dict[str, deque[Bar]] = field(default_factory=dict)
    open_interest: dict[str, int] = field(default_factory=dict)
    underlying_of: dict[str, str] = field(default_factory=dict)
    indicators: IndicatorRegistry | None = None
    flow: FlowTracker | None = None
    calendar: ExchangeCalendar | None = None
    daily: DailyBook | None = None
    #: Called just before `reset_session` forgets the session's totals: the last chance to
    #: read them complete (prints stamped at the close arrive after the close is handled).
    before_reset: list[Callable[[], object]] = field(default_factory=list)
    #: The symbols whose quotes mark the account's equity (the positions held, set by the risk
    #: view through `watch`), and a count that moves with each of their quotes: equity is
    #: re-marked only when it moved (decision 0355). One set lookup per quote.
    watched: frozenset[str] = frozenset()
    watched_quotes: int = 0

    def on_quote(self, quote: Quote) -> None:
        self.quotes[quote.symbol] = quote
        if quote.symbol in self.watched:
            self.watched_quotes += 1
        if quote.underlying and quote.symbol not in self.underlying_of:
            self.underlying_of[quote.symbol] = quote.underlying

    def on_trade(self, trade: Trade) -> None:
        act = self.activity.get(trade.symbol)
        if act is None:
            act = self.activity[trade.symbol] = SymbolActivity(underlying=trade.underlying)
        act.volume += trade.size
        act.last_price = trade.price
        act.trades += 1
        if self.flow is not None and trade.underlying and trade.underlying != trade.symbol:
            self.flow.on_trade(trade, self.quotes.get(trade.symbol))

    def on_bar(self, bar: Bar) -> list[Bar]:
        """Keep the bar; a 1-minute bar also feeds the indicators. Returns the larger bars
        (5m, 15m, ...) that this minute closed, for callers that act on them."""
        series = self.bars.get(bar.symbol)
        if series is None:
            series = self.bars[bar.symbol] = deque(maxlen=self.bar_history)
        series.append(bar)
        if self.indicators is not None and bar.timeframe == "1m":
            return self.indicators.on_bar(bar)
        return []

    def watch(self, symbols: frozenset[str]) -> None:
        """Count the quotes of `symbols` from now on (and move the count: what was marked
        over the old set is stale)."""
        self.watched = symbols
        self.watched_quotes += 1

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
        for listener in self.before_reset:
            listener()
        self.activity.clear()
        if self.flow is not None:
            self.flow.reset_session()
