"""Technical indicators, streaming (one object per series, O(1) per bar) and batch (numpy).

Streaming classes live by family (``moving``, ``momentum``, ``oscillators``, ``bands``,
``trend``, ``volume``, ``levels``); ``batch`` holds the array functions, equal to them bar for
bar; ``catalog`` names them for configuration; ``vector`` and ``chain`` update thousands of
series at once with numpy; ``registry`` keeps them per symbol and timeframe, fed by
``market.bars``. Decision records 0140-0145 explain the choices.
"""

from market.indicators._base import Streaming
from market.indicators.bands import ATR, Bollinger, Donchian, Keltner
from market.indicators.levels import SupportResistance
from market.indicators.momentum import MACD, ROC, RSI, CutlerRSI, Momentum
from market.indicators.moving import DEMA, EMA, SMA, TEMA, WMA
from market.indicators.oscillators import CCI, MFI, Stochastic, StochRSI, WilliamsR
from market.indicators.trend import ADX, Ichimoku, ParabolicSAR, Supertrend
from market.indicators.volume import OBV, VWAP, RelativeVolume

__all__ = [
    "ADX", "ATR", "CCI", "DEMA", "EMA", "MACD", "MFI", "OBV", "ROC", "RSI", "SMA", "TEMA", "VWAP",
    "WMA", "Bollinger", "CutlerRSI", "Donchian", "Ichimoku", "Keltner", "Momentum",
    "ParabolicSAR", "RelativeVolume", "StochRSI", "Stochastic", "Streaming", "Supertrend",
    "SupportResistance", "WilliamsR",
]
