"""Indicators per symbol and timeframe, fed by the bar aggregator, with no look-ahead.

The engine hands every closed 1-minute bar to ``on_bar``. The 1m indicators update at once;
a 15m indicator updates only when the aggregator closes a 15m bar, so between closes it keeps
the value of the last closed bar. ``value(..., forming=True)`` is the explicit way to see the
forming bar: it evaluates a throw-away copy of the indicator with the bar as known so far and
never changes the real state.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime

from market.bars import BarAggregator, check_timeframes
from market.calendar import ExchangeCalendar
from market.data import Bar
from market.indicators._base import Streaming
from market.indicators.catalog import DEFAULT_SPECS, IndicatorSpec
from market.patterns.candles import CandleScanner, CandleSignal


class IndicatorRegistry:
    """Keeps ``specs`` for each symbol (all symbols seen, or only ``symbols``), and TA-Lib's
    candlestick patterns on ``candle_timeframes`` (61 recognizers per closed bar: about 0.1 ms,
    so meant for underlyings, not for every contract of a chain)."""

    def __init__(self, calendar: ExchangeCalendar,
                 specs: Iterable[IndicatorSpec] = DEFAULT_SPECS,
                 symbols: Iterable[str] | None = None,
                 candle_timeframes: Iterable[str] = ()) -> None:
        self.specs = tuple(specs)
        keys = [s.key for s in self.specs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"indicator keys must be unique, got {keys}")
        self.candle_timeframes = check_timeframes(candle_timeframes)
        self.timeframes = tuple(dict.fromkeys(
            [tf for s in self.specs for tf in s.timeframes] + list(self.candle_timeframes)))
        self.symbols = frozenset(symbols) if symbols is not None else None
        self.aggregator = BarAggregator(calendar, [tf for tf in self.timeframes if tf != "1m"])
        # symbol -> timeframe -> key -> indicator
        self._by_symbol: dict[str, dict[str, dict[str, Streaming]]] = {}
        self._scanners: dict[tuple[str, str], CandleScanner] = {}
        self._candles: dict[tuple[str, str], list[CandleSignal]] = {}

    # -- feeding -----------------------------------------------------------------------------
    def on_bar(self, bar: Bar) -> list[Bar]:
        """Feed one closed 1-minute bar; returns the larger bars it closed."""
        if bar.timeframe != "1m":
            raise ValueError(f"the registry takes closed 1-minute bars and builds the larger "
                             f"ones itself; got a {bar.timeframe} bar of {bar.symbol}")
        if self.symbols is not None and bar.symbol not in self.symbols:
            return []
        closed = self.aggregator.on_bar(bar)
        if not self.aggregator.last_accepted:
            return closed
        frames = self._frames(bar.symbol)
        for indicator in frames.get("1m", {}).values():
            indicator.update_bar(bar)
        if "1m" in self.candle_timeframes:
            self._scan(bar)
        self._apply(closed)
        return closed

    def flush(self, now: datetime) -> list[Bar]:
        """Close the bars whose end passed without their last minute (call on a clock tick)."""
        closed = [b for b in self.aggregator.flush(now) if b.timeframe != "1m"]
        self._apply(closed)
        return closed

    def _apply(self, closed: list[Bar]) -> None:
        for big in closed:
            for indicator in self._frames(big.symbol).get(big.timeframe, {}).values():
                indicator.update_bar(big)
            if big.timeframe in self.candle_timeframes:
                self._scan(big)

    def _scan(self, bar: Bar) -> None:
        key = (bar.symbol, bar.timeframe)
        scanner = self._scanners.get(key)
        if scanner is None:
            scanner = self._scanners[key] = CandleScanner()
        self._candles[key] = scanner.update_bar(bar)

    def _frames(self, symbol: str) -> dict[str, dict[str, Streaming]]:
        frames = self._by_symbol.get(symbol)
        if frames is None:
            frames = self._by_symbol[symbol] = {tf: {} for tf in self.timeframes}
            for spec in self.specs:
                for tf in spec.timeframes:
                    frames[tf][spec.key] = spec.make()
        return frames

    # -- reading -----------------------------------------------------------------------------
    def get(self, symbol: str, timeframe: str, key: str) -> Streaming:
        """The live indicator object (read-only use: its attributes are its output lines)."""
        try:
            return self._by_symbol[symbol][timeframe][key]
        except KeyError:
            raise KeyError(f"no indicator {key!r} on {timeframe} for {symbol!r} "
                           f"(configured: {[s.key for s in self.specs]}, "
                           f"symbols seen: {len(self._by_symbol)})") from None

    def value(self, symbol: str, timeframe: str, key: str, line: str = "value",
              forming: bool = False) -> float:
        """One output line; NaN while not warm. ``forming=True`` includes the open bar."""
        indicator = self.get(symbol, timeframe, key)
        if forming and timeframe != "1m":
            bar = self.aggregator.forming(symbol, timeframe)
            if bar is not None:
                indicator = copy.deepcopy(indicator)
                indicator.update_bar(bar)
        if not indicator.ready:
            return float("nan")
        return float(getattr(indicator, line))

    def candles(self, symbol: str, timeframe: str) -> list[CandleSignal]:
        """Candlestick patterns completed by the last closed bar (strongest first)."""
        if timeframe not in self.candle_timeframes:
            raise KeyError(f"candlestick patterns are not kept on {timeframe} "
                           f"(candle_timeframes: {list(self.candle_timeframes)})")
        return list(self._candles.get((symbol, timeframe), []))

    def snapshot(self, symbol: str) -> dict[str, dict[str, dict[str, float]]]:
        """Every output line of every indicator of ``symbol`` by timeframe and key."""
        return {tf: {key: ind.snapshot() for key, ind in by_key.items()}
                for tf, by_key in self._by_symbol.get(symbol, {}).items()}
