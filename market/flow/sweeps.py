"""Sweep detection: one contract printed on several exchanges within a short window."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from market.flow.classify import TradeSide
from market.flow.config import FlowConfig
from market.flow.events import Sweep


@dataclass(frozen=True, slots=True)
class _Print:
    ts: datetime
    exchange: str
    size: int
    premium: float
    side: TradeSide


class SweepDetector:
    """Keeps each contract's prints of the last window and reports a sweep once.

    After a sweep is reported, further prints of that contract arriving within the window of
    the previous one are its tail and are not reported again. Prints without an exchange
    (minute aggregates) can never form a sweep.
    """

    def __init__(self, config: FlowConfig) -> None:
        self._config = config
        self._window = timedelta(milliseconds=config.sweep_window_ms)
        self._recent: dict[str, deque[_Print]] = {}
        self._tail_until: dict[str, datetime] = {}

    def on_print(self, symbol: str, underlying: str, ts: datetime, exchange: str, size: int,
                 premium: float, side: TradeSide) -> Sweep | None:
        if not exchange:
            return None
        tail = self._tail_until.get(symbol)
        if tail is not None and ts <= tail:
            self._tail_until[symbol] = ts + self._window
            return None
        recent = self._recent.setdefault(symbol, deque())
        while recent and ts - recent[0].ts > self._window:
            recent.popleft()
        recent.append(_Print(ts, exchange, size, premium, side))
        exchanges = tuple(dict.fromkeys(p.exchange for p in recent))
        size_total = sum(p.size for p in recent)
        if (len(exchanges) < self._config.sweep_min_exchanges
                or size_total < self._config.sweep_min_contracts):
            return None
        by_side: dict[TradeSide, float] = {}
        for p in recent:
            if p.side in (TradeSide.BUY, TradeSide.SELL):
                by_side[p.side] = by_side.get(p.side, 0.0) + p.premium
        side = max(by_side, key=by_side.__getitem__) if by_side else TradeSide.UNKNOWN
        sweep = Sweep(symbol, underlying, recent[0].ts, ts, exchanges, size_total,
                      sum(p.premium for p in recent), side)
        recent.clear()
        self._tail_until[symbol] = ts + self._window
        return sweep

    def reset(self) -> None:
        self._recent.clear()
        self._tail_until.clear()
