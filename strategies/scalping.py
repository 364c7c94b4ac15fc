"""Scalping: short option-price momentum on liquid, near-the-money contracts.

Fires when a contract's mid has risen by `min_momentum` over `lookback`, its spread is tight,
it has traded enough today, and its strike is near the underlying. Calls and puts alike: a put's
premium rising is the bearish mirror of a call's.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from pydantic import Field

from market.clock import Clock
from market.data import Quote
from market.instruments import OptionSymbol, is_option_symbol
from market.state import MarketState
from strategies.base import Signal, SignalAction, Strategy, StrategyConfig
from strategies.registry import register


class ScalpingConfig(StrategyConfig):
    max_spread: float = Field(0.50, gt=0, description="Widest bid-ask spread, dollars.")
    max_spread_pct: float = Field(0.05, gt=0, description="Widest spread as a fraction of mid.")
    min_price: float = Field(0.50, ge=0, description="Cheapest option premium considered.")
    min_volume: int = Field(20, ge=0, description="Contracts traded today before a signal.")
    max_moneyness: float = Field(
        0.03, gt=0, description="|strike / underlying - 1| at most this (near the money).")
    lookback: timedelta = Field(timedelta(minutes=3), description="Momentum window.")
    min_momentum: float = Field(0.03, gt=0, description="Mid rise over the window, fraction.")
    target_pct: float = Field(0.15, gt=0, description="Take profit, fraction of entry.")
    stop_pct: float = Field(0.05, gt=0, description="Stop loss, fraction of entry.")
    min_stop: float = Field(0.05, ge=0, description="Stop at least this far below entry, $.")
    time_stop: timedelta = Field(timedelta(minutes=5), description="Exit after this long.")
    cooldown: timedelta = Field(timedelta(minutes=10), description="Per contract, between "
                                "signals.")


class Scalping(Strategy):
    name = "scalping"
    config: ScalpingConfig

    def __init__(self, config: ScalpingConfig, market: MarketState, clock: Clock) -> None:
        super().__init__(config, market, clock)
        self._mids: dict[str, deque[tuple[datetime, float]]] = {}
        self._last_signal: dict[str, datetime] = {}
        self._strikes: dict[str, OptionSymbol] = {}

    def on_quote(self, quote: Quote) -> list[Signal]:
        cfg = self.config
        bid, ask = quote.bid, quote.ask
        if bid <= 0 or ask < cfg.min_price or ask - bid > cfg.max_spread:
            return []
        mid = (bid + ask) / 2.0
        if (ask - bid) / mid > cfg.max_spread_pct:
            return []
        history = self._mids.get(quote.symbol)
        if history is None:
            history = self._mids[quote.symbol] = deque()
        history.append((quote.ts, mid))
        horizon = quote.ts - cfg.lookback
        while len(history) > 1 and history[1][0] <= horizon:
            history.popleft()
        start_ts, start_mid = history[0]
        if start_ts > horizon or start_mid <= 0:
            return []  # not enough history yet
        momentum = mid / start_mid - 1.0
        if momentum < cfg.min_momentum:
            return []
        return self._maybe_signal(quote, mid, momentum)

    def _maybe_signal(self, quote: Quote, mid: float, momentum: float) -> list[Signal]:
        cfg = self.config
        last = self._last_signal.get(quote.symbol)
        if last is not None and quote.ts - last < cfg.cooldown:
            return []
        volume = self.market.volume(quote.symbol)
        if volume < cfg.min_volume or not is_option_symbol(quote.symbol):
            return []
        spec = self._strikes.get(quote.symbol)
        if spec is None:
            spec = self._strikes[quote.symbol] = OptionSymbol.parse(quote.symbol)
        und = self.market.quote(quote.underlying or spec.root)
        if und is None or und.mid <= 0:
            return []
        moneyness = abs(spec.strike / und.mid - 1.0)
        if moneyness > cfg.max_moneyness:
            return []
        self._last_signal[quote.symbol] = quote.ts
        entry = quote.ask
        stop = entry - max(entry * cfg.stop_pct, cfg.min_stop)
        spread_pct = (quote.ask - quote.bid) / mid
        confidence = min(1.0, 0.4 + 4 * (momentum - cfg.min_momentum)
                         + 0.3 * (1 - spread_pct / cfg.max_spread_pct))
        reason = (f"mid +{momentum:.1%} in {cfg.lookback.total_seconds() / 60:.0f}m "
                  f"(>= {cfg.min_momentum:.0%}), spread {quote.ask - quote.bid:.2f} "
                  f"({spread_pct:.1%}), volume {volume}, strike {spec.strike:g} vs "
                  f"{und.mid:.2f} ({moneyness:.1%} from the money)")
        return [Signal(self.name, SignalAction.BUY_TO_OPEN, quote.symbol, quote.ts, entry,
                       round(confidence, 3), reason, quote.underlying or spec.root,
                       target=round(entry * (1 + cfg.target_pct), 2), stop=round(stop, 2),
                       time_stop=cfg.time_stop)]


register("scalping", Scalping, ScalpingConfig)
