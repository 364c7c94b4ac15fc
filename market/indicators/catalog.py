"""Indicators by name, and the validated spec that configures one (kind, parameters, timeframes).

The registry and the chain engine build indicators from these specs, so a typo in a config
fails at start-up with the field named, not at the first bar.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from market.bars import TIMEFRAMES, check_timeframes
from market.indicators._base import Streaming
from market.indicators.bands import ATR, Bollinger, Donchian, Keltner
from market.indicators.levels import SupportResistance
from market.indicators.momentum import MACD, ROC, RSI, CutlerRSI, Momentum
from market.indicators.moving import DEMA, EMA, SMA, TEMA, WMA
from market.indicators.oscillators import CCI, MFI, Stochastic, StochRSI, WilliamsR
from market.indicators.trend import ADX, Ichimoku, ParabolicSAR, Supertrend
from market.indicators.volume import OBV, VWAP, RelativeVolume

CATALOG: dict[str, type[Streaming]] = {
    cls.name: cls
    for cls in (SMA, EMA, WMA, DEMA, TEMA, RSI, CutlerRSI, MACD, Bollinger, ATR, Stochastic,
                StochRSI, WilliamsR, CCI, ADX, OBV, MFI, ROC, Momentum, Keltner, Donchian,
                ParabolicSAR, Supertrend, Ichimoku, VWAP, RelativeVolume, SupportResistance)
}


def build(kind: str, **params: Any) -> Streaming:
    """A fresh streaming indicator of ``kind``; ValueError names what is wrong."""
    cls = CATALOG.get(kind)
    if cls is None:
        raise ValueError(f"unknown indicator kind {kind!r}; known: {sorted(CATALOG)}")
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"indicator {kind!r}: bad parameters {params}: {exc}") from exc


class IndicatorSpec(BaseModel):
    """One indicator kept for every symbol of the registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(description="name strategies read it by, e.g. 'rsi14'")
    kind: str = Field(description=f"one of: {', '.join(sorted(CATALOG))}")
    params: dict[str, float | int] = Field(
        default_factory=dict, description="constructor parameters; {} = the standard defaults")
    timeframes: tuple[str, ...] = Field(
        default=("1m",), description=f"where to keep it; any of {list(TIMEFRAMES)}; default 1m")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in CATALOG:
            raise ValueError(f"unknown indicator kind {kind!r}; known: {sorted(CATALOG)}")
        return kind

    @field_validator("timeframes")
    @classmethod
    def _known_timeframes(cls, timeframes: tuple[str, ...]) -> tuple[str, ...]:
        return check_timeframes(timeframes)

    @model_validator(mode="after")
    def _buildable(self) -> IndicatorSpec:
        build(self.kind, **self.params)  # raises with the reason
        return self

    def make(self) -> Streaming:
        return build(self.kind, **self.params)


#: A day trader's standard set, on the timeframes strategies usually read.
DEFAULT_SPECS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(key="rsi14", kind="rsi", params={"period": 14}, timeframes=("1m", "5m", "15m")),
    IndicatorSpec(key="macd", kind="macd", timeframes=("1m", "5m", "15m")),
    IndicatorSpec(key="bb20", kind="bbands", timeframes=("1m", "5m")),
    IndicatorSpec(key="ema9", kind="ema", params={"period": 9}, timeframes=("1m", "5m")),
    IndicatorSpec(key="ema21", kind="ema", params={"period": 21}, timeframes=("1m", "5m")),
    IndicatorSpec(key="atr14", kind="atr", timeframes=("1m", "5m", "1d")),
    IndicatorSpec(key="vwap", kind="vwap", timeframes=("1m",)),
    IndicatorSpec(key="relvol20", kind="relvol", timeframes=("1m", "5m")),
    IndicatorSpec(key="adx14", kind="adx", timeframes=("5m", "15m")),
    IndicatorSpec(key="levels", kind="levels", timeframes=("5m", "1h")),
)
