"""``[indicators]``: what the multi-timeframe registry keeps (a frozen section for bot/config)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from market.bars import check_timeframes
from market.calendar import ExchangeCalendar
from market.indicators.catalog import DEFAULT_SPECS, IndicatorSpec
from market.indicators.registry import IndicatorRegistry


class IndicatorsConfig(BaseModel):
    """Indicators strategies can read, per symbol and timeframe, without look-ahead."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specs: tuple[IndicatorSpec, ...] = Field(
        DEFAULT_SPECS, description="indicators kept for every symbol: key, kind, params, "
        "timeframes (default: RSI 14, MACD, Bollinger 20, EMA 9/21, ATR 14, VWAP, relative "
        "volume 20, ADX 14, support/resistance on 1m-1d as suits each)")
    candle_timeframes: tuple[str, ...] = Field(
        ("5m",), description="timeframes on which TA-Lib's 61 candlestick patterns are "
        "recognized on each closed bar (default 5m; () turns them off)")
    symbols: tuple[str, ...] | None = Field(
        None, description="only these symbols (default None: every symbol whose 1-minute "
        "bars reach the registry, i.e. the underlyings)")

    @field_validator("candle_timeframes")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_timeframes(value)

    def build(self, calendar: ExchangeCalendar) -> IndicatorRegistry:
        return IndicatorRegistry(calendar, self.specs, self.symbols, self.candle_timeframes)
