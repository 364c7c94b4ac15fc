"""A moving-average crossover on an underlying's minute bars: the reference strategy.

It exists so that the benchmark, the walk-forward tests and anyone checking the backtester
against another engine have one simple, well-known rule to compare: go long when the fast
simple moving average of closes crosses above the slow one, close when it crosses back below.
It trades the underlying itself (shares), through the same signal → sizing → risk → order path
as every strategy: it decides on a bar's close and acts on the next quote of that symbol (the
quote of the same minute, released right after the bar), so the order is priced off a fresh
quote. Importing this module registers it as `sma_cross`.
"""

from __future__ import annotations

from collections import deque

from pydantic import Field, model_validator

from market.clock import Clock
from market.data import Bar, Quote
from market.instruments import is_option_symbol
from market.state import MarketState
from strategies.base import FillNotice, Signal, SignalAction, Strategy, StrategyConfig
from strategies.registry import register


class SmaCrossConfig(StrategyConfig):
    fast: int = Field(10, ge=1, description="Bars in the fast average.")
    slow: int = Field(30, ge=2, description="Bars in the slow average.")
    symbol: str = Field("", description="Only this symbol's bars; empty = any non-option bar.")
    stop_pct: float = Field(0.01, gt=0, lt=1, description="Protective stop below entry, "
                            "fraction (also what sizing risks).")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossConfig:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")
        return self


class SmaCross(Strategy):
    name = "sma_cross"
    config: SmaCrossConfig

    def __init__(self, config: SmaCrossConfig, market: MarketState, clock: Clock) -> None:
        super().__init__(config, market, clock)
        self._closes: dict[str, deque[float]] = {}
        self._sums: dict[str, tuple[float, float]] = {}
        self._above: dict[str, bool] = {}
        self._held: dict[str, int] = {}
        self._pending: dict[str, tuple[bool, str]] = {}

    def on_bar(self, bar: Bar) -> list[Signal]:
        cfg = self.config
        sym = bar.symbol
        if (cfg.symbol and sym != cfg.symbol) or is_option_symbol(sym):
            return []
        closes = self._closes.get(sym)
        if closes is None:
            closes = self._closes[sym] = deque(maxlen=cfg.slow)
        fast_sum, slow_sum = self._sums.get(sym, (0.0, 0.0))
        if len(closes) == cfg.slow:
            slow_sum -= closes[0]
        if len(closes) >= cfg.fast:
            fast_sum -= closes[-cfg.fast]
        closes.append(bar.close)
        fast_sum, slow_sum = fast_sum + bar.close, slow_sum + bar.close
        self._sums[sym] = (fast_sum, slow_sum)
        if len(closes) < cfg.slow:
            return []
        above = fast_sum / cfg.fast > slow_sum / cfg.slow
        was = self._above.get(sym)
        self._above[sym] = above
        if was is not None and above != was:
            fast, slow = fast_sum / cfg.fast, slow_sum / cfg.slow
            self._pending[sym] = (above, f"SMA{cfg.fast} {fast:.2f} crossed "
                                         f"{'above' if above else 'below'} SMA{cfg.slow} "
                                         f"{slow:.2f}")
        return []

    def on_quote(self, quote: Quote) -> list[Signal]:
        if not self._pending:
            return []
        pending = self._pending.pop(quote.symbol, None)
        if pending is None:
            return []
        above, reason = pending
        held = self._held.get(quote.symbol, 0)
        if not above:
            if held <= 0:
                return []
            return [Signal(self.name, SignalAction.SELL_TO_CLOSE, quote.symbol, quote.ts,
                           quote.bid, 0.5, reason, quote.symbol)]
        if held > 0 or quote.ask <= 0:
            return []
        entry = quote.ask
        return [Signal(self.name, SignalAction.BUY_TO_OPEN, quote.symbol, quote.ts, entry, 0.5,
                       reason, quote.symbol, stop=round(entry * (1 - self.config.stop_pct), 4))]

    def on_fill(self, fill: FillNotice) -> list[Signal]:
        self._held[fill.symbol] = self._held.get(fill.symbol, 0) + fill.quantity
        return []


register("sma_cross", SmaCross, SmaCrossConfig)
