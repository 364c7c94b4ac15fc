"""`FlowTracker`: live options-flow state per underlying, fed one print at a time.

The engine calls `on_trade(trade, quote)` with the contract's latest NBBO (from MarketState)
for every option print; strategies read `underlying(...)`, `volume_oi_ratio(...)` and the
recent `events`. A quote stamped after the print (look-ahead) or older than the configured
age cannot sign it: the print still counts in volumes, on the UNKNOWN side.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from market.data import Quote, Trade
from market.flow.classify import TradeSide, classify_side
from market.flow.config import FlowConfig
from market.flow.events import BlockTrade, FlowEvent
from market.flow.sweeps import SweepDetector
from market.instruments import CONTRACT_MULTIPLIER, OptionRight, OptionSymbol

log = logging.getLogger(__name__)


@dataclass(slots=True)
class UnderlyingFlow:
    """Session totals of one underlying's option prints."""

    call_volume: int = 0
    put_volume: int = 0
    call_premium: float = 0.0
    put_premium: float = 0.0
    premium: dict[tuple[OptionRight, TradeSide], float] = field(default_factory=dict)

    @property
    def put_call_volume_ratio(self) -> float:
        """Put contracts / call contracts (NaN before the first call print)."""
        return self.put_volume / self.call_volume if self.call_volume else math.nan

    @property
    def put_call_premium_ratio(self) -> float:
        return self.put_premium / self.call_premium if self.call_premium else math.nan

    def side_premium(self, side: TradeSide, right: OptionRight | None = None) -> float:
        """Premium traded on one side (BUY = at/near the ask), for calls, puts or both."""
        return sum(v for (r, s), v in self.premium.items()
                   if s is side and (right is None or r is right))

    @property
    def net_premium(self) -> float:
        """Buyer- minus seller-initiated premium, calls and puts together."""
        return self.side_premium(TradeSide.BUY) - self.side_premium(TradeSide.SELL)

    @property
    def bullish_premium(self) -> float:
        """Calls bought plus puts sold, minus calls sold plus puts bought."""
        c, p = OptionRight.CALL, OptionRight.PUT
        return (self.side_premium(TradeSide.BUY, c) + self.side_premium(TradeSide.SELL, p)
                - self.side_premium(TradeSide.SELL, c) - self.side_premium(TradeSide.BUY, p))


class FlowTracker:
    """Block trades, sweeps, premium and put/call flow, and volume vs open interest."""

    def __init__(self, config: FlowConfig | None = None,
                 open_interest: Mapping[str, int] | None = None) -> None:
        self.config = config or FlowConfig()
        self.events: deque[FlowEvent] = deque(maxlen=self.config.max_events)
        self.dropped: Counter[str] = Counter()
        self._oi: dict[str, int] = dict(open_interest or {})
        self._flows: dict[str, UnderlyingFlow] = {}
        self._volume: Counter[str] = Counter()
        self._symbols: dict[str, OptionSymbol | None] = {}
        self._sweeps = SweepDetector(self.config)
        self._quote_age = timedelta(milliseconds=self.config.quote_max_age_ms)
        self._warned: set[str] = set()

    # -- feeding ------------------------------------------------------------------------------

    def on_trade(self, trade: Trade, quote: Quote | None) -> list[FlowEvent]:
        """Account one option print; returns the block/sweep events it completed."""
        parsed = self._parse(trade.symbol)
        if parsed is None:
            return self._drop("bad_symbol", trade)
        if not (math.isfinite(trade.price) and trade.price > 0):
            return self._drop("bad_price", trade)
        if trade.size <= 0:
            return self._drop("bad_size", trade)
        underlying = trade.underlying or parsed.underlying
        side = self._side(trade, quote)
        premium = trade.price * trade.size * CONTRACT_MULTIPLIER
        flow = self._flows.get(underlying)
        if flow is None:
            flow = self._flows[underlying] = UnderlyingFlow()
        if parsed.right is OptionRight.CALL:
            flow.call_volume += trade.size
            flow.call_premium += premium
        else:
            flow.put_volume += trade.size
            flow.put_premium += premium
        key = (parsed.right, side)
        flow.premium[key] = flow.premium.get(key, 0.0) + premium
        self._volume[trade.symbol] += trade.size

        found: list[FlowEvent] = []
        if (trade.size >= self.config.block_min_contracts
                or premium >= self.config.block_min_premium):
            found.append(BlockTrade(trade.symbol, underlying, trade.ts, trade.price, trade.size,
                                    premium, side))
        sweep = self._sweeps.on_print(trade.symbol, underlying, trade.ts, trade.exchange,
                                      trade.size, premium, side)
        if sweep is not None:
            found.append(sweep)
        self.events.extend(found)
        return found

    def set_open_interest(self, symbol: str, open_interest: int) -> None:
        if open_interest >= 0:
            self._oi[symbol] = open_interest

    def reset_session(self) -> None:
        """Start a new session: totals, volumes and events restart; open interest is kept
        until the new day's figures are set."""
        self._flows.clear()
        self._volume.clear()
        self.events.clear()
        self._sweeps.reset()

    # -- reading ------------------------------------------------------------------------------

    def underlying(self, name: str) -> UnderlyingFlow:
        return self._flows.get(name) or UnderlyingFlow()

    def volume(self, symbol: str) -> int:
        return self._volume.get(symbol, 0)

    def volume_oi_ratio(self, symbol: str) -> float:
        """Session volume / open interest (NaN when OI is unknown, inf when it is zero)."""
        oi = self._oi.get(symbol)
        if oi is None:
            return math.nan
        volume = self.volume(symbol)
        if oi == 0:
            return math.inf if volume else math.nan
        return volume / oi

    def unusual_volume(self, min_ratio: float = 1.0) -> list[tuple[str, float]]:
        """Contracts whose session volume is at least `min_ratio` x open interest, highest
        first: new positions being opened, the classic 'unusual options activity'."""
        found = [(s, self.volume_oi_ratio(s)) for s in self._volume]
        hits = [(s, r) for s, r in found if not math.isnan(r) and r >= min_ratio]
        return sorted(hits, key=lambda item: (-item[1], item[0]))

    # -- internals ----------------------------------------------------------------------------

    def _parse(self, symbol: str) -> OptionSymbol | None:
        if symbol not in self._symbols:
            try:
                self._symbols[symbol] = OptionSymbol.parse(symbol)
            except ValueError:
                self._symbols[symbol] = None
        return self._symbols[symbol]

    def _side(self, trade: Trade, quote: Quote | None) -> TradeSide:
        if quote is None or quote.ts > trade.ts or trade.ts - quote.ts > self._quote_age:
            return TradeSide.UNKNOWN
        return classify_side(trade.price, quote.bid, quote.ask, self.config.mid_band)

    def _drop(self, reason: str, trade: Trade) -> list[FlowEvent]:
        self.dropped[reason] += 1
        if reason not in self._warned:
            self._warned.add(reason)
            log.warning("flow: dropped option print (%s): %s", reason, trade.symbol)
        return []
